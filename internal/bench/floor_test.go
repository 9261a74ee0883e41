package bench

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/localdev/calltrace"
	"github.com/pedsportal/messaging/internal/localdev/gateway"
	"github.com/pedsportal/messaging/internal/localdev/issuer"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

// The floor of an operation is the DynamoDB calls it makes, issued
// straight through the SDK in the same order and grouping, with nothing
// of ours around them. floor runs each scenario three ways over the same
// data: the handler, the local gateway over HTTP with a real token of the
// development issuer, and the handler's recorded calls replayed directly.
//
// A replay must find the state its conditions expect, so before it the
// handler's effects are undone: the items it created (keys holding a value
// the run made up: a message, audit or idempotency ID) are deleted, and
// the items it changed are put back as they were. The replay then makes up
// fresh values of its own, so its puts' attribute_not_exists hold too.
type floor struct {
	h      *harness
	client store.API // DynamoDB Local, unrecorded
	iss    *issuer.Issuer
	api    string
	web    *http.Client
	mu     sync.Mutex
	tokens map[string]string
	plans  map[string]*plan
}

// plan is what floor learned of a scenario in two runs with every call
// held back 20 ms: how its calls group into round trips, which values
// stay the same from run to run, and which existing items it changes.
type plan struct {
	phases  []int
	stable  map[string]bool
	changes []itemKey
}

type itemKey struct {
	table string
	key   map[string]types.AttributeValue
}

// newFloor serves h's handlers behind the local gateway: the recorded
// ones when recorded, so that a request's calls can be undone, else the
// plain ones, which may run concurrently.
func newFloor(b *testing.B, h *harness, recorded bool) *floor {
	b.Helper()
	var users []issuer.User
	for _, u := range seed.Users() {
		users = append(users, issuer.User{Sub: u.Sub, Username: u.Username, Name: u.Name, Audience: string(u.Side), Groups: u.Groups})
	}
	// The issuer names itself as the handlers' audiences expect
	// (https://issuer.example/<pool>); the gateway fetches its keys over
	// HTTP from where it really listens.
	iss, err := issuer.New(issuer.Config{BaseURL: "https://issuer.example", Users: users, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	keys := httptest.NewServer(iss.Handler())
	b.Cleanup(keys.Close)
	// The issuer answers only to its own host name.
	toKeys := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, keys.Listener.Addr().String())
	}}}
	authorizers := map[routes.Audience]gateway.Authorizer{}
	for _, aud := range []routes.Audience{routes.Portal, routes.Staff} {
		a := auds[domain.Side(aud)]
		if a.Issuer != iss.IssuerURL(string(aud)) || a.ClientID != iss.ClientID(string(aud)) {
			b.Fatalf("issuer %s/%s differs from the handlers' audience %+v", iss.IssuerURL(string(aud)), iss.ClientID(string(aud)), a)
		}
		authorizers[aud] = gateway.Authorizer{Issuer: a.Issuer, Audience: []string{a.ClientID},
			JWKSURL: "http://issuer.example/" + string(aud) + "/.well-known/jwks.json", Client: toKeys}
	}
	handlers := map[string]gateway.Handler{}
	serve := h.plain
	if recorded {
		serve = h.handlers
	}
	for name, hd := range serve {
		handlers[name] = gateway.Handler(hd)
	}
	gw, err := gateway.New(gateway.Config{Routes: routes.All(), Handlers: handlers, Authorizers: authorizers, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(gw)
	b.Cleanup(func() { srv.Close(); _ = gw.Close() })
	return &floor{h: h, client: h.rec.API, iss: iss, api: srv.URL,
		web:    &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}},
		tokens: map[string]string{}, plans: map[string]*plan{}}
}

// learn runs s twice with every call held back 20 ms, so that calls issued
// together surely overlap, and keeps what the two runs show.
func (f *floor) learn(b *testing.B, s Scenario) *plan {
	b.Helper()
	f.h.rec.Delay = 20 * time.Millisecond
	defer func() { f.h.rec.Delay = 0 }()
	one, two := f.h.run(b, s), f.h.run(b, s)
	p := &plan{phases: phases(two), stable: map[string]bool{}}
	seen := map[string]bool{}
	for _, c := range one {
		rewrite(c.In, func(t string) string { seen[t] = true; return t })
	}
	for _, c := range two {
		rewrite(c.In, func(t string) string {
			if seen[t] {
				p.stable[t] = true
			}
			return t
		})
	}
	for _, k := range writes(inputs(two)) {
		if p.isStable(k) && !slices.ContainsFunc(p.changes, func(c itemKey) bool { return c.table == k.table && maps.EqualFunc(c.key, k.key, sameAV) }) {
			p.changes = append(p.changes, k)
		}
	}
	f.plans[s.Name] = p
	return p
}

