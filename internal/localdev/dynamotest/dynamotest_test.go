package dynamotest_test

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/schema"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

func TestNewIsolatesTests(t *testing.T) {
	ctx := t.Context()
	clientA, prefixA := dynamotest.New(t)
	clientB, prefixB := dynamotest.New(t)
	if prefixA == prefixB || !strings.HasPrefix(prefixA, "t") || !strings.HasSuffix(prefixA, "-") {
		t.Fatalf("prefixes %q and %q: want distinct t<ulid>- prefixes", prefixA, prefixB)
	}
	key := map[string]types.AttributeValue{
		schema.AttrPK: &types.AttributeValueMemberS{Value: "p-1"},
		schema.AttrSK: &types.AttributeValueMemberS{Value: "CONV#c-1"},
	}
	if _, err := clientA.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(schema.PhysicalName(prefixA, schema.Messages)), Item: key,
	}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	tests := []struct {
		name   string
		client *dynamodb.Client
		prefix string
		want   bool
	}{
		{"own tables see the item", clientA, prefixA, true},
		{"another test's tables do not", clientB, prefixB, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.client.GetItem(ctx, &dynamodb.GetItemInput{
				TableName: aws.String(schema.PhysicalName(tt.prefix, schema.Messages)), Key: key, ConsistentRead: aws.Bool(true),
			})
			if err != nil {
				t.Fatalf("GetItem: %v", err)
			}
			if got := out.Item != nil; got != tt.want {
				t.Errorf("item found = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTablesAreDeletedAfterTheTest(t *testing.T) {
	var client *dynamodb.Client
	var prefix string
	t.Run("user", func(t *testing.T) {
		client, prefix = dynamotest.New(t)
	})
	for _, tbl := range schema.Tables() {
		_, err := client.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(schema.PhysicalName(prefix, tbl.Name))})
		var notFound *types.ResourceNotFoundException
		if !errors.As(err, &notFound) {
			t.Errorf("table %s after its test ended: err = %v, want ResourceNotFoundException", tbl.Name, err)
		}
	}
}

// With DYNAMODB_ENDPOINT set, Main starts no server of its own.
func TestMainUsesDynamoDBEndpoint(t *testing.T) {
	if want := os.Getenv("DYNAMOTEST_WANT_ENDPOINT"); want != "" {
		// Running as the child.
		if got := dynamotest.Endpoint(); got != want {
			t.Fatalf("Endpoint() = %q, want %q from %s", got, want, dynamotest.EnvEndpoint)
		}
		dynamotest.New(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMainUsesDynamoDBEndpoint$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		dynamotest.EnvEndpoint+"="+dynamotest.Endpoint(),
		"DYNAMOTEST_WANT_ENDPOINT="+dynamotest.Endpoint())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
