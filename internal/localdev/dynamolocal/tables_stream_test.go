package dynamolocal_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/localdev/dynamolocal"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/schema"
)

// streamTestPrefix is a fresh table prefix on the shared server whose
// tables are deleted when the test ends.
func streamTestPrefix(t *testing.T, client *dynamodb.Client) string {
	t.Helper()
	prefix := "s" + ulid.Make().String() + "-"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, tbl := range schema.Tables() {
			_, _ = client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(schema.PhysicalName(prefix, tbl.Name))})
		}
	})
	return prefix
}

// streamOf is a table's stream view type, "" when it has no enabled stream,
// and its latest stream ARN.
func streamOf(t *testing.T, client *dynamodb.Client, name string) (types.StreamViewType, string) {
	t.Helper()
	out, err := client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatalf("DescribeTable %s: %v", name, err)
	}
	sp := out.Table.StreamSpecification
	if sp == nil || !aws.ToBool(sp.StreamEnabled) {
		return "", aws.ToString(out.Table.LatestStreamArn)
	}
	return sp.StreamViewType, aws.ToString(out.Table.LatestStreamArn)
}

// GIVEN tables that `make dev` created in .dev/ from an older schema — the
// Messages table without a stream, another with a stream the schema no
// longer has, and no Notifications table — WHEN CreateTables runs THEN
// every table's stream is the schema's and the new table exists, as a CDK
// deploy would leave them.
func TestCreateTablesSetsStreamsOnExistingTables(t *testing.T) {
	ctx := t.Context()
	client := dynamolocal.NewClient(ctx, dynamotest.Endpoint())
	prefix := streamTestPrefix(t, client)

	var streamed, unstreamed string // a table the schema streams, and one it does not
	for _, tbl := range schema.Tables() {
		if tbl.Stream != "" && streamed == "" {
			streamed = tbl.Name
		}
		if tbl.Stream == "" && unstreamed == "" && tbl.Name != schema.Notifications {
			unstreamed = tbl.Name
		}
		old := tbl
		switch {
		case tbl.Name == schema.Notifications:
			continue // new in this schema: not there yet
		case tbl.Name == unstreamed:
			old.Stream = types.StreamViewTypeKeysOnly
		default:
			old.Stream = ""
		}
		if _, err := client.CreateTable(ctx, old.CreateTableInput(schema.PhysicalName(prefix, tbl.Name))); err != nil {
			t.Fatalf("create old %s: %v", tbl.Name, err)
		}
	}
	if streamed != schema.Messages {
		t.Fatalf("the schema streams %q first, want Messages (the notifier reads its stream)", streamed)
	}
	if v, _ := streamOf(t, client, schema.PhysicalName(prefix, unstreamed)); v != types.StreamViewTypeKeysOnly {
		t.Fatalf("set-up: %s stream = %q", unstreamed, v)
	}

	if err := dynamolocal.CreateTables(ctx, client, prefix); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	arns := map[string]string{}
	for _, tbl := range schema.Tables() {
		name := schema.PhysicalName(prefix, tbl.Name)
		got, arn := streamOf(t, client, name)
		if got != tbl.Stream {
			t.Errorf("%s stream = %q, want %q", tbl.Name, got, tbl.Stream)
		}
		if tbl.Stream != "" && arn == "" {
			t.Errorf("%s has no LatestStreamArn", tbl.Name)
		}
		arns[tbl.Name] = arn
	}
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(schema.PhysicalName(prefix, schema.Notifications))})
	if err != nil {
		t.Fatalf("the new Notifications table: %v", err)
	}
	if n := len(out.Table.GlobalSecondaryIndexes); n != 1 || aws.ToString(out.Table.GlobalSecondaryIndexes[0].IndexName) != schema.IndexDue {
		t.Errorf("Notifications indexes = %d, want the Due index", n)
	}

	// Every start of `make dev` runs it again: the stream stays the same
	// one, so a poller reading it is not cut off.
	if err := dynamolocal.CreateTables(ctx, client, prefix); err != nil {
		t.Fatalf("CreateTables again: %v", err)
	}
	if _, arn := streamOf(t, client, schema.PhysicalName(prefix, schema.Messages)); arn != arns[schema.Messages] {
		t.Errorf("second run replaced the Messages stream: %s, was %s", arn, arns[schema.Messages])
	}
}

// GIVEN a Messages table whose stream has another view type WHEN
// CreateTables runs THEN the stream is replaced by one with the schema's
// view type (DynamoDB cannot change it in place).
func TestCreateTablesChangesAStreamsViewType(t *testing.T) {
	ctx := t.Context()
	client := dynamolocal.NewClient(ctx, dynamotest.Endpoint())
	prefix := streamTestPrefix(t, client)
	for _, tbl := range schema.Tables() {
		if tbl.Name != schema.Messages {
			continue
		}
		tbl.Stream = types.StreamViewTypeKeysOnly
		if _, err := client.CreateTable(ctx, tbl.CreateTableInput(schema.PhysicalName(prefix, tbl.Name))); err != nil {
			t.Fatal(err)
		}
	}
	name := schema.PhysicalName(prefix, schema.Messages)
	_, before := streamOf(t, client, name)
	if err := dynamolocal.CreateTables(ctx, client, prefix); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	got, after := streamOf(t, client, name)
	if got != types.StreamViewTypeNewImage || after == "" || after == before {
		t.Errorf("stream = %q %s (was %s), want a new NEW_IMAGE stream", got, after, before)
	}
}