// phases groups calls (by start) into sequential round trips, as
// calltrace.RoundTrips counts them, and returns each group's size.
func phases(calls []calltrace.Call) []int {
	var sizes []int
	var end time.Time
	for i, c := range calls {
		if i == 0 || c.Start.After(end) {
			sizes = append(sizes, 0)
		}
		sizes[len(sizes)-1]++
		if c.End.After(end) {
			end = c.End
		}
	}
	return sizes
}

func (p *plan) isStable(k itemKey) bool {
	stable := true
	for _, v := range k.key {
		rewriteAV(v, func(t string) string {
			stable = stable && p.stable[t]
			return t
		})
	}
	return stable
}

// prepare readies the data for s (its Prepare step) and returns the items
// s changes as they now are, for undo to put back after each way.
func (f *floor) prepare(b *testing.B, s Scenario, p *plan) []map[string]types.AttributeValue {
	b.Helper()
	ctx := context.Background()
	if s.Prepare != nil {
		if err := s.Prepare(ctx, f.h.st); err != nil {
			b.Fatal(err)
		}
	}
	before := make([]map[string]types.AttributeValue, len(p.changes))
	for i, k := range p.changes {
		out, err := f.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(k.table), Key: k.key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			b.Fatal(err)
		}
		before[i] = out.Item
	}
	return before
}

// handler runs s through its recorded handler and returns the time it
// took and the calls it made.
func (f *floor) handler(b *testing.B, s Scenario) (time.Duration, []calltrace.Call) {
	b.Helper()
	ev := s.Event(f.h.claims)
	f.h.rec.Reset()
	t0 := time.Now()
	resp, err := f.h.handlers[s.Function()](context.Background(), ev)
	d := time.Since(t0)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Check(resp.StatusCode, resp.Body); err != nil {
		b.Fatal(err)
	}
	return d, f.h.rec.Calls()
}

// undo deletes what the requests ins created and puts back what they
// changed, so that every run of a scenario starts from the same state.
func (f *floor) undo(b *testing.B, s Scenario, p *plan, ins []any, before []map[string]types.AttributeValue) {
	b.Helper()
	ctx := context.Background()
	for _, k := range writes(ins) {
		if p.isStable(k) {
			if !slices.ContainsFunc(p.changes, func(c itemKey) bool { return c.table == k.table && maps.EqualFunc(c.key, k.key, sameAV) }) {
				b.Fatalf("%s changed an item its learning runs did not: %s %v", s.Name, k.table, k.key)
			}
			continue
		}
		if _, err := f.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(k.table), Key: k.key}); err != nil {
			b.Fatal(err)
		}
	}
	for i, k := range p.changes {
		var err error
		if before[i] == nil {
			_, err = f.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(k.table), Key: k.key})
		} else {
			_, err = f.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(k.table), Item: before[i]})
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// direct issues calls straight through the SDK, each round trip's calls
// together, with fresh values for those the recorded run made up, and
// returns the time they took and the requests it sent.
func (f *floor) direct(b testing.TB, s Scenario, p *plan, calls []calltrace.Call) (time.Duration, []any) {
	fresh := map[string]string{}
	freshen := func(t string) string {
		if p.stable[t] {
			return t
		}
		if r, ok := fresh[t]; ok {
			return r
		}
		r := []byte(t)
		for i, c := range r {
			switch {
			case c >= '0' && c <= '9':
				r[i] = '0' + byte(rand.IntN(10))
			case c >= 'A' && c <= 'Z':
				r[i] = 'A' + byte(rand.IntN(26))
			default:
				r[i] = 'a' + byte(rand.IntN(26))
			}
		}
		fresh[t] = string(r)
		return fresh[t]
	}
	ins := make([]any, len(calls))
	for i, c := range calls {
		ins[i] = rewrite(c.In, freshen)
	}
	ctx := context.Background()
	t0 := time.Now()
	i := 0
	for _, n := range p.phases {
		if i+n > len(ins) {
			b.Fatalf("%s: %d calls, but the plan has round trips of %v", s.Name, len(ins), p.phases)
		}
		// As the handlers do, the last call of a round trip goes out on
		// this goroutine, the others beside it.
		errs := make([]error, n)
		var wg sync.WaitGroup
		for j := range n - 1 {
			wg.Go(func() { errs[j] = send(ctx, f.client, ins[i+j]) })
		}
		errs[n-1] = send(ctx, f.client, ins[i+n-1])
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatalf("%s: direct replay: %v", s.Name, err)
			}
		}
		i += n
	}
	d := time.Since(t0)
	if i != len(ins) {
		b.Fatalf("%s: %d calls, but the plan has round trips of %v", s.Name, len(ins), p.phases)
	}
	return d, ins
}

