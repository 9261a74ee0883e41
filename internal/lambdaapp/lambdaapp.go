// Package lambdaapp wires a handler for AWS Lambda: it reads configuration
// from the environment, builds the SDK clients once per container (outside
// the handler), and starts the runtime. functions/*/main.go call Start.
package lambdaapp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/store"
)

// TableEnv names the environment variable that carries a table's physical
// name, e.g. TABLE_MESSAGES for schema.Messages. The CDK stack sets it.
func TableEnv(logical string) string { return "TABLE_" + strings.ToUpper(logical) }

// Environment variables, set by the CDK stack.
const (
	EnvTableDirectory = "TABLE_DIRECTORY" // TableEnv(schema.Directory)
	EnvTableMessages  = "TABLE_MESSAGES"  // TableEnv(schema.Messages)
	EnvTableAudit     = "TABLE_AUDIT"     // TableEnv(schema.Audit)
	EnvPortalIssuer   = "PORTAL_ISSUER"
	EnvStaffIssuer    = "STAFF_ISSUER"
	EnvCursorSecret   = "CURSOR_KEY_SECRET_ARN"
)

// Start serves the named function (package routes) on Lambda. A
// configuration error stops the container at init, where Lambda reports
// it, never inside a request.
func Start(function string) {
	log := lambdacontext.NewLogger()
	deps, err := Load(context.Background(), log, function)
	if err != nil {
		log.Error("init failed", "function", function, "error", err)
		os.Exit(1)
	}
	lambda.Start(api.Constructors[function](deps))
}

// Load builds the named function's dependencies from the environment. It
// fails closed: missing issuers, or a missing cursor key for a function
// that pages, stop the function rather than weaken it.
func Load(ctx context.Context, log *slog.Logger, function string) (api.Deps, error) {
	var fn *routes.Function
	for _, f := range routes.Functions() {
		if f.Name == function {
			fn = &f
		}
	}
	if fn == nil || api.Constructors[function] == nil {
		return api.Deps{}, fmt.Errorf("unknown function %q", function)
	}
	issuers := authz.Issuers{
		domain.SidePortal: os.Getenv(EnvPortalIssuer),
		domain.SideStaff:  os.Getenv(EnvStaffIssuer),
	}
	if issuers[domain.SidePortal] == "" || issuers[domain.SideStaff] == "" {
		return api.Deps{}, errors.New("PORTAL_ISSUER and STAFF_ISSUER must be set")
	}
	tables := store.Tables{
		Directory: os.Getenv(EnvTableDirectory),
		Messages:  os.Getenv(EnvTableMessages),
		Audit:     os.Getenv(EnvTableAudit),
	}
	// Each function is given only the tables it may touch (least
	// privilege), but every function reads the directory.
	if tables.Directory == "" {
		return api.Deps{}, errors.New("TABLE_DIRECTORY must be set")
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return api.Deps{}, fmt.Errorf("load AWS config: %w", err)
	}
	deps := api.Deps{Store: store.New(dynamodb.NewFromConfig(cfg), tables), Issuers: issuers, Log: log}
	if fn.Cursors {
		arn := os.Getenv(EnvCursorSecret)
		if arn == "" {
			return api.Deps{}, errors.New("CURSOR_KEY_SECRET_ARN must be set for a function that pages")
		}
		out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			return api.Deps{}, fmt.Errorf("read cursor key: %w", err)
		}
		if deps.Cursors, err = cursor.New([]byte(aws.ToString(out.SecretString))); err != nil {
			return api.Deps{}, err
		}
	}
	return deps, nil
}

// OperatorDynamoDB builds a DynamoDB client for the operator commands
// (cmd/directory, cmd/migrate) from the usual AWS environment, or for
// DynamoDB Local when DYNAMODB_ENDPOINT is set.
func OperatorDynamoDB(ctx context.Context) (*dynamodb.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if ep := os.Getenv("DYNAMODB_ENDPOINT"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	}), nil
}
