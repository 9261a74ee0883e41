package store

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Fixed expressions.
//
// The SDK's expression builder aliases every name, encodes every value
// and assembles the text on each Build: more than half of a reply's
// allocations. Yet the text of a hot path's expression depends only on a
// few choices, its shape. So those expressions are built with the same
// builder code once per shape, with each value replaced by the marker of
// a numbered slot; a later call of that shape fills the slots and reuses
// the text and names. The writes take them (a reply, a read mark, the
// daily counter); a read's key condition is small next to decoding its
// items, and building it fixed would put export-chart over its 8 MB.

// A slot numbers one value of a fixed expression.
type slot int

// A binder gives the value operands of an expression as it is built.
type binder interface {
	val(s slot, v any) expression.ValueBuilder
}

// plain puts each value itself into an expression built on every call.
type plain struct{}

func (plain) val(_ slot, v any) expression.ValueBuilder { return expression.Value(v) }

// filling is one call of a fixed expression: it keeps each value,
// encoded, in its slot, and puts the slot's marker into the expression.
type filling struct{ slots []types.AttributeValue }

func newFilling(n slot) *filling { return &filling{make([]types.AttributeValue, n)} }

func (f *filling) val(s slot, v any) expression.ValueBuilder {
	f.slots[s] = encodeValue(v)
	return markers[s]
}

// maxSlots bounds the values of one fixed expression.
const maxSlots = 20

const markerPrefix = "\x00slot:"

var markers = func() (m [maxSlots]expression.ValueBuilder) {
	for i := range m {
		m[i] = expression.Value(markerPrefix + strconv.Itoa(i))
	}
	return m
}()

// encodeValue encodes v as expression.Value would (attributevalue's
// defaults), without reflection for the kinds the hot paths use.
func encodeValue(v any) types.AttributeValue {
	switch x := v.(type) {
	case string:
		return &types.AttributeValueMemberS{Value: x}
	case int:
		return &types.AttributeValueMemberN{Value: strconv.Itoa(x)}
	case int64:
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(x, 10)}
	case time.Time:
		return &types.AttributeValueMemberS{Value: x.Format(time.RFC3339Nano)}
	}
	av, err := attributevalue.Marshal(v)
	if err != nil {
		// The hot paths give only strings, numbers and times; a value
		// that cannot be encoded is a programming error the tests catch.
		panic(fmt.Sprintf("store: encode %T for a fixed expression: %v", v, err))
	}
	return av
}

// A fixedExpr is an expression's text and names, built once, and which
// slot each value placeholder holds.
type fixedExpr struct {
	update, cond *string
	names        map[string]string
	slots        map[string]slot
}

// shapes caches the fixed expressions of one kind by shape, a comparable
// value. A kind has a few dozen shapes at most, so the cache needs no
// bound. (Not generic: one copy of get in every bootstrap, not one per
// kind, keeps export-chart under its size budget.)
type shapes struct{ m sync.Map }

// get returns the fixed expression of shape k. On the first call of a
// shape it builds b, the builder as the caller assembled it with a
// filling binder.
func (c *shapes) get(k any, b expression.Builder) (*fixedExpr, error) {
	if f, ok := c.m.Load(k); ok {
		return f.(*fixedExpr), nil
	}
	expr, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("build expression: %w", err)
	}
	f := &fixedExpr{
		update: expr.Update(), cond: expr.Condition(),
		names: expr.Names(), slots: make(map[string]slot, len(expr.Values())),
	}
	for p, av := range expr.Values() {
		s, ok := av.(*types.AttributeValueMemberS)
		if !ok || !strings.HasPrefix(s.Value, markerPrefix) {
			return nil, fmt.Errorf("expression value %s is not bound to a slot", p)
		}
		n, err := strconv.Atoi(strings.TrimPrefix(s.Value, markerPrefix))
		if err != nil {
			return nil, fmt.Errorf("expression value %s: %w", p, err)
		}
		f.slots[p] = slot(n)
	}
	got, _ := c.m.LoadOrStore(k, f)
	return got.(*fixedExpr), nil
}

// values is the ExpressionAttributeValues of one call.
func (f *fixedExpr) values(fill *filling) map[string]types.AttributeValue {
	if len(f.slots) == 0 {
		return nil
	}
	m := make(map[string]types.AttributeValue, len(f.slots))
	for p, s := range f.slots {
		m[p] = fill.slots[s]
	}
	return m
}

// ready is an update's expression as a request takes it.
type ready struct {
	update, cond *string
	names        map[string]string
	values       map[string]types.AttributeValue
}

// with is f as one call fills it.
func (f *fixedExpr) with(fill *filling) ready {
	return ready{update: f.update, cond: f.cond, names: f.names, values: f.values(fill)}
}

// readyOf is an expression built on this call.
func readyOf(e expression.Expression) ready {
	return ready{update: e.Update(), cond: e.Condition(), names: e.Names(), values: e.Values()}
}