// http sends s through the local gateway with a real access token and
// returns its latency.
func (f *floor) http(b testing.TB, s Scenario) time.Duration {
	req := f.request(b, s)
	t0 := time.Now()
	resp, err := f.web.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	d := time.Since(t0)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Check(resp.StatusCode, string(body)); err != nil {
		b.Fatal(err)
	}
	return d
}

// request is the HTTP request a client sends for s.
func (f *floor) request(b testing.TB, s Scenario) *http.Request {
	ev := s.Event(f.h.claims)
	r, _ := routes.ByKey(s.Route)
	body := ev.Body
	if ev.IsBase64Encoded {
		raw, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			b.Fatal(err)
		}
		body = string(raw)
	}
	u := f.api + ev.RawPath
	if ev.RawQueryString != "" {
		u += "?" + ev.RawQueryString
	}
	req, err := http.NewRequest(r.Method, u, strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	if r.Audience != routes.Public {
		req.Header.Set("Authorization", "Bearer "+f.token(b, s.As, r.Audience))
	}
	return req
}

func (f *floor) token(b testing.TB, username string, aud routes.Audience) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.tokens[username]; ok {
		return t
	}
	t, err := f.iss.Mint(string(aud), username)
	if err != nil {
		b.Fatal(err)
	}
	f.tokens[username] = t
	return t
}

