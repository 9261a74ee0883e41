// Package calltrace records the DynamoDB calls an operation makes: which,
// when each started and ended, and the capacity units DynamoDB says it
// consumed. From the times it derives the sequential round trips on the
// critical path. The benchmark prints these figures and a test holds the
// README's table to them.
package calltrace

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/store"
)

// Call is one recorded DynamoDB call.
type Call struct {
	Op         string
	Start, End time.Time
	// Capacity is the read plus write capacity units DynamoDB reported.
	Capacity float64
	// In is the request as sent (*dynamodb.GetItemInput, ...), so that a
	// benchmark can replay the same sequence straight through the SDK.
	In any
}

// Recorder wraps a DynamoDB client. Delay, when set, is added to every
// call before it is sent, so that calls issued together overlap for sure
// and the round-trip count does not depend on how fast the server is.
type Recorder struct {
	store.API
	Delay time.Duration

	mu    sync.Mutex
	calls []Call
}

var _ store.API = (*Recorder)(nil)

// Reset forgets the calls recorded so far.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.calls = nil
	r.mu.Unlock()
}

// Calls returns the calls recorded since the last Reset, by start time.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.calls)
	slices.SortFunc(out, func(a, b Call) int { return a.Start.Compare(b.Start) })
	return out
}

// RoundTrips is the number of sequential round trips among calls: a call
// that starts after every earlier call has ended begins a new one.
func RoundTrips(calls []Call) int {
	n := 0
	var end time.Time
	for _, c := range calls {
		if n == 0 || c.Start.After(end) {
			n++
		}
		if c.End.After(end) {
			end = c.End
		}
	}
	return n
}

// Capacity sums the capacity units of calls.
func Capacity(calls []Call) float64 {
	total := 0.0
	for _, c := range calls {
		total += c.Capacity
	}
	return total
}

func record[O any](ctx context.Context, r *Recorder, op string, in any, send func() (O, error), capacity func(O) []types.ConsumedCapacity) (O, error) {
	start := time.Now()
	if r.Delay > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(r.Delay):
		}
	}
	out, err := send()
	c := Call{Op: op, Start: start, End: time.Now(), In: in}
	if err == nil {
		for _, cc := range capacity(out) {
			c.Capacity += aws.ToFloat64(cc.CapacityUnits)
		}
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return out, err
}

func one(cc *types.ConsumedCapacity) []types.ConsumedCapacity {
	if cc == nil {
		return nil
	}
	return []types.ConsumedCapacity{*cc}
}

// GetItem records a GetItem.
func (r *Recorder) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	return record(ctx, r, "GetItem", in, func() (*dynamodb.GetItemOutput, error) { return r.API.GetItem(ctx, in, o...) },
		func(out *dynamodb.GetItemOutput) []types.ConsumedCapacity { return one(out.ConsumedCapacity) })
}

// BatchGetItem records a BatchGetItem.
func (r *Recorder) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	return record(ctx, r, "BatchGetItem", in, func() (*dynamodb.BatchGetItemOutput, error) { return r.API.BatchGetItem(ctx, in, o...) },
		func(out *dynamodb.BatchGetItemOutput) []types.ConsumedCapacity { return out.ConsumedCapacity })
}

// PutItem records a PutItem.
func (r *Recorder) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	return record(ctx, r, "PutItem", in, func() (*dynamodb.PutItemOutput, error) { return r.API.PutItem(ctx, in, o...) },
		func(out *dynamodb.PutItemOutput) []types.ConsumedCapacity { return one(out.ConsumedCapacity) })
}

// UpdateItem records an UpdateItem.
func (r *Recorder) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	return record(ctx, r, "UpdateItem", in, func() (*dynamodb.UpdateItemOutput, error) { return r.API.UpdateItem(ctx, in, o...) },
		func(out *dynamodb.UpdateItemOutput) []types.ConsumedCapacity { return one(out.ConsumedCapacity) })
}

// DeleteItem records a DeleteItem.
func (r *Recorder) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	return record(ctx, r, "DeleteItem", in, func() (*dynamodb.DeleteItemOutput, error) { return r.API.DeleteItem(ctx, in, o...) },
		func(out *dynamodb.DeleteItemOutput) []types.ConsumedCapacity { return one(out.ConsumedCapacity) })
}

// Query records a Query.
func (r *Recorder) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	return record(ctx, r, "Query", in, func() (*dynamodb.QueryOutput, error) { return r.API.Query(ctx, in, o...) },
		func(out *dynamodb.QueryOutput) []types.ConsumedCapacity { return one(out.ConsumedCapacity) })
}

// TransactWriteItems records a TransactWriteItems.
func (r *Recorder) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	in.ReturnConsumedCapacity = types.ReturnConsumedCapacityTotal
	return record(ctx, r, "TransactWriteItems", in, func() (*dynamodb.TransactWriteItemsOutput, error) { return r.API.TransactWriteItems(ctx, in, o...) },
		func(out *dynamodb.TransactWriteItemsOutput) []types.ConsumedCapacity { return out.ConsumedCapacity })
}
