package store_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

// GIVEN the demo chart in DynamoDB Local WHEN every header is decoded both
// ways THEN they are equal: the lists answer byte for byte as before.
func TestDecodeHeaderOnTheDemoData(t *testing.T) {
	client, prefix := dynamotest.New(t)
	tables := store.TablesWithPrefix(prefix)
	s := store.New(client, tables)
	if err := seed.Directory(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if err := seed.Conversations(t.Context(), s, time.Now()); err != nil {
		t.Fatal(err)
	}
	out, err := client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(tables.Messages)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range out.Items {
		gj, wj, header, err := store.HeaderJSONBothWays(m)
		if err != nil {
			t.Fatal(err)
		}
		if !header {
			continue
		}
		n++
		if gj != wj {
			t.Fatalf("demo header decodes differently:\n%s\n%s", gj, wj)
		}
	}
	if n < 5 {
		t.Fatalf("%d demo headers, want the seed's", n)
	}
}
