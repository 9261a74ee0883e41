// Package dynamotest gives tests a real DynamoDB: DynamoDB Local, one per
// test binary, with the product's tables created under a fresh prefix for
// each test so that tests never see each other's data.
//
// Use it from TestMain:
//
//	func TestMain(m *testing.M) { dynamotest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		client, prefix := dynamotest.New(t)
//		table := schema.PhysicalName(prefix, schema.Messages)
//		...
//	}
//
// Set DYNAMODB_ENDPOINT (e.g. to the DynamoDB Local that `make dev` runs) to
// use that server instead of starting one.
package dynamotest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/localdev/dynamolocal"
	"github.com/pedsportal/messaging/internal/schema"
)

// EnvEndpoint names the variable that points tests at a running server.
const EnvEndpoint = "DYNAMODB_ENDPOINT"

// endpoint is set by Main before any test runs and read-only afterwards.
var endpoint string

// Main runs the tests of one package against DynamoDB Local and exits with
// their exit code. It starts an in-memory server unless DYNAMODB_ENDPOINT is
// set, and stops it after m.Run.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main without the exit, for a TestMain that sets up more around
// it: os.Exit(Run(m)).
func Run(m *testing.M) int {
	if ep := os.Getenv(EnvEndpoint); ep != "" {
		endpoint = ep
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Keep test output clean: start and stop lines are noise there.
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := dynamolocal.Start(ctx, dynamolocal.Options{Logger: quiet})
	if err != nil {
		fmt.Fprintf(os.Stderr, "dynamotest: %v\n", err)
		return 1
	}
	// Stop even if a test panics: Pdeathsig would kill java anyway on
	// Linux, but not elsewhere.
	defer func() {
		if err := srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "dynamotest: %v\n", err)
		}
	}()
	endpoint = srv.Endpoint()
	return m.Run()
}

// Endpoint is the DynamoDB endpoint the tests use. It is empty before Main
// ran unless DYNAMODB_ENDPOINT is set.
func Endpoint() string {
	if endpoint != "" {
		return endpoint
	}
	return os.Getenv(EnvEndpoint)
}

// New creates every table under a prefix unique to this test and returns a
// client and that prefix. The tables are deleted when the test ends, which
// matters when DYNAMODB_ENDPOINT points at a long-lived server.
func New(tb testing.TB) (*dynamodb.Client, string) {
	tb.Helper()
	ep := Endpoint()
	if ep == "" {
		tb.Fatalf("dynamotest: no DynamoDB: call dynamotest.Main(m) from TestMain, or set %s", EnvEndpoint)
	}
	ctx, cancel := context.WithTimeout(tb.Context(), time.Minute)
	defer cancel()
	client := dynamolocal.NewClient(ctx, ep)
	// Table names allow [a-zA-Z0-9_.-]; a ULID is upper-case alphanumeric.
	prefix := "t" + ulid.Make().String() + "-"
	tb.Cleanup(func() { deleteTables(tb, client, prefix) })
	if err := dynamolocal.CreateTables(ctx, client, prefix); err != nil {
		tb.Fatalf("dynamotest: %v", err)
	}
	return client, prefix
}

func deleteTables(tb testing.TB, client *dynamodb.Client, prefix string) {
	tb.Helper()
	// tb.Context is already cancelled when Cleanup runs.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, t := range schema.Tables() {
		_, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(schema.PhysicalName(prefix, t.Name))})
		var notFound *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &notFound) {
			tb.Errorf("dynamotest: delete table: %v", err)
		}
	}
}
