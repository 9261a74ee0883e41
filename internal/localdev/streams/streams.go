// Package streams plays the Lambda event source mapping for a DynamoDB
// stream locally: it reads DynamoDB Local's stream of one table
// (DescribeTable → LatestStreamArn, DescribeStream → shards,
// GetShardIterator, GetRecords on the same endpoint) and invokes a
// function's handler with real events.DynamoDBEvent batches, built as JSON
// and decoded as Lambda's Go runtime decodes them.
//
// It behaves as the mapping the notifier has in AWS:
//   - batches of up to BatchSize records (default 100), one shard at a
//     time and in order, within Lambda's 6 MB payload limit;
//   - ReportBatchItemFailures: a response naming failed records by
//     SequenceNumber checkpoints before the lowest one and retries from
//     it (so records after it in the batch are delivered again, and
//     records before it are not); an empty or unknown itemIdentifier
//     fails the whole batch;
//   - BisectBatchOnFunctionError: a handler error (or panic) splits the
//     batch in two and retries each half, narrowing down to the record
//     that fails;
//   - MaximumRetryAttempts (default 3): a batch still failing after that
//     many retries is sent to the "dead-letter queue" — logged with its
//     shard, sequence range and event IDs, never the images — and
//     reading moves on.
//
// Start at the stream's end (LATEST, the default) or at its oldest record
// (TRIM_HORIZON).
package streams

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// Handler is a Lambda function's handler for DynamoDB stream events.
type Handler func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)

// StartingPosition is where reading starts.
type StartingPosition string

// Starting positions, as the event source mapping names them.
const (
	Latest      StartingPosition = "LATEST"
	TrimHorizon StartingPosition = "TRIM_HORIZON"
)

// Defaults, as the notifier's event source mapping is configured.
const (
	DefaultBatchSize  = 100
	DefaultMaxRetries = 3
	DefaultPoll       = 200 * time.Millisecond
	// MaxBatchSize is the most GetRecords returns at once.
	MaxBatchSize = 1000
	// MaxPayloadBytes is Lambda's limit on an invocation's event.
	MaxPayloadBytes = 6 << 20
)

// Options configure Start.
type Options struct {
	// Endpoint of DynamoDB (Local); its streams answer on the same one.
	Endpoint string
	// Table is the table's physical name.
	Table string
	// Handler is invoked with each batch.
	Handler Handler
	// BatchSize is the most records per invocation; 0 means 100.
	BatchSize int
	// Poll is the pause between GetRecords calls that return nothing, and
	// the first pause before a retry (doubling up to 5 s); 0 means 200 ms.
	Poll time.Duration
	// StartingPosition is Latest (the default) or TrimHorizon.
	StartingPosition StartingPosition
	// MaxRetries is MaximumRetryAttempts: retries of a failing batch
	// before it is dead-lettered. 0 means 3; negative means none.
	MaxRetries int
	// Region fills the records' awsRegion and the function's ARN; "" means
	// us-east-1.
	Region string
	// Function names the function in the invocation context's ARN; ""
	// means "local-<Table>".
	Function string
	// OnDeadLetter, if set, is called with each batch sent to the
	// dead-letter queue (after it is logged).
	OnDeadLetter func(DeadLetter)
	// Logger receives start, stop, error and dead-letter events. Nil uses
	// slog.Default().
	Logger *slog.Logger
}

// DeadLetter describes a batch whose retries ran out, as the event source
// mapping's on-failure destination does: where it was, never what it held.
type DeadLetter struct {
	StreamARN           string
	ShardID             string
	StartSequenceNumber string
	EndSequenceNumber   string
	BatchSize           int
	// EventIDs of the discarded records, oldest first.
	EventIDs []string
	// FailedSequenceNumbers are those the last response reported, if it
	// was a partial batch failure.
	FailedSequenceNumbers []string
	// Condition is "RetryAttemptsExhausted".
	Condition string
	// Invocations is how many times the batch was invoked.
	Invocations int
	// Err is the last handler error, or the reason the response failed the
	// batch.
	Err error
}

