package attach

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
)

// ScanResult is GuardDuty's verdict on one uploaded object.
type ScanResult struct {
	Bucket, Key string
	// Status is the scan result status (ScanClean, ScanThreats, …).
	Status string
	// EventID identifies the event, recorded as the audit record's
	// request ID.
	EventID string
}

// scanEventDetail is the detail of GuardDuty's "GuardDuty Malware
// Protection Object Scan Result" EventBridge event.
type scanEventDetail struct {
	ScanStatus      string `json:"scanStatus"`
	S3ObjectDetails struct {
		BucketName string `json:"bucketName"`
		ObjectKey  string `json:"objectKey"`
	} `json:"s3ObjectDetails"`
	ScanResultDetails struct {
		ScanResultStatus string `json:"scanResultStatus"`
	} `json:"scanResultDetails"`
}

// ScanEventType is the detail-type of GuardDuty's scan result events.
const ScanEventType = "GuardDuty Malware Protection Object Scan Result"

// ScanResultOf reads GuardDuty's EventBridge event.
func ScanResultOf(ev events.CloudWatchEvent) (ScanResult, error) {
	if ev.DetailType != ScanEventType {
		return ScanResult{}, fmt.Errorf("attach: not a scan result: %q", ev.DetailType)
	}
	var d scanEventDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return ScanResult{}, fmt.Errorf("attach: scan result detail: %w", err)
	}
	status := d.ScanResultDetails.ScanResultStatus
	if d.ScanStatus != "COMPLETED" && status == "" {
		status = ScanFailed
	}
	return ScanResult{Bucket: d.S3ObjectDetails.BucketName, Key: d.S3ObjectDetails.ObjectKey, Status: status, EventID: ev.ID}, nil
}

// ScanEvent builds the EventBridge event GuardDuty sends, for the local
// scanner and tests.
func ScanEvent(r ScanResult, at time.Time) events.CloudWatchEvent {
	var d scanEventDetail
	d.ScanStatus = "COMPLETED"
	d.S3ObjectDetails.BucketName, d.S3ObjectDetails.ObjectKey = r.Bucket, r.Key
	d.ScanResultDetails.ScanResultStatus = r.Status
	detail, _ := json.Marshal(d) // plain strings: cannot fail
	return events.CloudWatchEvent{
		Version: "0", ID: r.EventID, DetailType: ScanEventType, Source: "aws.guardduty", Time: at.UTC(), Detail: detail,
	}
}

