package bench

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/localdev/calltrace"
	"github.com/pedsportal/messaging/internal/localdev/dynamolocal"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/localdev/officeclock"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

var auds = authz.Audiences{
	domain.SidePortal: {Issuer: "https://issuer.example/portal", ClientID: "portal-web"},
	domain.SideStaff:  {Issuer: "https://issuer.example/staff", ClientID: "staff-web"},
}

// harness runs scenarios through the real handlers over a recording
// DynamoDB client.
type harness struct {
	rec      *calltrace.Recorder
	st       *store.Store // untraced, for preparing state
	tables   store.Tables
	handlers map[string]api.Handler
	claims   Claims
	// plain are the same handlers over the client itself, unrecorded:
	// what the gateway calls and what runs concurrently.
	plain map[string]api.Handler
}

func newHarness(tb testing.TB, delay time.Duration) *harness {
	tb.Helper()
	ctx := context.Background()
	client := dynamolocal.NewClient(ctx, dynamotest.Endpoint())
	prefix := "bench" + ulid.Make().String() + "-"
	if err := dynamolocal.CreateTables(ctx, client, prefix); err != nil {
		tb.Fatal(err)
	}
	tables := store.TablesWithPrefix(prefix)
	h := &harness{rec: &calltrace.Recorder{API: client, Delay: delay}, st: store.New(client, tables), tables: tables, claims: ClaimsFor(auds)}
	if err := seed.Directory(ctx, h.st); err != nil {
		tb.Fatal(err)
	}
	if err := seed.Conversations(ctx, h.st, time.Now()); err != nil {
		tb.Fatal(err)
	}
	h.handlers = benchHandlers(h.rec, tables)
	h.plain = benchHandlers(client, tables)
	return h
}

// benchHandlers builds every function's handler over client.
func benchHandlers(client store.API, tables store.Tables) map[string]api.Handler {
	codec, _ := cursor.New([]byte("bench-bench-bench-bench-bench-32"))
	deps := api.Deps{
		Store: store.New(client, tables), Cursors: codec, LinkKey: LinkKey, Audiences: auds, Log: slog.New(slog.DiscardHandler),
		// Benchmarks write far more than a family would.
		DailyWriteLimit: 1 << 30,
		// Inside office hours, so no write adds an after-hours
		// acknowledgement and the figures do not depend on the hour.
		Now:   officeclock.Open(),
		Blobs: Blobs(),
	}
	handlers := map[string]api.Handler{}
	for name, newHandler := range api.Constructors {
		handlers[name] = newHandler(deps)
	}
	return handlers
}

// run calls s once, with query's parameters when given, and returns the
// DynamoDB calls it made.
func (h *harness) run(tb testing.TB, s Scenario, query ...map[string]string) []calltrace.Call {
	tb.Helper()
	ctx := context.Background()
	if s.Prepare != nil {
		if err := s.Prepare(ctx, h.st); err != nil {
			tb.Fatal(err)
		}
	}
	h.rec.Reset()
	ev := s.Event(h.claims)
	for _, q := range query {
		ev.QueryStringParameters = q
	}
	resp, err := h.handlers[s.Function()](ctx, ev)
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Check(resp.StatusCode, resp.Body); err != nil {
		tb.Fatal(err)
	}
	return h.rec.Calls()
}

// readmeTable reads the round-trip table of the README: operation →
// (sequential round trips, calls).
func readmeTable(t *testing.T) map[string][2]int {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- roundtrips:begin -->", "<!-- roundtrips:end -->"
	s := string(raw)
	i, j := strings.Index(s, begin), strings.Index(s, end)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s … %s table", begin, end)
	}
	rows := map[string][2]int{}
	for _, line := range strings.Split(s[i+len(begin):j], "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) < 3 {
			continue
		}
		trips, err1 := strconv.Atoi(strings.TrimSpace(cells[1]))
		calls, err2 := strconv.Atoi(strings.TrimSpace(cells[2]))
		if err1 == nil && err2 == nil {
			rows[strings.TrimSpace(cells[0])] = [2]int{trips, calls}
		}
	}
	return rows
}

