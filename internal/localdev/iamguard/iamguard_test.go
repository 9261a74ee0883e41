package iamguard

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/pedsportal/messaging/internal/grants"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

// fake records which calls reached it and answers them all.
type fake struct{ calls []string }

func (f *fake) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.calls = append(f.calls, "GetItem")
	return &dynamodb.GetItemOutput{}, nil
}

func (f *fake) BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	f.calls = append(f.calls, "BatchGetItem")
	return &dynamodb.BatchGetItemOutput{}, nil
}

func (f *fake) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.calls = append(f.calls, "PutItem")
	return &dynamodb.PutItemOutput{}, nil
}

func (f *fake) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	f.calls = append(f.calls, "UpdateItem")
	return &dynamodb.UpdateItemOutput{}, nil
}

func (f *fake) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	f.calls = append(f.calls, "DeleteItem")
	return &dynamodb.DeleteItemOutput{}, nil
}

func (f *fake) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	f.calls = append(f.calls, "Query")
	return &dynamodb.QueryOutput{}, nil
}

func (f *fake) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	f.calls = append(f.calls, "TransactWriteItems")
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

func phys(logical string) string { return "env-" + logical }

var headerAttrs = []string{"messageCount", "version", "status", "portalUnread", "staffUnread", schema.AttrActivitySK}

func guard(t *testing.T, name string) (*Guard, *fake) {
	t.Helper()
	f, ok := routes.FunctionNamed(name)
	if !ok {
		t.Fatalf("no function %s", name)
	}
	inner := &fake{}
	return New(inner, f, Config{
		Tables:           Tables(phys),
		UpdateAttributes: map[string][]string{schema.Messages: headerAttrs},
	}), inner
}

func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		schema.AttrPK: &types.AttributeValueMemberS{Value: pk},
		schema.AttrSK: &types.AttributeValueMemberS{Value: sk},
	}
}

// denied asserts err is an AccessDeniedException naming fn, action and table.
func denied(t *testing.T, err error, fn, action, table string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("err = %v, want an AccessDeniedException", err)
	}
	var d *Denied
	if !errors.As(err, &d) || d.Function != fn || d.Action != action || d.Table != table {
		t.Fatalf("denial = %+v, want %s %s %s", d, fn, action, table)
	}
	for _, s := range []string{fn, action, table} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q does not name %s", err.Error(), s)
		}
	}
	var oe *smithy.OperationError
	if !errors.As(err, &oe) || oe.ServiceID != "DynamoDB" {
		t.Errorf("not wrapped as an SDK operation error: %v", err)
	}
}

func TestTableOutsideTheGrantIsRefused(t *testing.T) {
	ctx := t.Context()
	g, inner := guard(t, routes.FnDirectory)
	_, err := g.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(phys(schema.Messages)), Key: key("p", "CONV#1")})
	denied(t, err, "directory", "dynamodb:GetItem", schema.Messages)
	_, err = g.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(phys(schema.Idempotency))})
	denied(t, err, "directory", "dynamodb:Query", schema.Idempotency)
	_, err = g.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("someone-elses-table")})
	denied(t, err, "directory", "dynamodb:GetItem", "someone-elses-table")
	if len(inner.calls) != 0 {
		t.Errorf("refused calls reached DynamoDB: %v", inner.calls)
	}
	// A granted read goes through.
	if _, err := g.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(phys(schema.Directory)), Key: key("STAFF#1", "PROFILE")}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(inner.calls, []string{"GetItem"}) {
		t.Errorf("calls = %v", inner.calls)
	}
}

