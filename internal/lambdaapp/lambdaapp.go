// Package lambdaapp wires a handler for AWS Lambda: it builds the
// function's dependencies once per container (outside the handler) with
// package compose, from the environment the CDK stack sets, the real
// DynamoDB client (configured by package awsenv) and, for the functions
// given the cursor key, the key reader their main passes (package
// secretkey), and starts the runtime.
// functions/*/main.go call Start.
package lambdaapp

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/awsenv"
	"github.com/pedsportal/messaging/internal/compose"
	"github.com/pedsportal/messaging/internal/routes"
)

// Keys makes the cursor key reader from the SDK configuration for Secrets
// Manager: secretkey.Read, or nil for a function that is given no key, so
// that its bootstrap links no Secrets Manager client.
type Keys func(aws.Config) func(ctx context.Context, secretARN string) ([]byte, error)

// Start serves the named function (package routes) on Lambda with the
// handler newHandler builds (package api has one constructor per
// function; main passes its own, so the bootstrap links no other
// function's operations) and the cursor key read by keys. A configuration
// error, a function that pages started without keys among them, stops the
// container at init, where Lambda reports it, never inside a request.
func Start(function string, newHandler func(api.Deps) api.Handler, keys Keys) {
	StartWith(function, newHandler, keys, nil)
}

// Extend adds what only some functions are given to their Source (the
// attachment signer, say), from the SDK configuration.
type Extend func(ctx context.Context, cfg aws.Config, src *compose.Source) error

// StartWith is Start with extend applied to the Source before Build.
func StartWith(function string, newHandler func(api.Deps) api.Handler, keys Keys, extend Extend) {
	log := lambdacontext.NewLogger()
	handler, err := load(context.Background(), log, function, newHandler, keys, extend)
	if err != nil {
		log.Error("init failed", "function", function, "error", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}

// load builds the handler of an HTTP function. The functions that react
// to events start from packages reactors and senders, so that no HTTP
// bootstrap links the notification code or the SES and SMS clients.
func load(ctx context.Context, log *slog.Logger, function string, newHandler func(api.Deps) api.Handler, keys Keys, extend Extend) (any, error) {
	f, ok := routes.FunctionNamed(function)
	if !ok || f.Trigger != routes.HTTP {
		return nil, fmt.Errorf("function %q is no HTTP function: start it from package reactors or senders", function)
	}
	deps, err := LoadWith(ctx, log, function, keys, extend)
	if err != nil {
		return nil, err
	}
	return newHandler(deps), nil
}

// Load builds the named function's dependencies from the environment. It
// fails closed (package compose): missing issuers or app clients, a
// missing table the function is granted, or a missing cursor key (setting,
// reader or secret) for a function that pages stop the function rather
// than weaken it.
func Load(ctx context.Context, log *slog.Logger, function string, keys Keys) (api.Deps, error) {
	return LoadWith(ctx, log, function, keys, nil)
}

// LoadWith is Load with extend applied to the Source.
func LoadWith(ctx context.Context, log *slog.Logger, function string, keys Keys, extend Extend) (api.Deps, error) {
	cfg := awsenv.Config()
	src := compose.Source{
		Env:      os.Getenv,
		DynamoDB: dynamodb.NewFromConfig(awsenv.For(cfg, awsenv.DynamoDB)),
		Log:      log,
	}
	if keys != nil {
		src.CursorKey = keys(awsenv.For(cfg, awsenv.SecretsManager))
	}
	if extend != nil {
		if err := extend(ctx, cfg, &src); err != nil {
			return api.Deps{}, err
		}
	}
	return compose.Build(ctx, function, src)
}
