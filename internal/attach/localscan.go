package attach

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// LocalScanAPI is what the local scanner does with S3.
type LocalScanAPI interface {
	ListObjectsV2(context.Context, *s3.ListObjectsV2Input, ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObjectTagging(context.Context, *s3.GetObjectTaggingInput, ...func(*s3.Options)) (*s3.GetObjectTaggingOutput, error)
	PutObjectTagging(context.Context, *s3.PutObjectTaggingInput, ...func(*s3.Options)) (*s3.PutObjectTaggingOutput, error)
	GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// LocalScanner stands in for GuardDuty Malware Protection for S3 on the
// local stack: for each upload not yet tagged it scans the bytes
// (ScanLocal: the EICAR test file is a threat), writes GuardDuty's tag,
// and delivers GuardDuty's EventBridge event to Deliver, which is the
// processor function's handler, as EventBridge invokes it in AWS.
type LocalScanner struct {
	S3      LocalScanAPI
	Bucket  string
	Deliver func(context.Context, events.CloudWatchEvent) error
	Now     func() time.Time
}

// Sweep scans every upload that has no scan tag yet, and returns how many
// it scanned. The local stack calls it when S3 reports an upload (its
// event names the bucket only) and on a timer.
func (s *LocalScanner) Sweep(ctx context.Context) (int, error) {
	n := 0
	p := s3.NewListObjectsV2Paginator(s.S3, &s3.ListObjectsV2Input{Bucket: aws.String(s.Bucket), Prefix: aws.String("incoming/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return n, fmt.Errorf("attach: local scan: list: %w", err)
		}
		for _, o := range page.Contents {
			done, err := s.scanOne(ctx, aws.ToString(o.Key))
			if err != nil {
				return n, err
			}
			if done {
				n++
			}
		}
	}
	return n, nil
}

func (s *LocalScanner) scanOne(ctx context.Context, key string) (bool, error) {
	tags, err := s.S3.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		return false, fmt.Errorf("attach: local scan: tags: %w", err)
	}
	for _, t := range tags.TagSet {
		if aws.ToString(t.Key) == ScanTag {
			return false, nil
		}
	}
	obj, err := s.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.Bucket), Key: aws.String(key)})
	if err != nil {
		return false, fmt.Errorf("attach: local scan: read: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(obj.Body, MaxBytes+1))
	obj.Body.Close()
	if err != nil {
		return false, fmt.Errorf("attach: local scan: read: %w", err)
	}
	result := ScanLocal(data)
	if _, err := s.S3.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
		Bucket: aws.String(s.Bucket), Key: aws.String(key),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String(ScanTag), Value: aws.String(result)}}},
	}); err != nil {
		return false, fmt.Errorf("attach: local scan: tag: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ev := ScanEvent(ScanResult{Bucket: s.Bucket, Key: key, Status: result, EventID: "local-scan-" + key}, now())
	return true, s.Deliver(ctx, ev)
}
