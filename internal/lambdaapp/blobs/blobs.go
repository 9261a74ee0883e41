// Package blobs starts, on Lambda, the functions that use the attachment
// buckets: attachments (signs the browser's uploads and downloads) and
// attach-process (makes scanned uploads safe). They live apart from
// package lambdaapp so that no other bootstrap links the S3 client.
package blobs

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/attach"
	"github.com/pedsportal/messaging/internal/awsenv"
	"github.com/pedsportal/messaging/internal/compose"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/routes"
)

// BucketsFrom reads the bucket names from env; both are required.
func BucketsFrom(env func(string) string) (attach.Buckets, error) {
	b := attach.Buckets{Uploads: env(envvar.UploadsBucket), Chart: env(envvar.ChartBucket)}
	if b.Uploads == "" || b.Chart == "" {
		return b, fmt.Errorf("missing settings: %s and %s are required", envvar.UploadsBucket, envvar.ChartBucket)
	}
	return b, nil
}

// StartAttachments serves the attachments function on Lambda.
func StartAttachments() {
	lambdaapp.StartWith(routes.FnAttachments, api.Attachments, nil, func(_ context.Context, cfg aws.Config, src *compose.Source) error {
		b, err := BucketsFrom(src.Env)
		if err != nil {
			return err
		}
		src.Blobs = attach.NewSigner(s3.NewFromConfig(awsenv.For(cfg, awsenv.S3)), b)
		return nil
	})
}

// Processor builds attach-process's handler of GuardDuty's scan result
// events over s3c and the function's own tables.
func Processor(src compose.Source, s3c attach.S3API) (func(context.Context, events.CloudWatchEvent) error, error) {
	st, err := compose.StoreFor(routes.FnAttachProcess, src)
	if err != nil {
		return nil, err
	}
	b, err := BucketsFrom(src.Env)
	if err != nil {
		return nil, err
	}
	p := &attach.Processor{S3: s3c, Buckets: b, Records: st, Log: compose.LogOf(src), Now: src.Now}
	return func(ctx context.Context, ev events.CloudWatchEvent) error {
		r, err := attach.ScanResultOf(ev)
		if err != nil {
			return err
		}
		return p.Process(ctx, r)
	}, nil
}

// StartProcessor serves attach-process on Lambda. A returned error makes
// EventBridge retry the event (its rule's retry policy and dead-letter
// queue bound that).
func StartProcessor() {
	log := lambdacontext.NewLogger().With("function", routes.FnAttachProcess)
	cfg := awsenv.Config()
	h, err := Processor(compose.Source{
		Env: os.Getenv, DynamoDB: dynamodb.NewFromConfig(awsenv.For(cfg, awsenv.DynamoDB)), Log: log,
	}, s3.NewFromConfig(awsenv.For(cfg, awsenv.S3)))
	if err != nil {
		log.Error("init failed", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
