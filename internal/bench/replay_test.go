package bench

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/localdev/officeclock"
	"github.com/pedsportal/messaging/internal/store"
)

// replay is a DynamoDB client that answers each call with what DynamoDB
// Local answered the same kind of call in a recorded run of the
// operation, at no latency: what is left of an operation's time is our
// own code's (and the SDK's request building and response handling above
// the wire).
type replay struct {
	store.API // the real client, only for recording
	mu        sync.Mutex
	recording bool
	answers   map[string][]any // per kind of call, in the order they came
	next      map[string]int
}

// begin starts an operation: recording starts its answers afresh,
// replaying starts them over.
func (r *replay) begin() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.recording {
		r.answers = map[string][]any{}
	}
	r.next = map[string]int{}
}

func (r *replay) answer(op string, real func() (any, error)) (any, error) {
	if r.recording {
		out, err := real()
		if err == nil {
			r.mu.Lock()
			r.answers[op] = append(r.answers[op], out)
			r.mu.Unlock()
		}
		return out, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	outs := r.answers[op]
	if len(outs) == 0 {
		return nil, fmt.Errorf("replay: no recorded %s", op)
	}
	out := outs[r.next[op]%len(outs)]
	r.next[op]++
	return out, nil
}

func (r *replay) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := r.answer("GetItem", func() (any, error) { return r.API.GetItem(ctx, in, o...) })
	v, _ := out.(*dynamodb.GetItemOutput)
	return v, err
}

func (r *replay) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	// Reads that run together (the access read and a data read) are told
	// apart by what they ask for, not by which came first.
	out, err := r.answer("BatchGetItem "+batchKeys(in), func() (any, error) { return r.API.BatchGetItem(ctx, in, o...) })
	v, _ := out.(*dynamodb.BatchGetItemOutput)
	return v, err
}

// batchKeys names what a BatchGetItem asks for: tables and keys, sorted.
func batchKeys(in *dynamodb.BatchGetItemInput) string {
	var ks []string
	for table, ka := range in.RequestItems {
		for _, k := range ka.Keys {
			pk, _ := k["PK"].(*types.AttributeValueMemberS)
			sk, _ := k["SK"].(*types.AttributeValueMemberS)
			if pk != nil && sk != nil {
				ks = append(ks, table+"/"+pk.Value+"/"+sk.Value)
			}
		}
	}
	slices.Sort(ks)
	return strings.Join(ks, ",")
}

// queryKey names what a Query asks for: table, index, key condition,
// values and start key.
func queryKey(in *dynamodb.QueryInput) string {
	parts := []string{aws.ToString(in.TableName), aws.ToString(in.IndexName), aws.ToString(in.KeyConditionExpression)}
	for _, m := range []map[string]types.AttributeValue{in.ExpressionAttributeValues, in.ExclusiveStartKey} {
		var kv []string
		for k, v := range m {
			if s, ok := v.(*types.AttributeValueMemberS); ok {
				kv = append(kv, k+"="+s.Value)
			}
		}
		slices.Sort(kv)
		parts = append(parts, strings.Join(kv, ","))
	}
	return strings.Join(parts, "|")
}

func (r *replay) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := r.answer("PutItem", func() (any, error) { return r.API.PutItem(ctx, in, o...) })
	v, _ := out.(*dynamodb.PutItemOutput)
	return v, err
}

func (r *replay) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	out, err := r.answer("UpdateItem", func() (any, error) { return r.API.UpdateItem(ctx, in, o...) })
	v, _ := out.(*dynamodb.UpdateItemOutput)
	return v, err
}

func (r *replay) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	out, err := r.answer("DeleteItem", func() (any, error) { return r.API.DeleteItem(ctx, in, o...) })
	v, _ := out.(*dynamodb.DeleteItemOutput)
	return v, err
}

func (r *replay) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	// Queries that run together (a download reads 16 chains at once) are
	// told apart by what they ask for too.
	out, err := r.answer("Query "+queryKey(in), func() (any, error) { return r.API.Query(ctx, in, o...) })
	v, _ := out.(*dynamodb.QueryOutput)
	return v, err
}

func (r *replay) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	out, err := r.answer("TransactWriteItems", func() (any, error) { return r.API.TransactWriteItems(ctx, in, o...) })
	v, _ := out.(*dynamodb.TransactWriteItemsOutput)
	return v, err
}

// BenchmarkOperationsCPU runs each read scenario and the writes that need
// no preparation through the real handlers over a client that replays
// DynamoDB Local's recorded answers at no latency, and reports our code's
// time and allocations per operation. (The figures are for
// the demo data's shapes; calls asking for the same thing are answered in
// the order they were recorded.) cpu-µs/op is the process's CPU time per
// operation, the steadier figure on a shared machine.
func BenchmarkOperationsCPU(b *testing.B) {
	h := newHarness(b, 0)
	for _, s := range Scenarios() {
		if s.Prepare != nil {
			continue
		}
		b.Run(s.Name, func(b *testing.B) {
			r := &replay{API: h.rec.API, recording: true}
			codec, _ := cursor.New([]byte("bench-bench-bench-bench-bench-32"))
			deps := api.Deps{
				Store: store.New(r, h.tables), Cursors: codec, LinkKey: LinkKey, Audiences: auds,
				Log: slog.New(slog.DiscardHandler), DailyWriteLimit: 1 << 30, Now: officeclock.Open(), Blobs: Blobs(),
			}
			handler := api.Constructors[s.Function()](deps)
			call := func() {
				r.begin()
				resp, err := handler(context.Background(), s.Event(h.claims))
				if err != nil {
					b.Fatal(err)
				}
				if err := s.Check(resp.StatusCode, resp.Body); err != nil {
					b.Fatal(err)
				}
			}
			call() // record (and warm the function's caches)
			call()
			r.recording = false
			b.ReportAllocs()
			defer CPUPerOp(b)()
			for b.Loop() {
				call()
			}
		})
	}
}