func TestActionOutsideTheAccessLevelIsRefused(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		fn, action, table string
		call              func(g *Guard) error
	}{
		{routes.FnListConversations, grants.PutItem, schema.Messages, func(g *Guard) error {
			_, err := g.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(phys(schema.Messages)), Item: key("p", "CONV#1")})
			return err
		}},
		{routes.FnListConversations, grants.GetItem, schema.Audit, func(g *Guard) error {
			_, err := g.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(phys(schema.Audit)), Key: key("p", "x")})
			return err
		}},
		{routes.FnMarkRead, grants.PutItem, schema.Messages, func(g *Guard) error {
			_, err := g.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(phys(schema.Messages)), Item: key("p", "CONV#1")})
			return err
		}},
		{routes.FnWriteMessage, grants.DeleteItem, schema.Messages, func(g *Guard) error {
			_, err := g.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(phys(schema.Messages)), Key: key("p", "CONV#1")})
			return err
		}},
		{routes.FnWriteMessage, grants.UpdateItem, schema.Audit, func(g *Guard) error {
			_, err := g.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(phys(schema.Audit)), Key: key("p", "x"), UpdateExpression: aws.String("SET outcome = :o")})
			return err
		}},
		{routes.FnManageLinks, grants.DeleteItem, schema.Audit, func(g *Guard) error {
			_, err := g.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(phys(schema.Audit)), Key: key("p", "x")})
			return err
		}},
	}
	for _, tt := range tests {
		g, inner := guard(t, tt.fn)
		denied(t, tt.call(g), tt.fn, tt.action, tt.table)
		if len(inner.calls) != 0 {
			t.Errorf("%s %s reached DynamoDB", tt.fn, tt.action)
		}
	}
}

func TestQueryOnAnIndexIsAuthorisedOnTheIndex(t *testing.T) {
	ctx := t.Context()
	g, inner := guard(t, routes.FnInbox)
	for _, idx := range []string{schema.IndexInbox, schema.IndexOpen, schema.IndexByActivity} {
		if _, err := g.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(phys(schema.Messages)), IndexName: aws.String(idx)}); err != nil {
			t.Errorf("Query %s: %v", idx, err)
		}
	}
	_, err := g.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(phys(schema.Messages)), IndexName: aws.String("Everything")})
	denied(t, err, "staff-inbox", "dynamodb:Query", schema.Messages)
	// The audit table has no index, and staff-inbox may only append to it.
	_, err = g.Query(ctx, &dynamodb.QueryInput{TableName: aws.String(phys(schema.Audit)), IndexName: aws.String(schema.IndexInbox)})
	denied(t, err, "staff-inbox", "dynamodb:Query", schema.Audit)
	if len(inner.calls) != 3 {
		t.Errorf("calls = %v", inner.calls)
	}
}

func TestBatchGetItemNeedsEveryTable(t *testing.T) {
	ctx := t.Context()
	g, inner := guard(t, routes.FnDirectory)
	ka := types.KeysAndAttributes{Keys: []map[string]types.AttributeValue{key("p", "x")}}
	ok := &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{phys(schema.Directory): ka}}
	if _, err := g.BatchGetItem(ctx, ok); err != nil {
		t.Fatal(err)
	}
	mixed := &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{phys(schema.Directory): ka, phys(schema.Messages): ka}}
	_, err := g.BatchGetItem(ctx, mixed)
	denied(t, err, "directory", "dynamodb:BatchGetItem", schema.Messages)
	if len(inner.calls) != 1 {
		t.Errorf("calls = %v", inner.calls)
	}
}

func TestTransactionItemsAreEachAuthorised(t *testing.T) {
	ctx := t.Context()
	header := &types.Update{
		TableName: aws.String(phys(schema.Messages)), Key: key("p", "CONV#1"),
		UpdateExpression:         aws.String("SET #0 = :0 ADD #1 :1"),
		ConditionExpression:      aws.String("attribute_exists (#2)"),
		ExpressionAttributeNames: map[string]string{"#0": "staffUnread", "#1": "version", "#2": "messageCount"},
	}
	put := func(table string) types.TransactWriteItem {
		return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(phys(table)), Item: key("p", "x")}}
	}
	// write-message: header update, message put, idempotency put, audit put.
	g, inner := guard(t, routes.FnWriteMessage)
	tx := []types.TransactWriteItem{{Update: header}, put(schema.Messages), put(schema.Idempotency), put(schema.Audit)}
	if _, err := g.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx}); err != nil {
		t.Fatalf("write-message transaction: %v", err)
	}
	if len(inner.calls) != 1 {
		t.Errorf("calls = %v", inner.calls)
	}
	// mark-read may update the header and append the audit record, but
	// not put a message in the same transaction.
	g, inner = guard(t, routes.FnMarkRead)
	tx = []types.TransactWriteItem{{Update: header}, put(schema.Audit), put(schema.Messages)}
	_, err := g.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
	denied(t, err, "mark-read", "dynamodb:PutItem", schema.Messages)
	// A condition check is ConditionCheckItem, which nobody holds.
	cc := types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String(phys(schema.Messages)), Key: key("p", "CONV#1"), ConditionExpression: aws.String("attribute_exists(PK)")}}
	_, err = g.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Update: header}, cc}})
	denied(t, err, "mark-read", "dynamodb:ConditionCheckItem", schema.Messages)
	if len(inner.calls) != 0 {
		t.Errorf("refused transactions reached DynamoDB: %v", inner.calls)
	}
}

