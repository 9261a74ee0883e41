package devstack_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/devstack"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/localdev/officeclock"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// syncBuffer collects the stack's logs for the no-PHI check.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	t    testing.TB
	st   *devstack.Stack
	logs *syncBuffer
}

// start runs the whole product on free ports over fresh seeded tables.
func start(t *testing.T) *env { return startWith(t, devstack.Options{}) }

// startWith is start with more options (the notification path, say).
func startWith(t testing.TB, opts devstack.Options) *env {
	t.Helper()
	logs := &syncBuffer{}
	opts.DynamoEndpoint = dynamotest.Endpoint()
	if opts.Now == nil {
		// Inside office hours, whenever the test runs; tests about the
		// calendar set their own clock.
		opts.Now = officeclock.Open()
	}
	opts.Log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := devstack.Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Stop)
	return &env{t: t, st: st, logs: logs}
}

// as returns a client holding a real signed token for a demo user.
func (e *env) as(audience, username string) *client {
	e.t.Helper()
	tok, err := e.st.Token(audience, username)
	if err != nil {
		e.t.Fatal(err)
	}
	return &client{e: e, token: tok}
}

type client struct {
	e     *env
	token string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request to the API. body may be a string (sent as is) or a
// value (sent as JSON). headers are name, value pairs.
func (c *client) do(method, path string, body any, headers ...string) response {
	c.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(c.e.t.Context(), method, c.e.st.APIURL+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// must sends the request and fails the test unless the status is want.
func (c *client) must(want int, method, path string, body any, headers ...string) response {
	c.e.t.Helper()
	r := c.do(method, path, body, headers...)
	if r.status != want {
		c.e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, want, r.body)
	}
	return r
}

var keySeq atomic.Int64

// key returns a fresh Idempotency-Key header pair.
func key() []string {
	return []string{"Idempotency-Key", "test-key-" + strconv.FormatInt(keySeq.Add(1), 10)}
}