// BenchmarkOperations runs every scenario, interleaved so that machine
// noise hits all alike, three ways: through its handler on DynamoDB Local,
// through the local gateway over HTTP with a real token, and as the
// handler's own DynamoDB calls replayed directly (the floor). It prints
// per operation p50 and p90 of each, the ratios of their p50s to the
// floor's, the sequential round trips, the DynamoDB calls, and the
// consumed capacity units next to their minimum. It runs on the demo data
// in tables of its own (BenchmarkListScaling shows a page does not grow
// with a patient's history).
func BenchmarkOperations(b *testing.B) {
	f := newFloor(b, newHarness(b, 0), true)
	ss := Scenarios()
	type samples struct{ handler, http, direct, ours []time.Duration }
	lat := make([]samples, len(ss))
	last := make([][]calltrace.Call, len(ss))
	for _, s := range ss {
		f.learn(b, s)
	}
	// Each way starts from the state the one before found: its writes
	// are undone. The three ways take the six orders in turn, so that each
	// goes first, and follows each other, equally often: the first way
	// after another scenario's undo finds DynamoDB Local slower (in one
	// run the same replay took 0.1-0.3 ms longer in the handler's place
	// than after it), and a fixed order charged that to the handler. A
	// replay before the handler in a round replays the handler's calls of
	// the round before; the first order starts with the handler.
	orders := [][]int{{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {0, 2, 1}, {2, 1, 0}, {1, 0, 2}}
	for round := 0; b.Loop(); round++ {
		for i, s := range ss {
			p := f.plans[s.Name]
			before := f.prepare(b, s, p)
			ways := []func(){
				func() {
					d, calls := f.handler(b, s)
					lat[i].handler = append(lat[i].handler, d)
					lat[i].ours = append(lat[i].ours, d-inCalls(calls))
					last[i] = calls
					f.undo(b, s, p, inputs(calls), before)
				},
				func() {
					d, sent := f.direct(b, s, p, last[i])
					lat[i].direct = append(lat[i].direct, d)
					f.undo(b, s, p, sent, before)
				},
				func() {
					f.h.rec.Reset()
					lat[i].http = append(lat[i].http, f.http(b, s))
					f.undo(b, s, p, inputs(f.h.rec.Calls()), before)
				},
			}
			for _, w := range orders[round%len(orders)] {
				ways[w]()
			}
		}
	}
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
	fmt.Printf("\nlatency in ms, %d samples each, interleaved; direct = the handler's own DynamoDB calls replayed straight through the SDK\n", len(lat[0].handler))
	fmt.Printf("ours = the handler's time outside its DynamoDB calls, p50\n")
	fmt.Printf("%-28s %5s %5s %6s %6s | %7s %7s | %7s %7s | %7s %7s | %5s | %6s %6s\n", "operation", "trips", "calls", "cap", "min",
		"handler", "p90", "http", "p90", "direct", "p90", "ours", "h/d", "http/d")
	for i, s := range ss {
		l := lat[i]
		hd, ht, dd := percentile(l.handler, .5), percentile(l.http, .5), percentile(l.direct, .5)
		fmt.Printf("%-28s %5d %5d %6.1f %6.1f | %7s %7s | %7s %7s | %7s %7s | %5s | %6.2f %6.2f\n", s.Name,
			calltrace.RoundTrips(last[i]), len(last[i]), calltrace.Capacity(last[i]), s.MinCapacity,
			ms(hd), ms(percentile(l.handler, .9)), ms(ht), ms(percentile(l.http, .9)), ms(dd), ms(percentile(l.direct, .9)),
			ms(percentile(l.ours, .5)), float64(hd)/float64(dd), float64(ht)/float64(dd))
	}
}

// inCalls is how long at least one of calls was in flight: what of a
// handler's time was spent in the DynamoDB client (the SDK's encoding,
// signing and decoding count as the call's); the rest is ours (decoding
// the event, deciding, encoding the response, waking between round trips).
func inCalls(calls []calltrace.Call) time.Duration {
	var in time.Duration
	var end time.Time
	for _, c := range calls { // by start time
		from := c.Start
		if from.Before(end) {
			from = end
		}
		if c.End.After(from) {
			in += c.End.Sub(from)
		}
		if c.End.After(end) {
			end = c.End
		}
	}
	return in
}

// BenchmarkThroughput runs the two portal reads back to back for a fixed
// time at concurrency 1 and 8, through the handler, the gateway over HTTP
// and directly, interleaved in short slices, and prints operations per
// second and their ratios to direct. The slices are short and each round
// starts with another way, so that a burst of load from elsewhere on the
// machine falls on all three alike rather than on one.
func BenchmarkThroughput(b *testing.B) {
	f := newFloor(b, newHarness(b, 0), false)
	var ss []Scenario
	recorded := map[string][]calltrace.Call{}
	for _, s := range Scenarios() {
		if s.Name != "list conversations" && s.Name != "read conversation" {
			continue
		}
		ss = append(ss, s)
		f.learn(b, s)
		f.prepare(b, s, f.plans[s.Name])
		_, calls := f.handler(b, s)
		recorded[s.Name] = calls
	}
	ways := []struct {
		name string
		call func(Scenario)
	}{
		{"handler", func(s Scenario) {
			resp, err := f.h.plain[s.Function()](context.Background(), s.Event(f.h.claims))
			if err != nil {
				b.Error(err)
			} else if err := s.Check(resp.StatusCode, resp.Body); err != nil {
				b.Error(err)
			}
		}},
		{"http", func(s Scenario) { f.http(b, s) }},
		{"direct", func(s Scenario) { f.direct(b, s, f.plans[s.Name], recorded[s.Name]) }},
	}
	const slice, rounds = 50 * time.Millisecond, 5
	counts := map[string]*atomic.Int64{}
	var elapsed = map[string]time.Duration{}
	round := 0
	for b.Loop() {
		for range rounds {
			round++
			for _, s := range ss {
				for _, c := range []int{1, 8} {
					for i := range ways {
						w := ways[(i+round)%len(ways)]
						k := fmt.Sprintf("%s|%d|%s", s.Name, c, w.name)
						if counts[k] == nil {
							counts[k] = &atomic.Int64{}
						}
						stop := time.Now().Add(slice)
						t0 := time.Now()
						var wg sync.WaitGroup
						for range c {
							wg.Go(func() {
								for time.Now().Before(stop) {
									w.call(s)
									counts[k].Add(1)
								}
							})
						}
						wg.Wait()
						elapsed[k] += time.Since(t0)
					}
				}
			}
		}
	}
	fmt.Printf("\nthroughput, operations per second (%d slices of %s each, interleaved, each round starting with another way)\n", round, slice)
	fmt.Printf("%-20s %4s %9s %9s %9s %8s %8s\n", "operation", "conc", "handler", "http", "direct", "h/d", "http/d")
	for _, s := range ss {
		for _, c := range []int{1, 8} {
			rate := func(w string) float64 {
				k := fmt.Sprintf("%s|%d|%s", s.Name, c, w)
				return float64(counts[k].Load()) / elapsed[k].Seconds()
			}
			h, ht, d := rate("handler"), rate("http"), rate("direct")
			fmt.Printf("%-20s %4d %9.0f %9.0f %9.0f %8.2f %8.2f\n", s.Name, c, h, ht, d, h/d, ht/d)
		}
	}
}

// ---- the recorded requests ----

// token is a value the application makes up or names by ID: a ULID, a
// request ID, an idempotency key, a hash.
var token = regexp.MustCompile(`[0-9A-Za-z]{16,}`)

// rewrite returns a copy of a recorded request whose string attribute
// values have each token replaced by fn(token).
func rewrite(in any, fn func(string) string) any {
	item := func(m map[string]types.AttributeValue) map[string]types.AttributeValue {
		if m == nil {
			return nil
		}
		out := make(map[string]types.AttributeValue, len(m))
		for k, v := range m {
			out[k] = rewriteAV(v, fn)
		}
		return out
	}
	switch in := in.(type) {
	case *dynamodb.GetItemInput:
		c := *in
		c.Key = item(in.Key)
		return &c
	case *dynamodb.BatchGetItemInput:
		c := *in
		c.RequestItems = map[string]types.KeysAndAttributes{}
		for t, ka := range in.RequestItems {
			keys := make([]map[string]types.AttributeValue, len(ka.Keys))
			for i, k := range ka.Keys {
				keys[i] = item(k)
			}
			ka.Keys = keys
			c.RequestItems[t] = ka
		}
		return &c
	case *dynamodb.QueryInput:
		c := *in
		c.ExpressionAttributeValues, c.ExclusiveStartKey = item(in.ExpressionAttributeValues), item(in.ExclusiveStartKey)
		return &c
	case *dynamodb.PutItemInput:
		c := *in
		c.Item, c.ExpressionAttributeValues = item(in.Item), item(in.ExpressionAttributeValues)
		return &c
	case *dynamodb.UpdateItemInput:
		c := *in
		c.Key, c.ExpressionAttributeValues = item(in.Key), item(in.ExpressionAttributeValues)
		return &c
	case *dynamodb.DeleteItemInput:
		c := *in
		c.Key, c.ExpressionAttributeValues = item(in.Key), item(in.ExpressionAttributeValues)
		return &c
	case *dynamodb.TransactWriteItemsInput:
		c := *in
		if in.ClientRequestToken != nil {
			c.ClientRequestToken = aws.String(token.ReplaceAllStringFunc(*in.ClientRequestToken, fn))
		}
		c.TransactItems = make([]types.TransactWriteItem, len(in.TransactItems))
		for i, ti := range in.TransactItems {
			if p := ti.Put; p != nil {
				cp := *p
				cp.Item, cp.ExpressionAttributeValues = item(p.Item), item(p.ExpressionAttributeValues)
				ti.Put = &cp
			}
			if u := ti.Update; u != nil {
				cu := *u
				cu.Key, cu.ExpressionAttributeValues = item(u.Key), item(u.ExpressionAttributeValues)
				ti.Update = &cu
			}
			if d := ti.Delete; d != nil {
				cd := *d
				cd.Key, cd.ExpressionAttributeValues = item(d.Key), item(d.ExpressionAttributeValues)
				ti.Delete = &cd
			}
			if cc := ti.ConditionCheck; cc != nil {
				ccc := *cc
				ccc.Key, ccc.ExpressionAttributeValues = item(cc.Key), item(cc.ExpressionAttributeValues)
				ti.ConditionCheck = &ccc
			}
			c.TransactItems[i] = ti
		}
		return &c
	}
	panic(fmt.Sprintf("bench: cannot replay %T", in))
}

func rewriteAV(v types.AttributeValue, fn func(string) string) types.AttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return &types.AttributeValueMemberS{Value: token.ReplaceAllStringFunc(v.Value, fn)}
	case *types.AttributeValueMemberSS:
		out := make([]string, len(v.Value))
		for i, s := range v.Value {
			out[i] = token.ReplaceAllStringFunc(s, fn)
		}
		return &types.AttributeValueMemberSS{Value: out}
	case *types.AttributeValueMemberM:
		out := make(map[string]types.AttributeValue, len(v.Value))
		for k, e := range v.Value {
			out[k] = rewriteAV(e, fn)
		}
		return &types.AttributeValueMemberM{Value: out}
	case *types.AttributeValueMemberL:
		out := make([]types.AttributeValue, len(v.Value))
		for i, e := range v.Value {
			out[i] = rewriteAV(e, fn)
		}
		return &types.AttributeValueMemberL{Value: out}
	}
	return v
}

