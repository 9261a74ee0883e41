package iamguard

import (
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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
