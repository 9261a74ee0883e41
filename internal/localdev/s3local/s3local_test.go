package s3local_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pedsportal/messaging/internal/localdev/s3local"
)

const bucket = "uploads"

func start(t *testing.T, webhook string) *s3local.Server {
	t.Helper()
	srv, err := s3local.Start(context.Background(), s3local.Options{Buckets: []string{bucket}, WebhookURL: webhook})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return srv
}

func presignPost(t *testing.T, c *s3.Client, key string, maxBytes int64, expires time.Duration) *s3.PresignedPostRequest {
	t.Helper()
	p, err := s3.NewPresignClient(c).PresignPostObject(context.Background(),
		&s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)},
		func(o *s3.PresignPostOptions) {
			o.Expires = expires
			o.Conditions = []any{
				[]any{"content-length-range", 1, maxBytes},
				[]any{"eq", "$Content-Type", "image/jpeg"},
			}
		})
	if err != nil {
		t.Fatalf("presign post: %v", err)
	}
	return p
}

// The gateway enforces the POST policy as S3 does: within the bounds the
// upload is stored; over content-length-range, with another content type,
// for another key or after expiry it is refused and nothing is stored.
func TestPostPolicyIsEnforced(t *testing.T) {
	srv := start(t, "")
	c := s3local.NewClient(srv.Endpoint())
	ctx := context.Background()
	const limit = 10 << 20

	tests := []struct {
		name        string
		key         string
		contentType string
		size        int
		expires     time.Duration
		wait        time.Duration
		changeKey   bool
		wantStored  bool
	}{
		{name: "within bounds", key: "in/ok", contentType: "image/jpeg", size: 1 << 20, expires: time.Minute, wantStored: true},
		{name: "11 MB", key: "in/big", contentType: "image/jpeg", size: 11 << 20, expires: time.Minute},
		{name: "other content type", key: "in/html", contentType: "text/html", size: 100, expires: time.Minute},
		{name: "other key", key: "in/mine", contentType: "image/jpeg", size: 100, expires: time.Minute, changeKey: true},
		{name: "expired", key: "in/late", contentType: "image/jpeg", size: 100, expires: time.Second, wait: 2100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := presignPost(t, c, tt.key, limit, tt.expires)
			time.Sleep(tt.wait)
			if tt.changeKey {
				p.Values["key"] = "in/someone-elses"
			}
			res, err := s3local.Post(ctx, p.URL, p.Values, tt.contentType, bytes.NewReader(make([]byte, tt.size)))
			if err != nil {
				t.Fatal(err)
			}
			ok := res.Status >= 200 && res.Status < 300
			if ok != tt.wantStored {
				t.Fatalf("status %d, want stored=%v; body %s", res.Status, tt.wantStored, res.Body)
			}
			_, headErr := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(p.Values["key"])})
			if got := headErr == nil; got != tt.wantStored {
				t.Fatalf("object stored = %v, want %v (head: %v)", got, tt.wantStored, headErr)
			}
			if !tt.wantStored && res.Status != http.StatusForbidden && res.Status != http.StatusBadRequest {
				t.Fatalf("refusal status %d, want 400 or 403: %s", res.Status, res.Body)
			}
		})
	}
}

// A presigned GET works until X-Amz-Expires passes, and a changed signature
// never works: the gateway checks SigV4 on query-signed requests.
func TestPresignedGetExpiresAndIsVerified(t *testing.T) {
	srv := start(t, "")
	c := s3local.NewClient(srv.Endpoint())
	ctx := context.Background()
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatal(err)
	}
	get, err := s3.NewPresignClient(c).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("doc")},
		s3.WithPresignExpires(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	status := func(url string) int {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	tampered := strings.Replace(get.URL, "X-Amz-Signature=", "X-Amz-Signature=0", 1)
	if got := status(tampered); got != http.StatusForbidden {
		t.Fatalf("tampered signature: %d, want 403", got)
	}
	if got := status(get.URL); got != http.StatusOK {
		t.Fatalf("fresh URL: %d, want 200", got)
	}
	time.Sleep(2100 * time.Millisecond)
	if got := status(get.URL); got != http.StatusForbidden {
		t.Fatalf("expired URL: %d, want 403", got)
	}
}

// Uploads and tag changes reach the webhook as S3 event notifications in
// the shape Lambda receives from S3, and tags are kept.
func TestEventsReachTheWebhookAndTagsAreKept(t *testing.T) {
	got := make(chan s3local.EventRecord, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev s3local.Event
		if err := json.NewDecoder(r.Body).Decode(&ev); err == nil {
			for _, rec := range ev.Records {
				got <- rec
			}
		}
	}))
	defer hook.Close()
	srv := start(t, hook.URL)
	c := s3local.NewClient(srv.Endpoint())
	ctx := context.Background()

	p := presignPost(t, c, "in/photo", 1<<20, time.Minute)
	if res, err := s3local.Post(ctx, p.URL, p.Values, "image/jpeg", strings.NewReader("jpeg")); err != nil || res.Status >= 300 {
		t.Fatalf("post: %v %+v", err, res)
	}
	if _, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String("in/photo"),
		Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("GuardDutyMalwareScanStatus"), Value: aws.String("NO_THREATS_FOUND")}}}}); err != nil {
		t.Fatal(err)
	}
	// versitygw 1.8.0 names no key in a POST upload's event (it takes the
	// key from the URL path, which for POST is the bucket's), so the local
	// stack treats an upload event as "look at the bucket"; the tag event
	// names the key.
	var sawPost, sawTag bool
	deadline := time.After(10 * time.Second)
	for !sawPost || !sawTag {
		select {
		case rec := <-got:
			if rec.S3.Bucket.Name != bucket {
				continue
			}
			switch rec.EventName {
			case "s3:ObjectCreated:Post":
				sawPost = true
			case "s3:ObjectTagging:Put":
				sawTag = sawTag || rec.S3.Object.Key == "in/photo"
			}
		case <-deadline:
			t.Fatalf("upload event seen %v, tag event seen %v", sawPost, sawTag)
		}
	}
	tags, err := c.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: aws.String(bucket), Key: aws.String("in/photo")})
	if err != nil || len(tags.TagSet) != 1 || aws.ToString(tags.TagSet[0].Value) != "NO_THREATS_FOUND" {
		t.Fatalf("tags %+v, %v", tags, err)
	}
}
