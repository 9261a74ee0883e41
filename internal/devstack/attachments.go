package devstack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pedsportal/messaging/internal/attach"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/lambdaapp/scans"
	"github.com/pedsportal/messaging/internal/localdev/s3local"
	"github.com/pedsportal/messaging/internal/routes"
)

// Files is the local attachment path: the local S3 (versitygw) with the
// two buckets, the scanner standing in for GuardDuty, and attach-process
// built as Lambda builds it, which the scanner hands GuardDuty's event
// to as EventBridge does.
type Files struct {
	S3      *s3local.Server
	Client  *s3.Client
	Buckets attach.Buckets
	Scanner *attach.LocalScanner

	kick   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	hook   *http.Server
	signer *attach.Signer
}

// localBuckets are the buckets' names on the local S3.
var localBuckets = attach.Buckets{Uploads: "uploads", Chart: "chart"}

// sweepEvery is the scanner's safety-net timer; S3's upload events kick it
// at once.
const sweepEvery = 2 * time.Second

// startFiles runs the local S3 (its data under dataDir when set), sets the
// buckets' CORS as infra does for the pages' origin, and starts the
// scanner: S3's event webhook wakes it on every upload (versitygw's POST
// events name the bucket only), and a timer sweeps as a safety net.
func (s *Stack) startFiles(ctx context.Context, dataDir, siteURL string, log *slog.Logger) (*Files, error) {
	f := &Files{Buckets: localBuckets, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.hook = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev s3local.Event
		if json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&ev) == nil {
			for _, rec := range ev.Records {
				if rec.S3.Bucket.Name == f.Buckets.Uploads {
					f.Kick()
				}
			}
		}
	})}
	go func() { _ = f.hook.Serve(ln) }()
	opts := s3local.Options{Buckets: []string{f.Buckets.Uploads, f.Buckets.Chart}, WebhookURL: "http://" + ln.Addr().String(), Logger: log}
	if dataDir != "" {
		if opts.DataDir, err = filepath.Abs(filepath.Join(dataDir, "s3")); err != nil {
			return nil, err
		}
	}
	if f.S3, err = s3local.Start(ctx, opts); err != nil {
		_ = f.hook.Close()
		return nil, err
	}
	f.Client = s3local.NewClient(f.S3.Endpoint())
	f.signer = attach.NewSigner(f.Client, f.Buckets)
	for bucket, method := range map[string]string{f.Buckets.Uploads: http.MethodPost, f.Buckets.Chart: http.MethodGet} {
		if _, err := f.Client.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String(bucket), CORSConfiguration: &types.CORSConfiguration{
			CORSRules: []types.CORSRule{{AllowedOrigins: []string{siteURL}, AllowedMethods: []string{method}, AllowedHeaders: []string{"*"}, MaxAgeSeconds: aws.Int32(3000)}},
		}}); err != nil {
			f.Stop()
			return nil, fmt.Errorf("devstack: bucket CORS: %w", err)
		}
	}
	fn, _ := routes.FunctionNamed(routes.FnAttachProcess)
	process, err := scans.Handler(s.source(fn, log), f.Client)
	if err != nil {
		f.Stop()
		return nil, err
	}
	f.Scanner = &attach.LocalScanner{S3: f.Client, Bucket: f.Buckets.Uploads, Now: s.now,
		Deliver: func(ctx context.Context, ev events.CloudWatchEvent) error { return process(ctx, ev) }}
	go f.loop(log)
	return f, nil
}

// Kick asks the scanner to sweep now.
func (f *Files) Kick() {
	select {
	case f.kick <- struct{}{}:
	default:
	}
}

func (f *Files) loop(log *slog.Logger) {
	defer close(f.done)
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-f.stop:
			return
		case <-t.C:
		case <-f.kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if _, err := f.Scanner.Sweep(ctx); err != nil {
			log.Warn("local scan failed; the next sweep retries", "error", err)
		}
		cancel()
	}
}

// Stop ends the scanner and the local S3.
func (f *Files) Stop() {
	if f == nil {
		return
	}
	select {
	case <-f.stop:
		return
	default:
	}
	close(f.stop)
	if f.Scanner != nil {
		<-f.done
	}
	_ = f.hook.Close()
	if f.S3 != nil {
		_ = f.S3.Stop()
	}
}

// blobEnv names the buckets for the functions that use them, as infra
// does.
func blobEnv(f routes.Function, env map[string]string) {
	if f.Blobs != routes.BlobNone {
		env[envvar.UploadsBucket] = localBuckets.Uploads
		env[envvar.ChartBucket] = localBuckets.Chart
	}
}
