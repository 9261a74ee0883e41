// Package reactors builds and starts, on Lambda, the functions that react
// to events rather than serve routes: the notifier (the Messages stream),
// ses-events (SES's bounce and complaint events) and the escalator (a
// schedule). They live apart from
// package lambdaapp so that no HTTP function links the notification code.
package reactors

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pedsportal/messaging/internal/awsenv"
	"github.com/pedsportal/messaging/internal/compose"
	"github.com/pedsportal/messaging/internal/escalate"
	"github.com/pedsportal/messaging/internal/notify"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/store"
)

// Notifier builds the stream handler of the notifier function.
func Notifier(ctx context.Context, src compose.Source) (func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error), error) {
	st, err := compose.StoreFor(routes.FnNotifier, src)
	if err != nil {
		return nil, err
	}
	n := notify.NewNotifier(st, notify.Config{Now: src.Now, Decode: store.MessageFromStream, Log: compose.LogOf(src)})
	return n.HandleStream, nil
}

// SESEvents builds the handler of SES's bounce and complaint events.
func SESEvents(ctx context.Context, src compose.Source) (func(context.Context, events.SNSEvent) error, error) {
	st, err := compose.StoreFor(routes.FnSESEvents, src)
	if err != nil {
		return nil, err
	}
	log := compose.LogOf(src)
	return func(ctx context.Context, ev events.SNSEvent) error { return notify.HandleSESEvents(ctx, st, log, ev) }, nil
}

// Escalator builds the scheduled check of response targets.
func Escalator(ctx context.Context, src compose.Source) (*escalate.Escalator, error) {
	st, err := compose.StoreFor(routes.FnEscalate, src)
	if err != nil {
		return nil, err
	}
	return escalate.New(st, src.Now, compose.LogOf(src)), nil
}

// StartEscalator serves the escalator on Lambda; the schedule's event
// carries nothing it reads.
func StartEscalator() {
	start(routes.FnEscalate, func(ctx context.Context, src compose.Source) (any, error) {
		e, err := Escalator(ctx, src)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context) (escalate.Result, error) { return e.Run(ctx) }, nil
	})
}

// StartNotifier serves the notifier on Lambda.
func StartNotifier() {
	start(routes.FnNotifier, func(ctx context.Context, src compose.Source) (any, error) { return Notifier(ctx, src) })
}

// StartSESEvents serves ses-events on Lambda.
func StartSESEvents() {
	start(routes.FnSESEvents, func(ctx context.Context, src compose.Source) (any, error) { return SESEvents(ctx, src) })
}

// start builds a handler once per container and starts the runtime; a
// configuration error stops the container at init.
func start(function string, build func(context.Context, compose.Source) (any, error)) {
	log := lambdacontext.NewLogger().With("function", function)
	ctx := context.Background()
	cfg := awsenv.For(awsenv.Config(), awsenv.DynamoDB)
	h, err := build(ctx, compose.Source{Env: os.Getenv, DynamoDB: dynamodb.NewFromConfig(cfg), Log: log})
	if err != nil {
		log.Error("init failed", "error", err)
		os.Exit(1)
	}
	lambda.Start(h)
}
