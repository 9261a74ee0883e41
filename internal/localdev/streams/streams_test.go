package streams_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/localdev/streams"
	"github.com/pedsportal/messaging/internal/schema"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// recorder is a handler that keeps every batch it was given and answers
// with what decide says.
type recorder struct {
	mu      sync.Mutex
	batches []events.DynamoDBEvent
	lambda  []*lambdacontext.LambdaContext
	dead    []streams.DeadLetter
	decide  func(events.DynamoDBEvent, int) (events.DynamoDBEventResponse, error)
	changed chan struct{}
}

func newRecorder(decide func(events.DynamoDBEvent, int) (events.DynamoDBEventResponse, error)) *recorder {
	if decide == nil {
		decide = func(events.DynamoDBEvent, int) (events.DynamoDBEventResponse, error) {
			return events.DynamoDBEventResponse{}, nil
		}
	}
	return &recorder{decide: decide, changed: make(chan struct{}, 1000)}
}

func (r *recorder) handle(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	lc, _ := lambdacontext.FromContext(ctx)
	r.mu.Lock()
	r.batches = append(r.batches, ev)
	r.lambda = append(r.lambda, lc)
	n := len(r.batches)
	r.mu.Unlock()
	defer func() { r.changed <- struct{}{} }()
	return r.decide(ev, n)
}

func (r *recorder) deadLetter(dl streams.DeadLetter) {
	r.mu.Lock()
	r.dead = append(r.dead, dl)
	r.mu.Unlock()
	r.changed <- struct{}{}
}

// waitFor waits until cond holds (checked under the lock after every
// invocation) or fails the test after 15 s.
func (r *recorder) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		r.mu.Lock()
		ok := cond()
		r.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-r.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("timed out waiting for %s; batches: %v", what, ids(r.batches))
		}
	}
}

// deliveries counts how often each item ID (the "id" attribute) was
// delivered.
func (r *recorder) deliveries() map[string]int {
	out := map[string]int{}
	for _, b := range r.batches {
		for _, rec := range b.Records {
			out[rec.Change.NewImage["id"].String()]++
		}
	}
	return out
}

// ids is each batch's item IDs, for failure messages.
func ids(batches []events.DynamoDBEvent) [][]string {
	var out [][]string
	for _, b := range batches {
		var l []string
		for _, rec := range b.Records {
			l = append(l, rec.Change.NewImage["id"].String())
		}
		out = append(out, l)
	}
	return out
}

type env struct {
	client *dynamodb.Client
	table  string
}

func newEnv(t *testing.T) env {
	client, prefix := dynamotest.New(t)
	return env{client: client, table: schema.PhysicalName(prefix, schema.Messages)}
}

func (e env) start(t *testing.T, r *recorder, opts streams.Options) *streams.Poller {
	t.Helper()
	opts.Endpoint = dynamotest.Endpoint()
	opts.Table = e.table
	opts.Handler = r.handle
	opts.OnDeadLetter = r.deadLetter
	opts.Logger = quiet
	if opts.Poll == 0 {
		opts.Poll = 20 * time.Millisecond
	}
	p, err := streams.Start(t.Context(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	// Registered after dynamotest.New, so it runs before the tables go.
	t.Cleanup(p.Stop)
	return p
}

func item(id string, extra map[string]types.AttributeValue) map[string]types.AttributeValue {
	it := map[string]types.AttributeValue{
		schema.AttrPK: &types.AttributeValueMemberS{Value: "PATIENT#p-1"},
		schema.AttrSK: &types.AttributeValueMemberS{Value: "CONV#c-1#MSG#" + id},
		"id":          &types.AttributeValueMemberS{Value: id},
	}
	for k, v := range extra {
		it[k] = v
	}
	return it
}

func (e env) put(t *testing.T, it map[string]types.AttributeValue) {
	t.Helper()
	if _, err := e.client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: it}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
}

// putAll writes items in one transaction, as the app writes a message with
// its header and audit record.
func (e env) putAll(t *testing.T, itemIDs ...string) {
	t.Helper()
	var tx []types.TransactWriteItem
	for _, id := range itemIDs {
		tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(e.table), Item: item(id, nil)}})
	}
	if _, err := e.client.TransactWriteItems(t.Context(), &dynamodb.TransactWriteItemsInput{TransactItems: tx}); err != nil {
		t.Fatalf("TransactWriteItems: %v", err)
	}
}