// inputs are the requests of calls.
func inputs(calls []calltrace.Call) []any {
	ins := make([]any, len(calls))
	for i, c := range calls {
		ins[i] = c.In
	}
	return ins
}

// sameAV reports whether two key attributes are equal (keys are strings).
func sameAV(a, b types.AttributeValue) bool {
	x, ok1 := a.(*types.AttributeValueMemberS)
	y, ok2 := b.(*types.AttributeValueMemberS)
	return ok1 && ok2 && x.Value == y.Value
}

// writes lists the items the requests ins put, update or delete.
func writes(ins []any) []itemKey {
	keyOf := func(item map[string]types.AttributeValue) map[string]types.AttributeValue {
		k := map[string]types.AttributeValue{}
		for _, a := range []string{"PK", "SK"} {
			if v, ok := item[a]; ok {
				k[a] = v
			}
		}
		return k
	}
	var out []itemKey
	for _, in := range ins {
		switch in := in.(type) {
		case *dynamodb.PutItemInput:
			out = append(out, itemKey{aws.ToString(in.TableName), keyOf(in.Item)})
		case *dynamodb.UpdateItemInput:
			out = append(out, itemKey{aws.ToString(in.TableName), in.Key})
		case *dynamodb.DeleteItemInput:
			out = append(out, itemKey{aws.ToString(in.TableName), in.Key})
		case *dynamodb.TransactWriteItemsInput:
			for _, ti := range in.TransactItems {
				switch {
				case ti.Put != nil:
					out = append(out, itemKey{aws.ToString(ti.Put.TableName), keyOf(ti.Put.Item)})
				case ti.Update != nil:
					out = append(out, itemKey{aws.ToString(ti.Update.TableName), ti.Update.Key})
				case ti.Delete != nil:
					out = append(out, itemKey{aws.ToString(ti.Delete.TableName), ti.Delete.Key})
				}
			}
		}
	}
	return out
}

