// Package bench measures what the issue asks to report: DynamoDB round
// trips per operation, and list latency for a patient with 10 messages
// against one with 10,000. Run with `make bench`; figures are printed, never
// asserted, because shared machines are noisy. Compare the ratio, which is
// measured in one run.
package bench

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/localdev/dynamolocal"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

func TestMain(m *testing.M) {
	// `go test ./...` runs no benchmarks here: don't start DynamoDB Local.
	flag.Parse()
	if flag.Lookup("test.bench").Value.String() == "" {
		os.Exit(m.Run())
	}
	dynamotest.Main(m)
}

// counting wraps the DynamoDB client and counts round trips.
type counting struct {
	store.API
	n atomic.Int64
}

func (c *counting) GetItem(ctx context.Context, in *dynamodb.GetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.n.Add(1)
	return c.API.GetItem(ctx, in, o...)
}
func (c *counting) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, o ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.n.Add(1)
	return c.API.BatchGetItem(ctx, in, o...)
}
func (c *counting) PutItem(ctx context.Context, in *dynamodb.PutItemInput, o ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.n.Add(1)
	return c.API.PutItem(ctx, in, o...)
}
func (c *counting) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, o ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.n.Add(1)
	return c.API.UpdateItem(ctx, in, o...)
}
func (c *counting) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, o ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.n.Add(1)
	return c.API.DeleteItem(ctx, in, o...)
}
func (c *counting) Query(ctx context.Context, in *dynamodb.QueryInput, o ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.n.Add(1)
	return c.API.Query(ctx, in, o...)
}
func (c *counting) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, o ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.n.Add(1)
	return c.API.TransactWriteItems(ctx, in, o...)
}

type fixture struct {
	db       *counting
	handlers map[string]api.Handler
	conv     map[string]string // patient → one conversation ID
}

var (
	once sync.Once
	fx   *fixture
)

// setup writes, through the real write path, 10 messages for Mateo and
// 10,000 for Sofia (100 conversations of 100 messages), once per run.
func setup(b *testing.B) *fixture {
	b.Helper()
	once.Do(func() {
		// Tables outlive any one benchmark (dynamotest.New would drop
		// them at the end of the first); the server is in memory.
		ctx := context.Background()
		client := dynamolocal.NewClient(ctx, dynamotest.Endpoint())
		prefix := "bench" + ulid.Make().String() + "-"
		if err := dynamolocal.CreateTables(ctx, client, prefix); err != nil {
			b.Fatal(err)
		}
		db := &counting{API: client}
		st := store.New(db, store.TablesWithPrefix(prefix))
		if err := seed.Directory(ctx, st); err != nil {
			b.Fatal(err)
		}
		f := &fixture{db: db, conv: map[string]string{}}
		fill := func(patient string, convs, perConv int) {
			var wg sync.WaitGroup
			sem := make(chan struct{}, 16)
			for i := range convs {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					id := writeConversation(b, st, patient, perConv)
					if i == 0 {
						f.conv[patient] = id
					}
				})
			}
			wg.Wait()
		}
		start := time.Now()
		fill(seed.Mateo, 1, 10)
		fill(seed.Sofia, 100, 100)
		fmt.Printf("setup: wrote 10,010 messages through TransactWriteItems in %s\n", time.Since(start).Round(time.Millisecond))
		codec, _ := cursor.New([]byte("bench-bench-bench-bench-bench-32"))
		deps := api.Deps{Store: st, Cursors: codec, Log: slog.New(slog.DiscardHandler)}
		f.handlers = map[string]api.Handler{}
		for name, newHandler := range api.Constructors {
			f.handlers[name] = newHandler(deps)
		}
		fx = f
	})
	if fx == nil {
		b.Fatal("setup failed")
	}
	return fx
}