// Poller reads one table's stream and invokes a handler.
type Poller struct {
	opts    Options
	log     *slog.Logger
	ddb     *dynamodb.Client
	streams *dynamodbstreams.Client
	arn     string
	fnARN   string

	shards map[string]*shard // by shard ID; only the poller goroutine touches it
	order  []string          // shard IDs in discovery order

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

type shard struct {
	id, parent string
	iterator   string // "" once closed
	lastSeq    string // last sequence number checkpointed
	startType  types.ShardIteratorType
	closed     bool
}

// Start resolves the table's stream, positions an iterator on each shard
// and starts polling in a goroutine. Records written after Start returns
// are delivered even with Latest. ctx bounds the start-up only; the poller
// runs until Stop.
func Start(ctx context.Context, opts Options) (*Poller, error) {
	if opts.Endpoint == "" || opts.Table == "" || opts.Handler == nil {
		return nil, errors.New("streams: Endpoint, Table and Handler are required")
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	opts.BatchSize = min(opts.BatchSize, MaxBatchSize)
	if opts.Poll <= 0 {
		opts.Poll = DefaultPoll
	}
	switch opts.StartingPosition {
	case "":
		opts.StartingPosition = Latest
	case Latest, TrimHorizon:
	default:
		return nil, fmt.Errorf("streams: starting position %q: want LATEST or TRIM_HORIZON", opts.StartingPosition)
	}
	switch {
	case opts.MaxRetries == 0:
		opts.MaxRetries = DefaultMaxRetries
	case opts.MaxRetries < 0:
		opts.MaxRetries = 0
	}
	if opts.Region == "" {
		opts.Region = "us-east-1"
	}
	if opts.Function == "" {
		opts.Function = "local-" + opts.Table
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	creds := credentials.NewStaticCredentialsProvider("local", "local", "")
	p := &Poller{
		opts: opts,
		log:  opts.Logger.With("table", opts.Table),
		ddb: dynamodb.New(dynamodb.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(opts.Endpoint), Credentials: creds,
		}),
		streams: dynamodbstreams.New(dynamodbstreams.Options{
			Region: "us-east-1", BaseEndpoint: aws.String(opts.Endpoint), Credentials: creds,
		}),
		fnARN:  "arn:aws:lambda:" + opts.Region + ":123456789012:function:" + opts.Function,
		shards: map[string]*shard{},
		done:   make(chan struct{}),
	}
	arn, err := p.streamARN(ctx)
	if err != nil {
		return nil, err
	}
	p.arn = arn
	if err := p.discover(ctx, types.ShardIteratorType(opts.StartingPosition), true); err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	go p.run(runCtx)
	p.log.Info("stream poller started", "stream", p.arn, "from", opts.StartingPosition, "batchSize", opts.BatchSize)
	return p, nil
}

// StreamARN is the stream being read (the records' eventSourceARN).
func (p *Poller) StreamARN() string { return p.arn }

// Stop ends polling, cancels the context of an invocation in progress and
// waits for the poller's goroutine to return. It is safe to call more than
// once.
func (p *Poller) Stop() {
	p.once.Do(func() {
		p.cancel()
		<-p.done
		p.log.Info("stream poller stopped", "stream", p.arn)
	})
}

func (p *Poller) streamARN(ctx context.Context) (string, error) {
	out, err := p.ddb.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(p.opts.Table)})
	if err != nil {
		return "", fmt.Errorf("streams: describe table %s: %w", p.opts.Table, err)
	}
	sp := out.Table.StreamSpecification
	arn := aws.ToString(out.Table.LatestStreamArn)
	if sp == nil || !aws.ToBool(sp.StreamEnabled) || arn == "" {
		return "", fmt.Errorf("streams: table %s has no stream enabled (schema.Table.Stream, created by dynamolocal.CreateTables)", p.opts.Table)
	}
	return arn, nil
}

// discover lists the stream's shards and positions an iterator on each new
// one: at start with the starting position (closed shards are skipped
// when starting at LATEST), later at TRIM_HORIZON, since a shard that
// appears while we read holds only records we have not seen.
func (p *Poller) discover(ctx context.Context, initial types.ShardIteratorType, first bool) error {
	var start *string
	for {
		out, err := p.streams.DescribeStream(ctx, &dynamodbstreams.DescribeStreamInput{
			StreamArn: aws.String(p.arn), ExclusiveStartShardId: start,
		})
		if err != nil {
			return fmt.Errorf("streams: describe stream: %w", err)
		}
		for _, s := range out.StreamDescription.Shards {
			id := aws.ToString(s.ShardId)
			if _, ok := p.shards[id]; ok {
				continue
			}
			sh := &shard{id: id, parent: aws.ToString(s.ParentShardId), startType: types.ShardIteratorTypeTrimHorizon}
			closed := s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil
			if first {
				sh.startType = initial
				if initial == types.ShardIteratorTypeLatest && closed {
					sh.closed = true // nothing new will ever arrive there
				}
			}
			if !sh.closed {
				if err := p.position(ctx, sh); err != nil {
					return err
				}
			}
			p.shards[id] = sh
			p.order = append(p.order, id)
		}
		start = out.StreamDescription.LastEvaluatedShardId
		if start == nil {
			return nil
		}
	}
}

