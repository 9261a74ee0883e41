// Package lambdaapp wires a handler for AWS Lambda: it builds the
// function's dependencies once per container (outside the handler) with
// package compose, from the environment the CDK stack sets, the real
// DynamoDB client and Secrets Manager (configured by package awsenv), and
// starts the runtime.
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
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/awsenv"
	"github.com/pedsportal/messaging/internal/compose"
	"github.com/pedsportal/messaging/internal/routes"
)

// Start serves the named function (package routes) on Lambda with the
// handler newHandler builds (package api has one constructor per
// function; main passes its own, so the bootstrap links no other
// function's operations). A configuration error stops the container at
// init, where Lambda reports it, never inside a request.
func Start(function string, newHandler func(api.Deps) api.Handler) {
	StartWith(function, newHandler, nil)
}

// Extend adds what only some functions are given to their Source (the
// attachment signer, say), from the SDK configuration.
type Extend func(ctx context.Context, cfg aws.Config, src *compose.Source) error

// StartWith is Start with extend applied to the Source before Build.
func StartWith(function string, newHandler func(api.Deps) api.Handler, extend Extend) {
	log := lambdacontext.NewLogger()
	handler, err := load(context.Background(), log, function, newHandler, extend)
	if err != nil {
		log.Error("init failed", "function", function, "error", err)
		os.Exit(1)
	}
	lambda.Start(handler)
}

// load builds the handler of an HTTP function. The functions that react
// to events start from packages reactors and senders, so that no HTTP
// bootstrap links the notification code or the SES and SMS clients.
func load(ctx context.Context, log *slog.Logger, function string, newHandler func(api.Deps) api.Handler, extend Extend) (any, error) {
	f, ok := routes.FunctionNamed(function)
	if !ok || f.Trigger != routes.HTTP {
		return nil, fmt.Errorf("function %q is no HTTP function: start it from package reactors or senders", function)
	}
	deps, err := LoadWith(ctx, log, function, extend)
	if err != nil {
		return nil, err
	}
	return newHandler(deps), nil
}

// Load builds the named function's dependencies from the environment. It
// fails closed (package compose): missing issuers or app clients, a
// missing table the function is granted, or a missing cursor key for a
// function that pages stop the function rather than weaken it.
func Load(ctx context.Context, log *slog.Logger, function string) (api.Deps, error) {
	return LoadWith(ctx, log, function, nil)
}

// LoadWith is Load with extend applied to the Source.
func LoadWith(ctx context.Context, log *slog.Logger, function string, extend Extend) (api.Deps, error) {
	cfg := awsenv.Config()
	src := compose.Source{
		Env:       os.Getenv,
		DynamoDB:  dynamodb.NewFromConfig(awsenv.For(cfg, awsenv.DynamoDB)),
		CursorKey: secretReader(cfg),
		Log:       log,
	}
	if extend != nil {
		if err := extend(ctx, cfg, &src); err != nil {
			return api.Deps{}, err
		}
	}
	return compose.Build(ctx, function, src)
}

// SecretReader reads a secret's string from Secrets Manager.
func SecretReader(cfg aws.Config) func(ctx context.Context, arn string) ([]byte, error) {
	return secretReader(cfg)
}

// secretReader reads a secret's string from Secrets Manager. The client is
// made only when a function that pages asks for its key.
func secretReader(cfg aws.Config) func(ctx context.Context, arn string) ([]byte, error) {
	return func(ctx context.Context, arn string) ([]byte, error) {
		out, err := secretsmanager.NewFromConfig(awsenv.For(cfg, awsenv.SecretsManager)).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			return nil, err
		}
		return []byte(aws.ToString(out.SecretString)), nil
	}
}