// S3API is what the processor does with S3.
type S3API interface {
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	GetObjectTagging(context.Context, *s3.GetObjectTaggingInput, ...func(*s3.Options)) (*s3.GetObjectTaggingOutput, error)
	PutObject(context.Context, *s3.PutObjectInput, ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	DeleteObject(context.Context, *s3.DeleteObjectInput, ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
}

// Records is what the processor reads and writes of attachment records.
type Records interface {
	Attachment(ctx context.Context, patientID, id string) (*domain.Attachment, error)
	FinishAttachment(ctx context.Context, a domain.Attachment, rec audit.Record) error
}

// Processor turns a scanned upload into a ready or blocked attachment.
type Processor struct {
	S3      S3API
	Buckets Buckets
	Records Records
	Log     *slog.Logger
	Now     func() time.Time
}

// ProcessorID is the actor of the processor's audit records.
const ProcessorID = "attach-process"

// Process handles one scan result. A clean upload is read, checked and
// made safe (package-level Make), stored in the chart bucket with its
// thumbnail, and its record made ready with its size and SHA-256; the
// upload is then deleted, so the original is not kept. Anything else
// (threats, not scanned, content refused) makes it blocked, for good. An
// upload that names no pending attachment is ignored (a redelivered
// event, say). An error means "try again": nothing was recorded.
func (p *Processor) Process(ctx context.Context, r ScanResult) error {
	patientID, id, ok := parseUploadKey(r.Key)
	if !ok || r.Bucket != p.Buckets.Uploads {
		p.log().WarnContext(ctx, "attach: scan result for an object that is no upload; ignored", "bucket", r.Bucket, "key", r.Key)
		return nil
	}
	att, err := p.Records.Attachment(ctx, patientID, id)
	if domain.ErrorCode(err) == domain.ENotFound {
		p.log().WarnContext(ctx, "attach: upload without a record; ignored", "patientId", patientID, "attachmentId", id)
		return nil
	}
	if err != nil {
		return err
	}
	if att.State != domain.AttachmentPending {
		return nil
	}
	status := r.Status
	if status == ScanClean {
		// The tag on the object is GuardDuty's own word; an event that says
		// clean about an object tagged otherwise is not believed.
		if status, err = p.tag(ctx, r.Key); err != nil {
			return err
		}
	}
	now := p.now()
	done := *att
	done.ProcessedAt = &now
	if reason := BlockedReason(status); reason != "" {
		done.State, done.Blocked = domain.AttachmentBlocked, reason
		done.Problem = "This file did not pass the virus check and cannot be opened or sent."
		if reason == "unscanned" {
			done.Problem = "This file could not be checked for viruses, so it cannot be opened or sent."
		}
		return p.finish(ctx, done, r)
	}
	data, err := p.read(ctx, r.Key)
	if err != nil {
		return err
	}
	safe, err := Make(att.ContentType, data)
	if errors.Is(err, ErrRefused) {
		done.State, done.Blocked, done.Problem = domain.AttachmentBlocked, "content", refusalText(err)
		return p.finish(ctx, done, r)
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256(safe.Data)
	if err := p.put(ctx, ChartKey(patientID, id), safe.ContentType, safe.Data); err != nil {
		return err
	}
	if safe.Thumb != nil {
		if err := p.put(ctx, ThumbKey(patientID, id), TypeJPEG, safe.Thumb); err != nil {
			return err
		}
	}
	done.State, done.ContentType, done.Size, done.SHA256 = domain.AttachmentReady, safe.ContentType, int64(len(safe.Data)), hex.EncodeToString(sum[:])
	done.Width, done.Height, done.Thumbnail = safe.Width, safe.Height, safe.Thumb != nil
	if err := p.finish(ctx, done, r); err != nil {
		return err
	}
	// The original goes only once the safe copy is recorded; should this
	// fail, the upload bucket's lifecycle rule removes it within a day.
	if _, err := p.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(p.Buckets.Uploads), Key: aws.String(r.Key)}); err != nil {
		p.log().WarnContext(ctx, "attach: original not deleted; the lifecycle rule will", "attachmentId", id, "error", err)
	}
	return nil
}

func refusalText(err error) string {
	msg := err.Error()
	if i := len(ErrRefused.Error()) + 2; len(msg) > i {
		msg = msg[i:]
	}
	return "This file was refused: " + msg + "."
}

func (p *Processor) finish(ctx context.Context, a domain.Attachment, r ScanResult) error {
	rec := audit.Record{
		PatientID: a.PatientID, At: p.now(), ActorID: ProcessorID, ActorSide: "system", ActorRole: "system",
		Action: audit.ProcessAttachment, ConversationID: a.ConversationID, Outcome: audit.Success, Status: 200,
		RequestID: r.EventID, TargetID: a.ID,
	}
	err := p.Records.FinishAttachment(ctx, a, rec)
	if domain.ErrorCode(err) == domain.EConflict {
		return nil // processed meanwhile by a redelivery
	}
	if err == nil {
		p.log().InfoContext(ctx, "attach: processed", "attachmentId", a.ID, "state", string(a.State), "blocked", a.Blocked)
	}
	return err
}

func (p *Processor) tag(ctx context.Context, key string) (string, error) {
	out, err := p.S3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(p.Buckets.Uploads), Key: aws.String(key)})
	if err != nil {
		return "", fmt.Errorf("attach: read scan tag: %w", err)
	}
	for _, t := range out.TagSet {
		if aws.ToString(t.Key) == ScanTag {
			return aws.ToString(t.Value), nil
		}
	}
	return ScanFailed, nil
}

func (p *Processor) read(ctx context.Context, key string) ([]byte, error) {
	out, err := p.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(p.Buckets.Uploads), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("attach: read upload: %w", err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("attach: read upload: %w", err)
	}
	return data, nil
}

func (p *Processor) put(ctx context.Context, key, contentType string, data []byte) error {
	// Encryption is the chart bucket's default (the stack's KMS key), which
	// its policy requires of every put.
	_, err := p.S3.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(p.Buckets.Chart), Key: aws.String(key), Body: bytes.NewReader(data),
		ContentType: aws.String(contentType), ContentLength: aws.Int64(int64(len(data))),
	})
	if err != nil {
		return fmt.Errorf("attach: store: %w", err)
	}
	return nil
}

func (p *Processor) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

func (p *Processor) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}
