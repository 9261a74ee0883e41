package attach

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/envvar"
)

// Buckets are the two buckets of attachments.
//
// Uploads is where browsers post, protected by GuardDuty Malware
// Protection for S3: nothing in it is ever served, and a lifecycle rule
// expires what the processor leaves (refused and infected files) after a
// day. Chart holds what the processor made safe, under the stack's KMS key,
// versioned, with Object Lock retention: the product never deletes from it.
type Buckets struct {
	Uploads string
	Chart   string
}

// BucketsFrom reads the bucket names from env; both are required.
func BucketsFrom(env func(string) string) (Buckets, error) {
	b := Buckets{Uploads: env(envvar.UploadsBucket), Chart: env(envvar.ChartBucket)}
	if b.Uploads == "" || b.Chart == "" {
		return b, fmt.Errorf("missing settings: %s and %s are required", envvar.UploadsBucket, envvar.ChartBucket)
	}
	return b, nil
}

// Slot and link lifetimes: long enough for a phone on a slow network to
// post 10 MB, short enough that a leaked link is soon useless.
const (
	UploadTTL   = 5 * time.Minute
	DownloadTTL = time.Minute
)

// UploadKey is where a file is posted; the processor parses it back.
func UploadKey(patientID, id string) string { return "incoming/" + patientID + "/" + id }

// ChartKey is where the safe file is kept.
func ChartKey(patientID, id string) string { return patientID + "/" + id }

// ThumbKey is where an image's thumbnail is kept: beside the file, not
// under it (a file-system backed S3 cannot hold both "a" and "a/b").
func ThumbKey(patientID, id string) string { return ChartKey(patientID, id) + ".thumbnail.jpg" }

// ParseUploadKey returns the patient and attachment IDs of an upload key.
func ParseUploadKey(k string) (patientID, id string, ok bool) {
	rest, ok := strings.CutPrefix(k, "incoming/")
	if !ok {
		return "", "", false
	}
	patientID, id, ok = strings.Cut(rest, "/")
	return patientID, id, ok && patientID != "" && domain.ValidAttachmentID(id)
}

// Signer presigns the browser's requests; it implements app.Blobs.
type Signer struct {
	presign *s3.PresignClient
	buckets Buckets
	now     func() time.Time
	// DownloadTTL is how long a download link lasts (default
	// DownloadTTL); tests shorten it to watch a link expire.
	DownloadTTL time.Duration
}

var _ app.Blobs = (*Signer)(nil)

// NewSigner signs with client's credentials (the function's role in AWS).
func NewSigner(client *s3.Client, b Buckets) *Signer {
	return &Signer{presign: s3.NewPresignClient(client), buckets: b, now: time.Now, DownloadTTL: DownloadTTL}
}

// UploadSlot signs a POST Object whose policy fixes the key, the content
// type and a content-length-range of 1 byte to MaxBytes, for UploadTTL.
func (s *Signer) UploadSlot(ctx context.Context, a domain.Attachment) (app.UploadSlot, error) {
	expires := s.now().Add(UploadTTL)
	p, err := s.presign.PresignPostObject(ctx,
		&s3.PutObjectInput{Bucket: aws.String(s.buckets.Uploads), Key: aws.String(UploadKey(a.PatientID, a.ID))},
		func(o *s3.PresignPostOptions) {
			o.Expires = UploadTTL
			o.Conditions = []any{
				[]any{"content-length-range", 1, MaxBytes},
				[]any{"eq", "$Content-Type", a.ContentType},
			}
		})
	if err != nil {
		return app.UploadSlot{}, fmt.Errorf("attach: presign upload: %w", err)
	}
	fields := map[string]string{"Content-Type": a.ContentType}
	for k, v := range p.Values {
		fields[k] = v
	}
	return app.UploadSlot{URL: p.URL, Fields: fields, MaxBytes: MaxBytes, ExpiresAt: expires}, nil
}

// DownloadURL signs a GET of the safe file for DownloadTTL. S3 answers
// with the stored type and, for a PDF, as a download (never shown inline,
// where a viewer would run it on the portal's behalf); the name is
// percent-encoded (RFC 5987), so no name can break the header.
func (s *Signer) DownloadURL(ctx context.Context, a domain.Attachment, thumbnail bool) (app.Download, error) {
	key, typ := ChartKey(a.PatientID, a.ID), a.ContentType
	disposition := "attachment"
	if thumbnail {
		key, typ = ThumbKey(a.PatientID, a.ID), TypeJPEG
	}
	if typ != TypePDF {
		disposition = "inline"
	}
	expires := s.now().Add(s.DownloadTTL)
	p, err := s.presign.PresignGetObject(ctx, &s3.GetObjectInput{
		Bucket:                     aws.String(s.buckets.Chart),
		Key:                        aws.String(key),
		ResponseContentType:        aws.String(typ),
		ResponseContentDisposition: aws.String(disposition + "; filename*=UTF-8''" + url.PathEscape(a.Name)),
		ResponseCacheControl:       aws.String("private, no-store"),
	}, s3.WithPresignExpires(s.DownloadTTL))
	if err != nil {
		return app.Download{}, fmt.Errorf("attach: presign download: %w", err)
	}
	return app.Download{URL: p.URL, ExpiresAt: expires}, nil
}