func writeConversation(b *testing.B, st *store.Store, patient string, n int) string {
	ctx := context.Background()
	now := time.Now().UTC()
	author := domain.Party{ID: seed.ParentRivera, Name: "Ana Rivera", Role: "portal", Side: domain.SidePortal}
	c := domain.Conversation{
		ID: ulid.Make().String(), Patient: domain.PatientRef{ID: patient}, PracticeID: seed.PracticeID,
		Subject: "bench", Pool: domain.PoolRef{ID: seed.PoolNurse}, Status: domain.StatusOpen,
		StartedBy: author, CreatedAt: now, LastActivityAt: now, MessageCount: 1, Version: 1,
	}
	body := "A message of ordinary length about a child's cough, fever and the plan for the next few days."
	m := domain.Message{ID: ulid.Make().String(), ConversationID: c.ID, PatientID: patient, Body: body, Author: author, CreatedAt: now}
	if _, err := st.CreateConversation(ctx, c, m, app.Write{Idem: app.Idempotency{CallerID: "bench", Key: m.ID, Hash: "h"}, Audit: audit.Record{PatientID: patient, At: now, ActorID: "bench", Action: audit.Reply, Outcome: audit.Success, RequestID: m.ID}}); err != nil {
		b.Fatal(err)
	}
	for range n - 1 {
		m := domain.Message{ID: ulid.Make().String(), ConversationID: c.ID, PatientID: patient, Body: body, Author: author, CreatedAt: time.Now().UTC()}
		if _, err := st.AppendMessage(ctx, m, app.Write{Idem: app.Idempotency{CallerID: "bench", Key: m.ID, Hash: "h"}, Audit: audit.Record{PatientID: patient, At: now, ActorID: "bench", Action: audit.Reply, Outcome: audit.Success, RequestID: m.ID}}); err != nil {
			b.Fatal(err)
		}
	}
	return c.ID
}

func portalEvent(method, route, path string, params map[string]string, body string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: method + " " + route, RawPath: path, PathParameters: params, Body: body,
		Headers: map[string]string{"content-type": "application/json", "idempotency-key": ulid.Make().String()},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: ulid.Make().String(), RouteKey: method + " " + route,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: map[string]string{"sub": seed.ParentRivera, "token_use": "access"},
			}},
		},
	}
}

func (f *fixture) run(b *testing.B, fn string, ev events.APIGatewayV2HTTPRequest, want int) {
	b.Helper()
	resp, err := f.handlers[fn](context.Background(), ev)
	if err != nil || resp.StatusCode != want {
		b.Fatalf("%s: status %d, want %d: %v %s", fn, resp.StatusCode, want, err, resp.Body)
	}
}

func listEvent(patient string) events.APIGatewayV2HTTPRequest {
	return portalEvent("GET", "/portal/patients/{patientId}/conversations", "/portal/patients/"+patient+"/conversations",
		map[string]string{"patientId": patient}, "")
}

// BenchmarkRoundTrips reports DynamoDB calls per operation, audit included.
func BenchmarkRoundTrips(b *testing.B) {
	f := setup(b)
	cid := f.conv[seed.Mateo]
	ops := []struct {
		name, fn string
		ev       func() events.APIGatewayV2HTTPRequest
		want     int
	}{
		{"list", "list-conversations", func() events.APIGatewayV2HTTPRequest { return listEvent(seed.Mateo) }, 200},
		{"detail", "get-conversation", func() events.APIGatewayV2HTTPRequest {
			return portalEvent("GET", "/portal/patients/{patientId}/conversations/{conversationId}", "/portal/patients/"+seed.Mateo+"/conversations/"+cid,
				map[string]string{"patientId": seed.Mateo, "conversationId": cid}, "")
		}, 200},
		{"write-new", "write-message", func() events.APIGatewayV2HTTPRequest {
			return portalEvent("POST", "/portal/patients/{patientId}/conversations", "/portal/patients/"+seed.Mateo+"/conversations",
				map[string]string{"patientId": seed.Mateo}, `{"poolId":"pool-nurse-line","subject":"Bench","body":"Hello"}`)
		}, 201},
		{"reply", "write-message", func() events.APIGatewayV2HTTPRequest {
			return portalEvent("POST", "/portal/patients/{patientId}/conversations/{conversationId}/messages", "/portal/patients/"+seed.Mateo+"/conversations/"+cid+"/messages",
				map[string]string{"patientId": seed.Mateo, "conversationId": cid}, `{"body":"Thanks"}`)
		}, 201},
	}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			f.db.n.Store(0)
			for b.Loop() {
				f.run(b, op.fn, op.ev(), op.want)
			}
			// The last of these is the audit record.
			b.ReportMetric(float64(f.db.n.Load())/float64(b.N), "roundtrips/op")
		})
	}
}

// BenchmarkListScaling times the first page of the Messages list for a
// patient with 10 messages and one with 10,000, interleaved in one run so
// that machine noise hits both alike, and reports their ratio.
func BenchmarkListScaling(b *testing.B) {
	f := setup(b)
	var small, large time.Duration
	for b.Loop() {
		t0 := time.Now()
		f.run(b, "list-conversations", listEvent(seed.Mateo), 200)
		t1 := time.Now()
		f.run(b, "list-conversations", listEvent(seed.Sofia), 200)
		small += t1.Sub(t0)
		large += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(small.Microseconds())/n, "µs/list@10msgs")
	b.ReportMetric(float64(large.Microseconds())/n, "µs/list@10000msgs")
	b.ReportMetric(float64(large)/float64(small), "ratio")
}
