package iamguard

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
	"github.com/pedsportal/messaging/internal/store"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// A function that reaches for a table outside its grant fails locally, as
// it would in AWS, while its granted calls reach the real DynamoDB Local.
func TestAgainstDynamoDBLocalAFunctionCannotLeaveItsGrant(t *testing.T) {
	ctx := t.Context()
	client, prefix := dynamotest.New(t)
	name := func(logical string) string { return schema.PhysicalName(prefix, logical) }
	dir, _ := routes.FunctionNamed(routes.FnDirectory)
	g := New(client, dir, Config{Tables: Tables(name)})

	// GIVEN the directory function, which reads the directory and appends
	// audit records, WHEN it writes the Messages table
	item := map[string]types.AttributeValue{
		schema.AttrPK: &types.AttributeValueMemberS{Value: "p1"},
		schema.AttrSK: &types.AttributeValueMemberS{Value: "CONV#forged"},
	}
	_, err := g.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name(schema.Messages)), Item: item})
	// THEN it is refused as IAM refuses it, naming function, action, table
	denied(t, err, "directory", "dynamodb:PutItem", schema.Messages)
	// AND nothing was written
	got, err := client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name(schema.Messages)), Key: item, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if got.Item != nil {
		t.Fatalf("the refused put reached DynamoDB: %v", got.Item)
	}

	// AND through the store, a refused read is a dependency failure (503),
	// never data: the directory function may append audit records but not
	// read them back.
	st := store.New(g, store.TablesFrom(name))
	if _, err := st.AuditTrail(ctx, "p1"); domain.ErrorCode(err) != domain.EUnavailable {
		t.Fatalf("AuditTrail through the guard: %v (code %s), want unavailable", err, domain.ErrorCode(err))
	} else {
		var d *Denied
		if !errors.As(err, &d) || d.Table != schema.Audit || d.Action != "dynamodb:Query" {
			t.Fatalf("denial = %+v", d)
		}
	}

	// AND what it is granted reaches DynamoDB Local and succeeds.
	if _, err := g.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name(schema.Audit)), Item: item}); err != nil {
		t.Fatalf("granted audit put: %v", err)
	}
	if _, err := g.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(name(schema.Directory)), IndexName: aws.String(schema.IndexByPortalUser),
		KeyConditionExpression:    aws.String("GSI1PK = :u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": &types.AttributeValueMemberS{Value: "PORTALUSER#u1"}},
	}); err != nil {
		t.Fatalf("granted index query: %v", err)
	}
}

// Through the real store on DynamoDB Local, what the preferences function
// does passes its guard: the access read and the audited change of
// channels.
func TestPreferencesStoreCallsPassTheGuard(t *testing.T) {
	ctx := t.Context()
	client, prefix := dynamotest.New(t)
	name := func(logical string) string { return schema.PhysicalName(prefix, logical) }
	f, _ := routes.FunctionNamed(routes.FnPreferences)
	owner := store.New(client, store.TablesFrom(name))
	if err := owner.PutPortalUser(ctx, domain.PortalUser{ID: "u1", PracticeID: "prac", DisplayName: "U", Active: true, Email: "u@example.com"}); err != nil {
		t.Fatal(err)
	}
	st := store.New(New(client, f, Config{Tables: Tables(name)}), store.TablesFrom(name))
	if _, err := st.LoadAccess(ctx, authz.Query{PortalUserID: "u1"}); err != nil {
		t.Fatalf("access read: %v", err)
	}
	rec := audit.Record{At: time.Now(), ActorID: "u1", Action: audit.NotifyPreferences, Outcome: audit.Success, RequestID: "r1"}
	if err := st.SetNotifyAudited(ctx, "u1", domain.Channels{}, rec); err != nil {
		t.Fatalf("audited change of channels through the guard: %v", err)
	}
}

// The practice-wide search index is the directory function's alone: a
// function that reads the directory for one patient's chart, or changes
// links, is refused a Query on it, as its IAM policy refuses it.
func TestOnlyTheDirectoryFunctionQueriesTheSearchIndex(t *testing.T) {
	ctx := t.Context()
	client, prefix := dynamotest.New(t)
	name := func(logical string) string { return schema.PhysicalName(prefix, logical) }
	q := &dynamodb.QueryInput{
		TableName: aws.String(name(schema.Directory)), IndexName: aws.String(schema.IndexSearch),
		KeyConditionExpression:    aws.String("SearchPK = :p"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "SEARCH#prac#patient-name"}},
	}
	for _, tc := range []struct {
		fn      string
		allowed bool
	}{
		{routes.FnDirectory, true},
		{routes.FnManageLinks, false},
		{routes.FnListConversations, false},
		{routes.FnNotifier, false},
	} {
		f, _ := routes.FunctionNamed(tc.fn)
		_, err := New(client, f, Config{Tables: Tables(name)}).Query(ctx, q)
		if tc.allowed && err != nil {
			t.Errorf("%s: granted search query refused: %v", tc.fn, err)
		}
		if !tc.allowed {
			denied(t, err, tc.fn, "dynamodb:Query", schema.Directory)
		}
	}
}
