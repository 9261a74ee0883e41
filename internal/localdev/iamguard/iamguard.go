// Package iamguard stands in locally for the IAM policy of one function.
// It wraps the DynamoDB client a function is given and refuses, before
// anything reaches DynamoDB, every call the function's role would be
// denied in AWS: a table the function is not granted, an action its access
// level does not include (package grants), a write outside the partitions
// it may write (dynamodb:LeadingKeys), an update of attributes it may not
// update (dynamodb:Attributes), and a Query on an index it may not query.
// Each item of a TransactWriteItems and each table of a BatchGetItem is
// checked on its own, as IAM authorises them.
//
// A refusal is shaped like DynamoDB's AccessDeniedException (a smithy API
// error inside an operation error), so the store treats it exactly as it
// would treat the real one, and the message names the function, the action
// and the table.
package iamguard

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/pedsportal/messaging/internal/grants"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
	"github.com/pedsportal/messaging/internal/store"
)

// Guard is a store.API that lets through only what one function's IAM
// policy allows.
type Guard struct {
	inner store.API
	fn    routes.Function
	// logical maps every physical table name the guard knows to its
	// logical name. A name it does not know is a table of no grant.
	logical map[string]string
	// updateAttrs lists, per logical table whose updates are limited to
	// some attributes, the attributes an UpdateItem may touch.
	updateAttrs map[string][]string
}

var _ store.API = (*Guard)(nil)

// Config names what the guard needs besides the function.
type Config struct {
	// Tables maps logical table names (package schema) to physical ones.
	// Give every table of the environment, granted or not, so that a
	// refusal names the logical table; a physical name that is missing
	// here is refused all the same.
	Tables map[string]string
	// UpdateAttributes lists, for a table on which grants limits the
	// function's updates to some attributes, the item attributes an
	// UpdateItem may touch besides the keys. A limited table missing here
	// gets the store's list, as infra grants it (DefaultUpdateAttributes).
	UpdateAttributes map[string][]string
}

// New wraps inner for the function f.
func New(inner store.API, f routes.Function, cfg Config) *Guard {
	g := &Guard{inner: inner, fn: f, logical: map[string]string{}, updateAttrs: map[string][]string{}}
	for logical, physical := range cfg.Tables {
		if physical != "" {
			g.logical[physical] = logical
		}
	}
	lists := DefaultUpdateAttributes(f.Name)
	for table, attrs := range cfg.UpdateAttributes {
		lists[table] = attrs
	}
	for table, attrs := range lists {
		if grants.UpdatesLimited(f.Name, table) {
			g.updateAttrs[table] = grants.UpdateAttributes(table, attrs)
		}
	}
	return g
}

// DefaultUpdateAttributes is the store's list of what a function's update
// may touch on each table whose updates grants may limit, as infra writes
// it into the IAM policies: conversation headers on Messages (the part
// mark-read or the escalator changes, for them), a portal user's
// notification channels on the directory.
func DefaultUpdateAttributes(function string) map[string][]string {
	return map[string][]string{
		schema.Messages:  store.HeaderAttributesFor(function),
		schema.Directory: store.PreferenceAttributes(),
	}
}

// Denied is the refusal of one action on one table. It satisfies
// smithy.APIError with the code AccessDeniedException.
type Denied struct {
	Function string
	Action   string // e.g. "dynamodb:PutItem"
	Table    string // logical name, or the physical one when unknown
	Index    string // the index a Query named, if any
	Reason   string
}

// ErrorCode is DynamoDB's code for an IAM denial.
func (d *Denied) ErrorCode() string { return "AccessDeniedException" }

// ErrorMessage says who may not do what, where, and why.
func (d *Denied) ErrorMessage() string {
	res := "table " + d.Table
	if d.Index != "" {
		res += " index " + d.Index
	}
	return fmt.Sprintf("function %s is not authorized to perform: %s on resource: %s because %s (local IAM guard)", d.Function, d.Action, res, d.Reason)
}

// ErrorFault is a client fault, as for the real exception.
func (d *Denied) ErrorFault() smithy.ErrorFault { return smithy.FaultClient }

func (d *Denied) Error() string { return "api error " + d.ErrorCode() + ": " + d.ErrorMessage() }

var _ smithy.APIError = (*Denied)(nil)

// deny wraps a refusal as the SDK wraps a service error.
func deny(op string, d *Denied) error {
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: op, Err: d}
}

// check decides one action on one table (index "" for the table's items).
// key is the item's key or the item itself for writes, nil for reads.
func (g *Guard) check(action, physical, index string, key map[string]types.AttributeValue) *Denied {
	table, known := g.logical[physical]
	d := &Denied{Function: g.fn.Name, Action: action, Table: physical, Index: index}
	if !known {
		d.Reason = "the table is not one of this environment's tables"
		return d
	}
	d.Table = table
	if _, ok := g.fn.Tables[table]; !ok {
		d.Reason = "the function is not granted this table"
		return d
	}
	if !grants.Allows(g.fn, table, action, index) {
		d.Reason = "no identity-based policy allows the " + action + " action"
		return d
	}
	if prefixes := grants.WritePartitionPrefixes(g.fn.Name, table); len(prefixes) > 0 && isWrite(action) {
		t, _ := grants.Table(table)
		pk, ok := key[t.PartitionKey.Name].(*types.AttributeValueMemberS)
		if !ok || !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(pk.Value, p) }) {
			d.Reason = "the function may write only partitions starting with " + strings.Join(prefixes, " or ") + " (dynamodb:LeadingKeys)"
			return d
		}
	}
	return nil
}

func isWrite(action string) bool {
	return action == grants.PutItem || action == grants.UpdateItem || action == grants.DeleteItem
}