// GIVEN a poller started at LATEST WHEN an item is put THEN the handler gets
// one INSERT shaped as Lambda delivers it, with the new image, and nothing
// written before the start.
func TestPutItemDeliversOneInsert(t *testing.T) {
	e := newEnv(t)
	e.put(t, item("before", nil))
	r := newRecorder(nil)
	p := e.start(t, r, streams.Options{})

	e.put(t, item("m-1", map[string]types.AttributeValue{
		"n":     &types.AttributeValueMemberN{Value: "42"},
		"ok":    &types.AttributeValueMemberBOOL{Value: true},
		"none":  &types.AttributeValueMemberNULL{Value: true},
		"bin":   &types.AttributeValueMemberB{Value: []byte{0, 1, 2, 255}},
		"tags":  &types.AttributeValueMemberSS{Value: []string{"a", "b"}},
		"nums":  &types.AttributeValueMemberNS{Value: []string{"1", "2"}},
		"list":  &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberS{Value: "x"}, &types.AttributeValueMemberN{Value: "7"}}},
		"inner": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"k": &types.AttributeValueMemberS{Value: "v"}}},
	}))
	r.waitFor(t, "one batch", func() bool { return len(r.batches) >= 1 })
	time.Sleep(100 * time.Millisecond) // nothing else may follow

	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.batches) != 1 || len(r.batches[0].Records) != 1 {
		t.Fatalf("batches = %v, want one batch with m-1 only", ids(r.batches))
	}
	rec := r.batches[0].Records[0]
	checks := []struct{ what, got, want string }{
		{"eventName", rec.EventName, "INSERT"},
		{"eventSource", rec.EventSource, "aws:dynamodb"},
		{"eventVersion", rec.EventVersion, "1.1"},
		{"awsRegion", rec.AWSRegion, "us-east-1"},
		{"eventSourceARN", rec.EventSourceArn, p.StreamARN()},
		{"StreamViewType", rec.Change.StreamViewType, "NEW_IMAGE"},
		{"Keys.PK", rec.Change.Keys[schema.AttrPK].String(), "PATIENT#p-1"},
		{"Keys.SK", rec.Change.Keys[schema.AttrSK].String(), "CONV#c-1#MSG#m-1"},
		{"NewImage.id", rec.Change.NewImage["id"].String(), "m-1"},
		{"NewImage.n", rec.Change.NewImage["n"].Number(), "42"},
		{"NewImage.bin", string(rec.Change.NewImage["bin"].Binary()), string([]byte{0, 1, 2, 255})},
		{"NewImage.tags", slicesJoin(rec.Change.NewImage["tags"].StringSet()), "a,b"},
		{"NewImage.nums", slicesJoin(rec.Change.NewImage["nums"].NumberSet()), "1,2"},
		{"NewImage.list[1]", rec.Change.NewImage["list"].List()[1].Number(), "7"},
		{"NewImage.inner.k", rec.Change.NewImage["inner"].Map()["k"].String(), "v"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if !rec.Change.NewImage["ok"].Boolean() || !rec.Change.NewImage["none"].IsNull() {
		t.Errorf("BOOL or NULL lost: %+v", rec.Change.NewImage)
	}
	if rec.EventID == "" || rec.Change.SequenceNumber == "" || rec.Change.SizeBytes <= 0 {
		t.Errorf("eventID %q, SequenceNumber %q, SizeBytes %d: want all set", rec.EventID, rec.Change.SequenceNumber, rec.Change.SizeBytes)
	}
	if len(rec.Change.OldImage) != 0 {
		t.Errorf("OldImage on a NEW_IMAGE stream: %v", rec.Change.OldImage)
	}
	if lc := r.lambda[0]; lc == nil || lc.AwsRequestID == "" || lc.InvokedFunctionArn == "" {
		t.Errorf("Lambda context = %+v, want a request ID and function ARN", lc)
	}
}

func slicesJoin(s []string) string {
	slices.Sort(s)
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}

// seqOf is the sequence number of the record for item id in ev.
func seqOf(ev events.DynamoDBEvent, id string) string {
	for _, rec := range ev.Records {
		if rec.Change.NewImage["id"].String() == id {
			return rec.Change.SequenceNumber
		}
	}
	return ""
}

// GIVEN a batch of three WHEN the handler reports the second failed, once
// THEN the batch is retried from that record: the first is not delivered
// again, the second (and what follows it) is, and nothing is dead-lettered.
func TestPartialBatchFailureRetriesFromTheFailedRecord(t *testing.T) {
	e := newEnv(t)
	e.putAll(t, "a", "b", "c")
	failed := false
	r := newRecorder(func(ev events.DynamoDBEvent, _ int) (events.DynamoDBEventResponse, error) {
		if seq := seqOf(ev, "b"); seq != "" && !failed {
			failed = true
			return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: seq}}}, nil
		}
		return events.DynamoDBEventResponse{}, nil
	})
	e.start(t, r, streams.Options{StartingPosition: streams.TrimHorizon})
	r.waitFor(t, "c delivered after b's retry", func() bool { return r.deliveries()["b"] == 2 && r.deliveries()["c"] >= 1 })
	time.Sleep(200 * time.Millisecond)

	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.deliveries()
	if got["a"] != 1 || got["b"] != 2 {
		t.Errorf("deliveries = %v, want a once and b twice (batches %v)", got, ids(r.batches))
	}
	// The retry starts at the failed record.
	for _, b := range r.batches[1:] {
		if first := b.Records[0].Change.NewImage["id"].String(); first == "a" {
			t.Errorf("a retried after it succeeded: batches %v", ids(r.batches))
		}
	}
	if len(r.dead) != 0 {
		t.Errorf("dead letters = %+v, want none", r.dead)
	}
}