// The README's round-trip table is what the code does. Every call is held
// back 20 ms so that calls issued together always overlap: the count does
// not depend on how fast DynamoDB Local answers. Each scenario runs once
// before it is measured, as on a warm Lambda container.
func TestRoundTripsMatchREADME(t *testing.T) {
	h := newHarness(t, 20*time.Millisecond)
	want := readmeTable(t)
	var table strings.Builder
	for _, s := range Scenarios() {
		h.run(t, s)
		calls := h.run(t, s)
		got := [2]int{calltrace.RoundTrips(calls), len(calls)}
		fmt.Fprintf(&table, "| %s | %d | %d |\n", s.Name, got[0], got[1])
		w, ok := want[s.Name]
		switch {
		case !ok:
			t.Errorf("README's round-trip table has no row %q", s.Name)
		case got != w:
			t.Errorf("%s: %d round trips, %d calls; README says %d, %d", s.Name, got[0], got[1], w[0], w[1])
		}
		// The product's promise: two round trips on the critical path. A
		// download decides access before it reads the chart, then lists
		// it, then reads each window of chains (see app.ExportChart): two
		// more for the demo chart.
		limit := 2
		if r, _ := routes.ByKey(s.Route); r.Op == routes.OpExportChart {
			limit = 4
		}
		if got[0] > limit {
			t.Errorf("%s takes %d sequential round trips, more than %d", s.Name, got[0], limit)
		}
	}
	if t.Failed() {
		t.Logf("measured rows:\n%s", table.String())
	}
}

// ---- benchmarks (make bench) ----

var (
	benchOnce sync.Once
	benchH    *harness
)

// benchHarness is shared by the benchmarks: 10 messages for Mateo beyond
// the demo data, and 10,000 for Sofia (100 conversations of 100).
func benchHarness(b *testing.B) *harness {
	benchOnce.Do(func() {
		h := newHarness(b, 0)
		start := time.Now()
		fill := func(patient string, convs, perConv int) {
			var wg sync.WaitGroup
			sem := make(chan struct{}, 16)
			for range convs {
				wg.Go(func() {
					sem <- struct{}{}
					defer func() { <-sem }()
					writeConversation(b, h.st, patient, perConv)
				})
			}
			wg.Wait()
		}
		fill(seed.Mateo, 1, 10)
		fill(seed.Sofia, 100, 100)
		fmt.Printf("setup: wrote 10,010 messages through TransactWriteItems in %s\n", time.Since(start).Round(time.Millisecond))
		benchH = h
	})
	return benchH
}

