// Package scans starts, on Lambda, the attach-process function: it acts
// on GuardDuty's scan results, making clean uploads safe (package
// attach/safe) and blocking the rest.
package scans

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pedsportal/messaging/internal/attach"
	"github.com/pedsportal/messaging/internal/attach/safe"
	"github.com/pedsportal/messaging/internal/awsenv"
	"github.com/pedsportal/messaging/internal/compose"
	"github.com/pedsportal/messaging/internal/routes"
)

// Handler builds attach-process's handler of GuardDuty's scan result
// events over s3c and the function's own tables.
func Handler(src compose.Source, s3c safe.S3API) (func(context.Context, events.CloudWatchEvent) error, error) {
	st, err := compose.StoreFor(routes.FnAttachProcess, src)
	if err != nil {
		return nil, err
	}
	b, err := attach.BucketsFrom(src.Env)
	if err != nil {
		return nil, err
	}
	p := &safe.Processor{S3: s3c, Buckets: b, Records: st, Log: compose.LogOf(src), Now: src.Now}
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
	h, err := Handler(compose.Source{
		Env: os.Getenv, DynamoDB: dynamodb.NewFromConfig(awsenv.For(cfg, awsenv.DynamoDB)), Log: log,
	}, s3.NewFromConfig(awsenv.For(cfg, awsenv.S3)))
	if err != nil {
		log.Error("init failed", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