// position gets sh an iterator: after its checkpoint if it has one, else
// at its start type.
func (p *Poller) position(ctx context.Context, sh *shard) error {
	in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(p.arn), ShardId: aws.String(sh.id), ShardIteratorType: sh.startType}
	if sh.lastSeq != "" {
		in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		in.SequenceNumber = aws.String(sh.lastSeq)
	}
	out, err := p.streams.GetShardIterator(ctx, in)
	if err != nil {
		return fmt.Errorf("streams: shard iterator for %s: %w", sh.id, err)
	}
	sh.iterator = aws.ToString(out.ShardIterator)
	sh.closed = sh.iterator == ""
	return nil
}

func (p *Poller) run(ctx context.Context) {
	defer close(p.done)
	errDelay := p.opts.Poll
	lastDiscover := time.Now()
	for ctx.Err() == nil {
		got, err := p.pollOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			p.log.Warn("stream poller", "err", err)
			errDelay = min(errDelay*2, 5*time.Second)
			sleep(ctx, errDelay)
			continue
		}
		errDelay = p.opts.Poll
		// New shards appear when DynamoDB rolls a shard over; look for
		// them now and then, and at once when one closed.
		if got < 0 || time.Since(lastDiscover) > 10*time.Second {
			if err := p.discover(ctx, types.ShardIteratorTypeTrimHorizon, false); err != nil && ctx.Err() == nil {
				p.log.Warn("stream poller", "err", err)
			}
			lastDiscover = time.Now()
		}
		if got == 0 {
			sleep(ctx, p.opts.Poll)
		}
	}
}

// pollOnce reads each open shard whose parent is done once and delivers
// what it got. It returns how many records it read, or -1 when a shard
// closed.
func (p *Poller) pollOnce(ctx context.Context) (int, error) {
	total := 0
	closedOne := false
	for _, id := range p.order {
		sh := p.shards[id]
		if sh.closed || !p.parentDone(sh) {
			continue
		}
		out, err := p.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{
			ShardIterator: aws.String(sh.iterator), Limit: aws.Int32(int32(p.opts.BatchSize)),
		})
		var expired *types.ExpiredIteratorException
		var trimmed *types.TrimmedDataAccessException
		var gone *types.ResourceNotFoundException
		switch {
		case errors.As(err, &expired):
			if err := p.position(ctx, sh); err != nil {
				return total, err
			}
			continue
		case errors.As(err, &trimmed):
			p.log.Warn("stream poller: records trimmed before they were read", "shard", sh.id)
			sh.lastSeq, sh.startType = "", types.ShardIteratorTypeTrimHorizon
			if err := p.position(ctx, sh); err != nil {
				return total, err
			}
			continue
		case errors.As(err, &gone):
			return total, fmt.Errorf("streams: stream %s is gone (table deleted or stream disabled): %w", p.arn, err)
		case err != nil:
			return total, fmt.Errorf("streams: get records: %w", err)
		}
		if len(out.Records) > 0 {
			total += len(out.Records)
			recs := make([]record, 0, len(out.Records))
			for _, r := range out.Records {
				rec, err := convert(r, p.arn, p.opts.Region)
				if err != nil {
					return total, err
				}
				recs = append(recs, rec)
			}
			for _, batch := range p.batches(recs) {
				if ctx.Err() != nil {
					return total, nil
				}
				p.deliver(ctx, sh, batch)
			}
			sh.lastSeq = recs[len(recs)-1].seq
		}
		sh.iterator = aws.ToString(out.NextShardIterator)
		if sh.iterator == "" {
			sh.closed = true
			closedOne = true
		}
	}
	if closedOne {
		return -1, nil
	}
	return total, nil
}

// parentDone: a child shard is read only after its parent, as the mapping
// does, so one item's changes arrive in order.
func (p *Poller) parentDone(sh *shard) bool {
	parent, ok := p.shards[sh.parent]
	return !ok || parent.closed
}

// batches cuts recs into invocations of at most BatchSize records and
// MaxPayloadBytes of event.
func (p *Poller) batches(recs []record) [][]record {
	var out [][]record
	start, size := 0, len(`{"Records":[]}`)
	for i, r := range recs {
		n := len(r.json) + 1
		if i > start && (i-start == p.opts.BatchSize || size+n > MaxPayloadBytes) {
			out = append(out, recs[start:i])
			start, size = i, len(`{"Records":[]}`)
		}
		size += n
	}
	return append(out, recs[start:])
}

// attempt is a batch waiting to be (re)invoked.
type attempt struct {
	recs        []record
	invocations int
}

