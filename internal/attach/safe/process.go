package safe

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pedsportal/messaging/internal/attach"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
)

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
	Buckets attach.Buckets
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
func (p *Processor) Process(ctx context.Context, r attach.ScanResult) error {
	patientID, id, ok := attach.ParseUploadKey(r.Key)
	if !ok || r.Bucket != p.Buckets.Uploads {
		p.log().WarnContext(ctx, "safe: scan result for an object that is no upload; ignored", "bucket", r.Bucket, "key", r.Key)
		return nil
	}
	att, err := p.Records.Attachment(ctx, patientID, id)
	if domain.ErrorCode(err) == domain.ENotFound {
		p.log().WarnContext(ctx, "safe: upload without a record; ignored", "patientId", patientID, "attachmentId", id)
		return nil
	}
	if err != nil {
		return err
	}
	if att.State != domain.AttachmentPending {
		return nil
	}
	status := r.Status
	if status == attach.ScanClean {
		// The tag on the object is GuardDuty's own word; an event that says
		// clean about an object tagged otherwise is not believed.
		if status, err = p.tag(ctx, r.Key); err != nil {
			return err
		}
	}
	now := p.now()
	done := *att
	done.ProcessedAt = &now
	if reason := attach.BlockedReason(status); reason != "" {
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
	made, err := Make(att.ContentType, data)
	if errors.Is(err, ErrRefused) {
		done.State, done.Blocked, done.Problem = domain.AttachmentBlocked, "content", refusalText(err)
		return p.finish(ctx, done, r)
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256(made.Data)
	if err := p.put(ctx, attach.ChartKey(patientID, id), made.ContentType, made.Data); err != nil {
		return err
	}
	if made.Thumb != nil {
		if err := p.put(ctx, attach.ThumbKey(patientID, id), attach.TypeJPEG, made.Thumb); err != nil {
			return err
		}
	}
	done.State, done.ContentType, done.Size, done.SHA256 = domain.AttachmentReady, made.ContentType, int64(len(made.Data)), hex.EncodeToString(sum[:])
	done.Width, done.Height, done.Thumbnail = made.Width, made.Height, made.Thumb != nil
	if err := p.finish(ctx, done, r); err != nil {
		return err
	}
	// The original goes only once the safe copy is recorded; should this
	// fail, the upload bucket's lifecycle rule removes it within a day.
	if _, err := p.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(p.Buckets.Uploads), Key: aws.String(r.Key)}); err != nil {
		p.log().WarnContext(ctx, "safe: original not deleted; the lifecycle rule will", "attachmentId", id, "error", err)
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

func (p *Processor) finish(ctx context.Context, a domain.Attachment, r attach.ScanResult) error {
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
		p.log().InfoContext(ctx, "safe: processed", "attachmentId", a.ID, "state", string(a.State), "blocked", a.Blocked)
	}
	return err
}

func (p *Processor) tag(ctx context.Context, key string) (string, error) {
	out, err := p.S3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(p.Buckets.Uploads), Key: aws.String(key)})
	if err != nil {
		return "", fmt.Errorf("safe: read scan tag: %w", err)
	}
	for _, t := range out.TagSet {
		if aws.ToString(t.Key) == attach.ScanTag {
			return aws.ToString(t.Value), nil
		}
	}
	return attach.ScanFailed, nil
}

func (p *Processor) read(ctx context.Context, key string) ([]byte, error) {
	out, err := p.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(p.Buckets.Uploads), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("safe: read upload: %w", err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, attach.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("safe: read upload: %w", err)
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
		return fmt.Errorf("safe: store: %w", err)
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