// GIVEN a record the handler always reports failed WHEN the retries run out
// THEN it is dead-lettered after 1+MaxRetries invocations, by event ID, and
// records written later still flow.
func TestAlwaysFailingRecordIsDeadLettered(t *testing.T) {
	e := newEnv(t)
	const retries = 2
	r := newRecorder(func(ev events.DynamoDBEvent, _ int) (events.DynamoDBEventResponse, error) {
		var resp events.DynamoDBEventResponse
		if seq := seqOf(ev, "poison"); seq != "" {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: seq})
		}
		return resp, nil
	})
	e.start(t, r, streams.Options{MaxRetries: retries})
	e.put(t, item("poison", nil))
	r.waitFor(t, "a dead letter", func() bool { return len(r.dead) == 1 })

	e.put(t, item("later", nil))
	r.waitFor(t, "the later record", func() bool { return r.deliveries()["later"] == 1 })

	r.mu.Lock()
	defer r.mu.Unlock()
	if got := r.deliveries()["poison"]; got != 1+retries {
		t.Errorf("poison delivered %d times, want %d", got, 1+retries)
	}
	dl := r.dead[0]
	poisonEvent := r.batches[0].Records[0]
	if dl.BatchSize != 1 || !slices.Equal(dl.EventIDs, []string{poisonEvent.EventID}) ||
		dl.StartSequenceNumber != poisonEvent.Change.SequenceNumber || dl.Condition != "RetryAttemptsExhausted" ||
		dl.Invocations != 1+retries || !slices.Equal(dl.FailedSequenceNumbers, []string{poisonEvent.Change.SequenceNumber}) {
		t.Errorf("dead letter = %+v, want poison's event ID and sequence number after %d invocations", dl, 1+retries)
	}
}

