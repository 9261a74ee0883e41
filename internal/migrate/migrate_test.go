package migrate_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/migrate"
	"github.com/pedsportal/messaging/internal/store"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// GIVEN conversation headers written before the Open index existed WHEN
// the migration runs THEN open ones join the index (and the summary), and
// a second run changes nothing.
func TestOpenIndexBackfill(t *testing.T) {
	client, prefix := dynamotest.New(t)
	tables := store.TablesWithPrefix(prefix)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, h := range []struct{ id, status string }{{"01KOLD0000000000000000000A", "open"}, {"01KOLD0000000000000000000B", "closed"}} {
		_, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(tables.Messages), Item: map[string]types.AttributeValue{
			"PK": s("pt-1"), "SK": s("CONV#" + h.id), "InboxPK": s("PRACTICE#p1"), "InboxSK": s(now + "#pt-1#" + h.id),
			"ActivitySK": s(now + "#" + h.id), "status": s(h.status), "messageCount": &types.AttributeValueMemberN{Value: "1"},
			"staffUnread": &types.AttributeValueMemberN{Value: "1"}, "lastActivityAt": s(now),
			"pool": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"id": s("pool-a"), "name": s("A")}},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	st := store.New(client, tables)
	before, err := st.OpenSummary(t.Context(), "p1", "me")
	if err != nil || before.Open != 0 {
		t.Fatalf("before: %+v %v", before, err)
	}
	for run, want := range []int{1, 0} {
		got := -1
		if err := migrate.Run(t.Context(), client, tables.Messages, func(_ string, n int) { got = n }); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("run %d changed %d items, want %d", run, got, want)
		}
	}
	after, err := st.OpenSummary(t.Context(), "p1", "me")
	if err != nil || after.Open != 1 || after.Unread != 1 || len(after.Pools) != 1 {
		t.Fatalf("after: %+v %v", after, err)
	}
}
