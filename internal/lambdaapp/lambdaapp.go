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

// Start serves newHandler on Lambda. A configuration error stops the
// container at init, where Lambda reports it, never inside a request.
func Start(newHandler func(api.Deps) api.Handler) {
	log := lambdacontext.NewLogger()
	deps, err := Load(context.Background(), log)
	if err != nil {
		log.Error("init failed", "error", err)
		os.Exit(1)
	}
	lambda.Start(newHandler(deps))
}

// Load builds handler dependencies from the environment.
func Load(ctx context.Context, log *slog.Logger) (api.Deps, error) {
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
	deps := api.Deps{
		Store: store.New(dynamodb.NewFromConfig(cfg), tables),
		Issuers: authz.Issuers{
			domain.SidePortal: os.Getenv(EnvPortalIssuer),
			domain.SideStaff:  os.Getenv(EnvStaffIssuer),
		},
		Log: log,
	}
	if arn := os.Getenv(EnvCursorSecret); arn != "" {
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