// GIVEN a batch in which one record makes the handler return an error WHEN
// it is retried THEN bisection narrows the failure down to that record:
// only it is dead-lettered and every other record is handled.
func TestFunctionErrorBisectsTheBatch(t *testing.T) {
	e := newEnv(t)
	e.putAll(t, "a", "bad", "c", "d")
	r := newRecorder(func(ev events.DynamoDBEvent, _ int) (events.DynamoDBEventResponse, error) {
		if seqOf(ev, "bad") != "" {
			return events.DynamoDBEventResponse{}, errors.New("cannot handle bad")
		}
		return events.DynamoDBEventResponse{}, nil
	})
	var handled sync.Map
	inner := r.decide
	r.decide = func(ev events.DynamoDBEvent, n int) (events.DynamoDBEventResponse, error) {
		resp, err := inner(ev, n)
		if err == nil {
			for _, rec := range ev.Records {
				handled.Store(rec.Change.NewImage["id"].String(), true)
			}
		}
		return resp, err
	}
	e.start(t, r, streams.Options{StartingPosition: streams.TrimHorizon})
	r.waitFor(t, "the dead letter", func() bool { return len(r.dead) == 1 })
	r.waitFor(t, "a, c and d handled", func() bool {
		_, a := handled.Load("a")
		_, c := handled.Load("c")
		_, d := handled.Load("d")
		return a && c && d
	})

	r.mu.Lock()
	defer r.mu.Unlock()
	dl := r.dead[0]
	if dl.BatchSize != 1 || dl.Err == nil || dl.Err.Error() != "cannot handle bad" {
		t.Errorf("dead letter = %+v, want the bad record alone with the handler's error", dl)
	}
	if got := r.deliveries()["bad"]; got != 1+streams.DefaultMaxRetries {
		t.Errorf("bad delivered %d times, want %d (batches %v)", got, 1+streams.DefaultMaxRetries, ids(r.batches))
	}
}

// A panicking handler is a function error, as in Lambda, not a crash; an
// itemIdentifier that is no sequence number of the batch fails it whole.
func TestPanicsAndBadIdentifiersFailTheBatch(t *testing.T) {
	for _, tt := range []struct {
		name   string
		decide func(events.DynamoDBEvent, int) (events.DynamoDBEventResponse, error)
	}{
		{"panic", func(ev events.DynamoDBEvent, n int) (events.DynamoDBEventResponse, error) {
			if n == 1 {
				panic("boom")
			}
			return events.DynamoDBEventResponse{}, nil
		}},
		{"unknown itemIdentifier", func(ev events.DynamoDBEvent, n int) (events.DynamoDBEventResponse, error) {
			if n == 1 {
				return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{ItemIdentifier: "not-a-sequence-number"}}}, nil
			}
			return events.DynamoDBEventResponse{}, nil
		}},
		{"empty itemIdentifier", func(ev events.DynamoDBEvent, n int) (events.DynamoDBEventResponse, error) {
			if n == 1 {
				return events.DynamoDBEventResponse{BatchItemFailures: []events.DynamoDBBatchItemFailure{{}}}, nil
			}
			return events.DynamoDBEventResponse{}, nil
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			r := newRecorder(tt.decide)
			e.start(t, r, streams.Options{})
			e.put(t, item("m", nil))
			r.waitFor(t, "the retry", func() bool { return r.deliveries()["m"] == 2 })
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.dead) != 0 {
				t.Errorf("dead letters = %+v, want none", r.dead)
			}
		})
	}
}

// Batches hold at most BatchSize records, in stream order.
func TestBatchSize(t *testing.T) {
	e := newEnv(t)
	var want []string
	for i := range 7 {
		id := "m" + strconv.Itoa(i)
		e.put(t, item(id, nil))
		want = append(want, id)
	}
	r := newRecorder(nil)
	e.start(t, r, streams.Options{StartingPosition: streams.TrimHorizon, BatchSize: 3})
	r.waitFor(t, "all seven", func() bool { return len(r.deliveries()) == 7 })

	r.mu.Lock()
	defer r.mu.Unlock()
	var got []string
	for _, b := range ids(r.batches) {
		if len(b) > 3 {
			t.Errorf("batch of %d, want at most 3", len(b))
		}
		got = append(got, b...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

// Stop waits for the poller: no invocation starts after it returns.
func TestStopWaits(t *testing.T) {
	e := newEnv(t)
	r := newRecorder(nil)
	p := e.start(t, r, streams.Options{})
	p.Stop()
	p.Stop() // twice is fine
	e.put(t, item("after-stop", nil))
	time.Sleep(200 * time.Millisecond)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.batches) != 0 {
		t.Errorf("invoked after Stop: %v", ids(r.batches))
	}
}

func TestStartRefusesATableWithoutStream(t *testing.T) {
	_, prefix := dynamotest.New(t)
	_, err := streams.Start(t.Context(), streams.Options{
		Endpoint: dynamotest.Endpoint(), Table: schema.PhysicalName(prefix, schema.Audit), Logger: quiet,
		Handler: func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
			return events.DynamoDBEventResponse{}, nil
		},
	})
	if err == nil {
		t.Fatal("Start on the Audit table (no stream): want an error")
	}
}