func TestManageLinksWritesOnlyPatientPartitions(t *testing.T) {
	ctx := t.Context()
	g, inner := guard(t, routes.FnManageLinks)
	del := func(pk string) error {
		_, err := g.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Delete: &types.Delete{TableName: aws.String(phys(schema.Directory)), Key: key(pk, "LINK#u1")}},
			{Put: &types.Put{TableName: aws.String(phys(schema.Audit)), Item: key("p1", "t")}},
		}})
		return err
	}
	if err := del("PATIENT#p1"); err != nil {
		t.Fatalf("unlink in a patient partition: %v", err)
	}
	denied(t, del("STAFF#s1"), "manage-links", "dynamodb:DeleteItem", schema.Directory)
	_, err := g.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(phys(schema.Directory)), Item: key("STAFF#s1", "PROFILE")})
	denied(t, err, "manage-links", "dynamodb:PutItem", schema.Directory)
	// Reads stay unconditioned: it reads staff records.
	if _, err := g.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(phys(schema.Directory)), Key: key("STAFF#s1", "PROFILE")}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(inner.calls, []string{"TransactWriteItems", "GetItem"}) {
		t.Errorf("calls = %v", inner.calls)
	}
}

func TestMessageUpdatesAreLimitedToHeaderAttributes(t *testing.T) {
	ctx := t.Context()
	g, inner := guard(t, routes.FnManageConversation)
	update := func(expr string, names map[string]string) error {
		_, err := g.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(phys(schema.Messages)), Key: key("p", "CONV#1"),
			UpdateExpression: aws.String(expr), ExpressionAttributeNames: names,
			ConditionExpression: aws.String("attribute_exists(messageCount) AND #v = :v"),
		})
		return err
	}
	if err := update("SET #s = :s, #v = if_not_exists(#v, :z) + :one REMOVE staffUnread", map[string]string{"#s": "status", "#v": "version"}); err != nil {
		t.Fatalf("header update: %v", err)
	}
	denied(t, update("SET #b = :b", map[string]string{"#b": "body", "#v": "version"}), "manage-conversation", "dynamodb:UpdateItem", schema.Messages)
	denied(t, update("SET body = :b", map[string]string{"#v": "version"}), "manage-conversation", "dynamodb:UpdateItem", schema.Messages)
	// A nested path counts as its top-level attribute only.
	if err := update("SET #s.detail = :d", map[string]string{"#s": "status", "#v": "version"}); err != nil {
		t.Fatalf("nested header update: %v", err)
	}
	if len(inner.calls) != 2 {
		t.Errorf("calls = %v", inner.calls)
	}
}

func TestTopLevelNames(t *testing.T) {
	got := topLevelNames("SET #0 = :0, a.b[1] = list_append(c, :1) ADD #1 :2 REMOVE #2.#3", map[string]string{"#0": "x", "#1": "y", "#2": "z", "#3": "nested"})
	if want := []string{"x", "a", "c", "y", "z"}; !slices.Equal(got, want) {
		t.Errorf("topLevelNames = %v, want %v", got, want)
	}
}