// deliver invokes the handler with batch until every record succeeded or
// was dead-lettered, honouring partial failures, bisection and the retry
// limit.
func (p *Poller) deliver(ctx context.Context, sh *shard, batch []record) {
	queue := []attempt{{recs: batch}}
	for len(queue) > 0 && ctx.Err() == nil {
		cur := queue[0]
		queue = queue[1:]
		res := p.invoke(ctx, cur.recs)
		if ctx.Err() != nil {
			return
		}
		cur.invocations++
		if res.ok {
			continue
		}
		if res.failedFrom > 0 {
			// Checkpoint before the lowest failed record: only it and
			// what follows are retried.
			cur.recs = cur.recs[res.failedFrom:]
		}
		if cur.invocations > p.opts.MaxRetries {
			p.deadLetter(sh, cur, res)
			continue
		}
		var retry []attempt
		if res.functionError && len(cur.recs) > 1 {
			mid := len(cur.recs) / 2
			retry = []attempt{{cur.recs[:mid], cur.invocations}, {cur.recs[mid:], cur.invocations}}
		} else {
			retry = []attempt{cur}
		}
		queue = append(retry, queue...)
		sleep(ctx, p.retryDelay(cur.invocations))
	}
}

func (p *Poller) retryDelay(invocations int) time.Duration {
	d := p.opts.Poll
	for range invocations - 1 {
		d *= 2
		if d >= 5*time.Second {
			return 5 * time.Second
		}
	}
	return d
}

// result is one invocation's outcome.
type result struct {
	ok bool
	// functionError: the handler returned an error or panicked, or its
	// response was not a valid partial failure report.
	functionError bool
	// failedFrom is the index of the lowest failed record of a partial
	// batch failure.
	failedFrom int
	failedSeqs []string
	err        error
}

// invoke runs the handler on recs as Lambda would: the event decoded from
// JSON, a Lambda context, panics caught, the response read back from JSON.
func (p *Poller) invoke(ctx context.Context, recs []record) (res result) {
	var buf bytes.Buffer
	buf.WriteString(`{"Records":[`)
	for i, r := range recs {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(r.json)
	}
	buf.WriteString(`]}`)
	var ev events.DynamoDBEvent
	if err := json.Unmarshal(buf.Bytes(), &ev); err != nil {
		return result{functionError: true, err: fmt.Errorf("streams: decode event: %w", err)}
	}
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: requestID(), InvokedFunctionArn: p.fnARN})

	resp, err := func() (resp events.DynamoDBEventResponse, err error) {
		defer func() {
			if v := recover(); v != nil {
				p.log.Error("stream handler panicked", "panic", v, "stack", string(debug.Stack()))
				err = fmt.Errorf("streams: handler panicked: %v", v)
			}
		}()
		return p.opts.Handler(ctx, ev)
	}()
	if err != nil {
		return result{functionError: true, err: err}
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return result{functionError: true, err: fmt.Errorf("streams: encode response: %w", err)}
	}
	var back events.DynamoDBEventResponse
	if err := json.Unmarshal(b, &back); err != nil {
		return result{functionError: true, err: fmt.Errorf("streams: decode response: %w", err)}
	}
	if len(back.BatchItemFailures) == 0 {
		return result{ok: true}
	}
	lowest := len(recs)
	var seqs []string
	for _, f := range back.BatchItemFailures {
		i := slices.IndexFunc(recs, func(r record) bool { return r.seq == f.ItemIdentifier })
		if f.ItemIdentifier == "" || i < 0 {
			// Lambda treats an empty or unknown identifier as the whole
			// batch failing.
			return result{functionError: true, err: fmt.Errorf("streams: batchItemFailures names %q, not a sequence number of the batch", f.ItemIdentifier)}
		}
		lowest = min(lowest, i)
		seqs = append(seqs, f.ItemIdentifier)
	}
	return result{failedFrom: lowest, failedSeqs: seqs, err: errors.New("streams: partial batch failure")}
}

func (p *Poller) deadLetter(sh *shard, a attempt, res result) {
	dl := DeadLetter{
		StreamARN:             p.arn,
		ShardID:               sh.id,
		StartSequenceNumber:   a.recs[0].seq,
		EndSequenceNumber:     a.recs[len(a.recs)-1].seq,
		BatchSize:             len(a.recs),
		FailedSequenceNumbers: res.failedSeqs,
		Condition:             "RetryAttemptsExhausted",
		Invocations:           a.invocations,
		Err:                   res.err,
	}
	for _, r := range a.recs {
		dl.EventIDs = append(dl.EventIDs, r.eventID)
	}
	p.log.Error("stream batch sent to the dead-letter queue",
		"condition", dl.Condition, "shard", dl.ShardID,
		"startSequenceNumber", dl.StartSequenceNumber, "endSequenceNumber", dl.EndSequenceNumber,
		"batchSize", dl.BatchSize, "eventIDs", dl.EventIDs, "failedSequenceNumbers", dl.FailedSequenceNumbers,
		"invocations", dl.Invocations, "err", dl.Err)
	if p.opts.OnDeadLetter != nil {
		p.opts.OnDeadLetter(dl)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// requestID is a random UUID-shaped ID for the Lambda context.
func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