// send issues a recorded request.
func send(ctx context.Context, c store.API, in any) error {
	var err error
	switch in := in.(type) {
	case *dynamodb.GetItemInput:
		_, err = c.GetItem(ctx, in)
	case *dynamodb.BatchGetItemInput:
		_, err = c.BatchGetItem(ctx, in)
	case *dynamodb.QueryInput:
		_, err = c.Query(ctx, in)
	case *dynamodb.PutItemInput:
		_, err = c.PutItem(ctx, in)
	case *dynamodb.UpdateItemInput:
		_, err = c.UpdateItem(ctx, in)
	case *dynamodb.DeleteItemInput:
		_, err = c.DeleteItem(ctx, in)
	case *dynamodb.TransactWriteItemsInput:
		_, err = c.TransactWriteItems(ctx, in)
	default:
		err = fmt.Errorf("cannot replay %T", in)
	}
	return err
}

// Overlapping calls count once and the gaps between round trips not at
// all: inCalls is what "ours" is measured against.
func TestInCallsCountsOverlapOnce(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	calls := []calltrace.Call{
		{Start: at(0), End: at(4)}, // the access read
		{Start: at(1), End: at(3)}, // the query beside it
		{Start: at(6), End: at(9)}, // the audit put, after 2 ms of ours
	}
	if got := inCalls(calls); got != 7*time.Millisecond {
		t.Fatalf("inCalls = %v, want 7ms", got)
	}
}