// checkUpdate adds the attribute limit to check for an UpdateItem. The
// attributes counted are the key's and every top-level name in the update
// and condition expressions: at least what IAM's dynamodb:Attributes holds,
// so the guard is never more lenient than the policy.
func (g *Guard) checkUpdate(physical string, key map[string]types.AttributeValue, update, condition *string, names map[string]string) *Denied {
	if d := g.check(grants.UpdateItem, physical, "", key); d != nil {
		return d
	}
	table := g.logical[physical]
	allowed, limited := g.updateAttrs[table]
	if !limited {
		return nil
	}
	var touched []string
	for k := range key {
		touched = append(touched, k)
	}
	for _, expr := range []*string{update, condition} {
		if expr != nil {
			touched = append(touched, topLevelNames(*expr, names)...)
		}
	}
	for _, a := range touched {
		if !slices.Contains(allowed, a) {
			return &Denied{Function: g.fn.Name, Action: grants.UpdateItem, Table: table,
				Reason: fmt.Sprintf("attribute %q is not among those the function may update (dynamodb:Attributes)", a)}
		}
	}
	return nil
}

// GetItem implements store.API.
func (g *Guard) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if d := g.check(grants.GetItem, deref(in.TableName), "", nil); d != nil {
		return nil, deny("GetItem", d)
	}
	return g.inner.GetItem(ctx, in, opts...)
}

// BatchGetItem implements store.API: every table it names must allow it.
func (g *Guard) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	for _, table := range sortedKeys(in.RequestItems) {
		if d := g.check(grants.BatchGetItem, table, "", nil); d != nil {
			return nil, deny("BatchGetItem", d)
		}
	}
	return g.inner.BatchGetItem(ctx, in, opts...)
}

// PutItem implements store.API.
func (g *Guard) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if d := g.check(grants.PutItem, deref(in.TableName), "", in.Item); d != nil {
		return nil, deny("PutItem", d)
	}
	return g.inner.PutItem(ctx, in, opts...)
}

// UpdateItem implements store.API.
func (g *Guard) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if d := g.checkUpdate(deref(in.TableName), in.Key, in.UpdateExpression, in.ConditionExpression, in.ExpressionAttributeNames); d != nil {
		return nil, deny("UpdateItem", d)
	}
	return g.inner.UpdateItem(ctx, in, opts...)
}

// DeleteItem implements store.API.
func (g *Guard) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	if d := g.check(grants.DeleteItem, deref(in.TableName), "", in.Key); d != nil {
		return nil, deny("DeleteItem", d)
	}
	return g.inner.DeleteItem(ctx, in, opts...)
}

// Query implements store.API; a Query on an index is authorised on that
// index, not on the table.
func (g *Guard) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	if d := g.check(grants.Query, deref(in.TableName), deref(in.IndexName), nil); d != nil {
		return nil, deny("Query", d)
	}
	return g.inner.Query(ctx, in, opts...)
}

// TransactWriteItems implements store.API: each item is authorised as the
// single-item action it performs, on its own table, and one refusal
// refuses the whole transaction.
func (g *Guard) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		var d *Denied
		switch {
		case it.Put != nil:
			d = g.check(grants.PutItem, deref(it.Put.TableName), "", it.Put.Item)
		case it.Update != nil:
			u := it.Update
			d = g.checkUpdate(deref(u.TableName), u.Key, u.UpdateExpression, u.ConditionExpression, u.ExpressionAttributeNames)
		case it.Delete != nil:
			d = g.check(grants.DeleteItem, deref(it.Delete.TableName), "", it.Delete.Key)
		case it.ConditionCheck != nil:
			d = g.check(grants.ConditionCheckItem, deref(it.ConditionCheck.TableName), "", it.ConditionCheck.Key)
		default:
			d = &Denied{Function: g.fn.Name, Action: "dynamodb:TransactWriteItems", Table: "?", Reason: "a transaction item names no operation"}
		}
		if d != nil {
			return nil, deny("TransactWriteItems", d)
		}
	}
	return g.inner.TransactWriteItems(ctx, in, opts...)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// expressionWords are the keywords and functions of DynamoDB's condition
// and update expressions, which are not attribute names.
var expressionWords = map[string]bool{
	"set": true, "remove": true, "add": true, "delete": true,
	"and": true, "or": true, "not": true, "between": true, "in": true,
	"attribute_exists": true, "attribute_not_exists": true, "attribute_type": true,
	"begins_with": true, "contains": true, "size": true, "if_not_exists": true, "list_append": true,
}

// topLevelNames returns the top-level attribute names an expression
// touches: bare names and #placeholders (resolved through names) that do
// not follow a "." (a nested path's later parts). Unresolvable
// placeholders are returned as written, so that they are refused.
func topLevelNames(expr string, names map[string]string) []string {
	var out []string
	isName := func(c byte) bool {
		return c == '_' || c == '#' || c == ':' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	for i := 0; i < len(expr); {
		if !isName(expr[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(expr) && isName(expr[j]) && expr[j] != '#' && expr[j] != ':' {
			j++
		}
		tok := expr[i:j]
		nested := i > 0 && expr[i-1] == '.'
		switch {
		case nested, tok[0] == ':', tok[0] >= '0' && tok[0] <= '9':
		case tok[0] == '#':
			if n, ok := names[tok]; ok {
				out = append(out, n)
			} else {
				out = append(out, tok)
			}
		case expressionWords[strings.ToLower(tok)]:
		default:
			out = append(out, tok)
		}
		i = j
	}
	return out
}

// Tables returns the logical-to-physical map of every schema table named
// by physical, for Config.Tables.
func Tables(physical func(logical string) string) map[string]string {
	out := map[string]string{}
	for _, t := range schema.Tables() {
		out[t.Name] = physical(t.Name)
	}
	return out
}