func writeConversation(b *testing.B, st *store.Store, patient string, n int) {
	ctx := context.Background()
	now := time.Now().UTC()
	author := domain.Party{ID: seed.ParentRivera, Name: "Ana Rivera", Role: "portal", Side: domain.SidePortal}
	body := "A message of ordinary length about a child's cough, fever and the plan for the next few days."
	w := func(m domain.Message) app.Write {
		return app.Write{Idem: app.Idempotency{CallerID: "bench", Key: m.ID, Hash: "h"},
			Audit: audit.Record{PatientID: patient, At: m.CreatedAt, ActorID: "bench", Action: audit.Reply, Outcome: audit.Success, RequestID: m.ID}}
	}
	c, m := app.NewConversation(ulid.Make().String(), ulid.Make().String(), domain.PatientRef{ID: patient}, seed.PracticeID,
		domain.PoolRef{ID: seed.PoolNurse}, domain.AudienceFamily, "bench", body, author, seed.ParentRivera, now)
	if _, err := st.CreateConversation(ctx, c, m, w(m)); err != nil {
		b.Fatal(err)
	}
	for range n - 1 {
		m := app.NewMessage(ulid.Make().String(), c, body, author, time.Now().UTC())
		if _, err := st.AppendMessage(ctx, m, w(m)); err != nil {
			b.Fatal(err)
		}
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

// BenchmarkListScaling times the first page of the Messages list for a
// patient with 10 messages and one with 10,000, interleaved in one run,
// and reports their ratio.
func BenchmarkListScaling(b *testing.B) {
	h := benchHarness(b)
	list := func(patient string) Scenario {
		s := Scenarios()[0]
		s.Params = map[string]string{"patientId": patient}
		return s
	}
	small, large := list(seed.Mateo), list(seed.Sofia)
	var ts, tl time.Duration
	for b.Loop() {
		t0 := time.Now()
		h.run(b, small)
		t1 := time.Now()
		h.run(b, large)
		ts += t1.Sub(t0)
		tl += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(ts.Microseconds())/n, "µs/list@10msgs")
	b.ReportMetric(float64(tl.Microseconds())/n, "µs/list@10000msgs")
	b.ReportMetric(float64(tl)/float64(ts), "ratio")
}

// BenchmarkQueueScaling times the first page of the staff inbox's default
// view, "needs reply", for a practice with 10 conversations waiting on it
// and one with 10,000, interleaved in one run, and reports their ratio.
// Each practice has its own tables; the page comes from the queue's own
// index partition, so it should not grow with the queue.
func BenchmarkQueueScaling(b *testing.B) {
	small, large := newHarness(b, 0), newHarness(b, 0)
	start := time.Now()
	fillQueue(b, small.st, 10)
	fillQueue(b, large.st, 10_000)
	fmt.Printf("setup: queues of 10 and 10,000 in %s\n", time.Since(start).Round(time.Millisecond))
	// Pages of 10, so that both answers carry the same number of items.
	inbox := Scenario{Name: "needs reply", Route: "GET /staff/inbox", As: "nurse.kim", Status: 200}
	// Pages of 10, so that both answers carry the same number of items.
	query := map[string]string{"view": "needs-reply", "limit": "10"}
	small.run(b, inbox, query) // warm: the staff member's practice is then known
	large.run(b, inbox, query)
	var ts, tl time.Duration
	for b.Loop() {
		t0 := time.Now()
		small.run(b, inbox, query)
		t1 := time.Now()
		large.run(b, inbox, query)
		ts += t1.Sub(t0)
		tl += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(ts.Microseconds())/n, "µs/page@10waiting")
	b.ReportMetric(float64(tl.Microseconds())/n, "µs/page@10000waiting")
	b.ReportMetric(float64(tl)/float64(ts), "ratio")
}

// fillQueue adds conversations waiting on the demo practice until its
// needs-reply queue holds n.
func fillQueue(b *testing.B, st *store.Store, n int) {
	ctx := context.Background()
	page, err := st.Inbox(ctx, seed.PracticeID, app.ConversationFilter{Awaiting: domain.AwaitingStaff}, 100, nil)
	if err != nil {
		b.Fatal(err)
	}
	author := domain.Party{ID: seed.ParentRivera, Name: "Ana Rivera", Role: "portal", Side: domain.SidePortal}
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range work {
				at := time.Now().UTC()
				c, m := app.NewConversation(ulid.Make().String(), ulid.Make().String(), domain.PatientRef{ID: seed.Mateo, DisplayName: "Mateo Rivera"}, seed.PracticeID,
					domain.PoolRef{ID: seed.PoolNurse, Name: "Nurse line"}, domain.AudienceFamily, "Queued", "A question for the nurse line.", author, seed.ParentRivera, at)
				w := app.Write{Idem: app.Idempotency{CallerID: "bench", Key: m.ID, Hash: "h"},
					Audit: audit.Record{PatientID: seed.Mateo, At: at, ActorID: "bench", Action: audit.CreateConversation, Outcome: audit.Success, RequestID: m.ID}}
				if _, err := st.CreateConversation(ctx, c, m, w); err != nil {
					b.Error(err)
				}
			}
		})
	}
	for i := len(page.Items); i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
}