// preferences may update portal-user accounts, and of them only the
// channels: no other partition, no other attribute, no put or delete.
func TestPreferencesUpdatesOnlyPortalUserChannels(t *testing.T) {
	ctx := t.Context()
	g, inner := guard(t, routes.FnPreferences)
	update := func(pk, expr string, names map[string]string) error {
		_, err := g.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{TableName: aws.String(phys(schema.Directory)), Key: key(pk, "PROFILE"),
				UpdateExpression: aws.String(expr), ExpressionAttributeNames: names, ConditionExpression: aws.String("attribute_exists(PK)")}},
			{Put: &types.Put{TableName: aws.String(phys(schema.Audit)), Item: key("ACTOR#u1", "t")}},
		}})
		return err
	}
	if err := update("PORTALUSER#u1", "SET #n = :n", map[string]string{"#n": "notify"}); err != nil {
		t.Fatalf("channels update: %v", err)
	}
	// (the defaults give the store's list: Config named Messages only)
	denied(t, update("PORTALUSER#u1", "SET #a = :a", map[string]string{"#a": "active"}), "preferences", "dynamodb:UpdateItem", schema.Directory)
	denied(t, update("PORTALUSER#u1", "SET #n = :n, email = :e", map[string]string{"#n": "notify"}), "preferences", "dynamodb:UpdateItem", schema.Directory)
	denied(t, update("STAFF#s1", "SET #n = :n", map[string]string{"#n": "notify"}), "preferences", "dynamodb:UpdateItem", schema.Directory)
	denied(t, update("PATIENT#p1", "SET #n = :n", map[string]string{"#n": "notify"}), "preferences", "dynamodb:UpdateItem", schema.Directory)
	_, err := g.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(phys(schema.Directory)), Item: key("PORTALUSER#u1", "PROFILE")})
	denied(t, err, "preferences", "dynamodb:PutItem", schema.Directory)
	_, err = g.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(phys(schema.Messages)), Key: key("p", "CONV#1")})
	denied(t, err, "preferences", "dynamodb:GetItem", schema.Messages)
	if !slices.Equal(inner.calls, []string{"TransactWriteItems"}) {
		t.Errorf("calls = %v", inner.calls)
	}
	// manage-links' directory updates are not limited to those attributes.
	links, _ := guard(t, routes.FnManageLinks)
	if _, err := links.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(phys(schema.Directory)), Key: key("PATIENT#p1", "LINK#u1"),
		UpdateExpression: aws.String("SET relationship = :r")}); err != nil {
		t.Errorf("manage-links link update: %v", err)
	}
}

// ses-events marks a family's account and links, never a staff, pool or
// practice record, and never the audit trail or the chart.
func TestSESEventsWritesOnlyFamilyPartitions(t *testing.T) {
	ctx := t.Context()
	g, _ := guard(t, routes.FnSESEvents)
	update := func(pk, sk string) error {
		_, err := g.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(phys(schema.Directory)), Key: key(pk, sk),
			UpdateExpression: aws.String("SET unreachableEmail = :a")})
		return err
	}
	if err := update("PORTALUSER#u1", "PROFILE"); err != nil {
		t.Fatalf("the account: %v", err)
	}
	if err := update("PATIENT#p1", "LINK#u1"); err != nil {
		t.Fatalf("a link: %v", err)
	}
	for _, pk := range []string{"STAFF#s1", "POOL#p", "PRACTICE#x"} {
		denied(t, update(pk, "PROFILE"), "ses-events", "dynamodb:UpdateItem", schema.Directory)
	}
	_, err := g.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(phys(schema.Audit)), Item: key("p1", "t")})
	denied(t, err, "ses-events", "dynamodb:PutItem", schema.Audit)
}

// mark-read may change a side's unread count and read time, never an
// assignee, a pool or a turn: its list is the store's for it, as infra
// grants it.
func TestMarkReadUpdatesOnlyReadState(t *testing.T) {
	f, _ := routes.FunctionNamed(routes.FnMarkRead)
	g := New(&fake{}, f, Config{Tables: Tables(phys)})
	update := func(name string) error {
		_, err := g.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
			TableName: aws.String(phys(schema.Messages)), Key: key("p", "CONV#1"),
			UpdateExpression: aws.String("SET #a = :a"), ExpressionAttributeNames: map[string]string{"#a": name},
		})
		return err
	}
	if err := update("staffUnread"); err != nil {
		t.Fatalf("read state: %v", err)
	}
	for _, name := range []string{"assignee", "pool", "awaiting", "version", "status"} {
		denied(t, update(name), routes.FnMarkRead, "dynamodb:UpdateItem", schema.Messages)
	}
}
