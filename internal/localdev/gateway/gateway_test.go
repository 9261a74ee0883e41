package gateway_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/golang-jwt/jwt/v5"

	"github.com/pedsportal/messaging/internal/localdev/gateway"
	"github.com/pedsportal/messaging/internal/localdev/issuer"
	"github.com/pedsportal/messaging/internal/routes"
)

const appOrigin = "http://127.0.0.1:5173"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// One issuer for the whole package: key generation is the slow part.
var (
	iss       *issuer.Issuer
	issServer *httptest.Server
)

func TestMain(m *testing.M) {
	issServer = httptest.NewUnstartedServer(nil)
	var err error
	iss, err = issuer.New(issuer.Config{
		BaseURL: "http://" + issServer.Listener.Addr().String(),
		Users: []issuer.User{
			{Sub: "sub-parent1", Username: "parent1", Name: "Pat Parent", Audience: "portal"},
			{Sub: "sub-drlee", Username: "drlee", Name: "Dr Lee", Audience: "staff", Groups: []string{"doctor", "admin"}},
		},
		Logger: quiet,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	issServer.Config.Handler = iss.Handler()
	issServer.Start()
	code := m.Run()
	issServer.Close()
	os.Exit(code)
}

// calls records what the handlers received.
type calls struct {
	mu     sync.Mutex
	events []events.APIGatewayV2HTTPRequest
	lc     []*lambdacontext.LambdaContext
	hasDL  []bool
}

func (c *calls) count() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.events) }

func (c *calls) last(tb testing.TB) (events.APIGatewayV2HTTPRequest, *lambdacontext.LambdaContext, bool) {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.events) == 0 {
		tb.Fatal("handler not called")
	}
	n := len(c.events) - 1
	return c.events[n], c.lc[n], c.hasDL[n]
}

// echo answers 200 with the function name, after recording the event.
func (c *calls) echo(fn string) gateway.Handler {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		lc, _ := lambdacontext.FromContext(ctx)
		_, hasDL := ctx.Deadline()
		c.mu.Lock()
		c.events = append(c.events, ev)
		c.lc = append(c.lc, lc)
		c.hasDL = append(c.hasDL, hasDL)
		c.mu.Unlock()
		return events.APIGatewayV2HTTPResponse{
			StatusCode: http.StatusOK,
			Headers:    map[string]string{"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"},
			Body:       `{"function":"` + fn + `"}`,
		}, nil
	}
}

type setup struct {
	srv   *httptest.Server
	calls *calls
}

// newGateway serves the real route table with recording handlers; change
// may adjust the config.
func newGateway(tb testing.TB, change func(*gateway.Config)) setup {
	tb.Helper()
	c := &calls{}
	handlers := map[string]gateway.Handler{}
	for _, fn := range routes.FunctionNames() {
		handlers[fn] = c.echo(fn)
	}
	cfg := gateway.Config{
		Routes:   routes.All(),
		Handlers: handlers,
		Authorizers: map[routes.Audience]gateway.Authorizer{
			routes.Portal: {Issuer: iss.IssuerURL("portal"), Audience: []string{iss.ClientID("portal")}},
			routes.Staff:  {Issuer: iss.IssuerURL("staff"), Audience: []string{iss.ClientID("staff")}},
		},
		CORSOrigins: []string{appOrigin},
		Logger:      quiet,
	}
	if change != nil {
		change(&cfg)
	}
	g, err := gateway.New(cfg)
	if err != nil {
		tb.Fatalf("gateway.New: %v", err)
	}
	srv := httptest.NewServer(g)
	tb.Cleanup(func() { srv.Close(); _ = g.Close() })
	return setup{srv, c}
}

func mint(tb testing.TB, aud, user string, opts ...issuer.MintOption) string {
	tb.Helper()
	tok, err := iss.Mint(aud, user, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func claimsOf(tb testing.TB, aud, user string, opts ...issuer.MintOption) jwt.MapClaims {
	tb.Helper()
	c, err := iss.Claims(aud, user, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

type response struct {
	status  int
	header  http.Header
	body    []byte
	message string
}

func do(tb testing.TB, req *http.Request) response {
	tb.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	var m struct{ Message string }
	_ = json.Unmarshal(body, &m)
	return response{res.StatusCode, res.Header, body, m.Message}
}

func get(tb testing.TB, url, authorization string) response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return do(tb, req)
}

func TestJWTAuthorizer(t *testing.T) {
	s := newGateway(t, nil)
	url := s.srv.URL + "/portal/patients/p-1/conversations"
	sign := func(f func() (string, error)) string {
		tok, err := f()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	portal := claimsOf(t, "portal", "parent1")

	const audienceChallenge = `Bearer scope="" error="invalid_token" error_description="the token does not have a valid audience"`
	tests := []struct {
		name          string
		authorization string
		wantStatus    int
		wantChallenge string // exact when set; otherwise only checked to start with Bearer
		wantDesc      string // error_description, when set
	}{
		{name: "valid access token", authorization: "Bearer " + mint(t, "portal", "parent1"), wantStatus: 200},
		{name: "bare token, as API Gateway allows", authorization: mint(t, "portal", "parent1"), wantStatus: 200},
		{name: "lower-case scheme", authorization: "bearer " + mint(t, "portal", "parent1"), wantStatus: 200},
		{name: "scope in scp", authorization: "Bearer " + mint(t, "portal", "parent1", issuer.WithoutClaim("scope"), issuer.WithClaim("scp", []string{"other", routes.ScopePortal})), wantStatus: 200},
		{name: "missing token", wantStatus: 401, wantChallenge: "Bearer"},
		{name: "empty Bearer", authorization: "Bearer ", wantStatus: 401, wantChallenge: "Bearer"},
		{name: "other scheme", authorization: "Basic cGFyZW50MTpwdw==", wantStatus: 401, wantDesc: "the token is malformed"},
		{name: "garbage", authorization: "Bearer not.a.jwt", wantStatus: 401, wantDesc: "the token is malformed"},
		{name: "expired", authorization: "Bearer " + mint(t, "portal", "parent1", issuer.WithExpiresIn(-time.Second)), wantStatus: 401, wantDesc: "the token has expired"},
		{name: "no exp", authorization: "Bearer " + mint(t, "portal", "parent1", issuer.WithoutClaim("exp")), wantStatus: 401, wantDesc: "the token has no exp"},
		{name: "not yet valid", authorization: "Bearer " + mint(t, "portal", "parent1", issuer.WithNotBefore(time.Now().Add(time.Hour))), wantStatus: 401, wantDesc: "the token is not valid yet"},
		{name: "issued in the future", authorization: "Bearer " + mint(t, "portal", "parent1", issuer.WithIssuedAt(time.Now().Add(time.Hour))), wantStatus: 401, wantDesc: "the token was issued in the future"},
		{name: "forged signature", authorization: "Bearer " + sign(func() (string, error) { return iss.SignWithForeignKey("portal", portal) }), wantStatus: 401, wantDesc: "the token signature is invalid"},
		{name: "alg none", authorization: "Bearer " + sign(func() (string, error) { return iss.UnsignedAlgNone("portal", portal) }), wantStatus: 401, wantDesc: "the token signature is invalid"},
		{name: "HS256 keyed by the public key", authorization: "Bearer " + sign(func() (string, error) { return iss.SignHS256WithPublicKey("portal", portal) }), wantStatus: 401, wantDesc: "the token signature is invalid"},
		{name: "missing kid", authorization: "Bearer " + mint(t, "portal", "parent1", issuer.WithoutKeyID()), wantStatus: 401, wantDesc: "the token has no kid"},
		{name: "unknown kid", authorization: "Bearer " + mint(t, "portal", "parent1", issuer.WithKeyID("not-in-the-jwks")), wantStatus: 401, wantDesc: "the token's kid is not in the JWKS"},
		{name: "token of the other pool", authorization: "Bearer " + mint(t, "staff", "drlee"), wantStatus: 401, wantDesc: "the token's kid is not in the JWKS"},
		{name: "wrong issuer", authorization: "Bearer " + mint(t, "portal", "parent1", issuer.WithClaim("iss", iss.IssuerURL("portal")+"/")), wantStatus: 401, wantDesc: "the token does not have a valid issuer"},
		{name: "wrong client_id", authorization: "Bearer " + mint(t, "portal", "parent1", issuer.WithClaim("client_id", "staff-web")), wantStatus: 401, wantChallenge: audienceChallenge},
		{name: "no aud, no client_id", authorization: "Bearer " + mint(t, "portal", "parent1", issuer.WithoutClaim("client_id")), wantStatus: 401, wantChallenge: audienceChallenge},
		{name: "aud wins over a right client_id", authorization: "Bearer " + mint(t, "portal", "parent1", issuer.WithClaim("aud", "someone-else")), wantStatus: 401, wantChallenge: audienceChallenge},
		{name: "ID token lacks the scope", authorization: "Bearer " + mint(t, "portal", "parent1", issuer.AsIDToken()), wantStatus: 403},
		{name: "access token with other scopes", authorization: "Bearer " + mint(t, "portal", "parent1", issuer.WithScope("openid staff/messages")), wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.calls.count()
			res := get(t, url, tt.authorization)
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", res.status, res.body, tt.wantStatus)
			}
			if id := res.header.Get("apigw-requestid"); len(id) != 16 {
				t.Errorf("apigw-requestid = %q", id)
			}
			called := s.calls.count() > before
			challenge := res.header.Get("WWW-Authenticate")
			switch tt.wantStatus {
			case 200:
				if !called {
					t.Errorf("handler not called")
				}
				if challenge != "" {
					t.Errorf("www-authenticate on success: %q", challenge)
				}
				return
			case 401:
				if res.message != "Unauthorized" {
					t.Errorf("body = %s, want {\"message\":\"Unauthorized\"}", res.body)
				}
			case 403:
				if res.message != "Forbidden" {
					t.Errorf("body = %s, want {\"message\":\"Forbidden\"}", res.body)
				}
				if !strings.Contains(challenge, `error="insufficient_scope"`) || !strings.Contains(challenge, routes.ScopePortal) {
					t.Errorf("www-authenticate = %q, want insufficient_scope naming %s", challenge, routes.ScopePortal)
				}
			}
			if called {
				t.Errorf("handler called for a refused request")
			}
			if ct := res.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if tt.wantChallenge != "" && challenge != tt.wantChallenge {
				t.Errorf("www-authenticate = %q, want %q", challenge, tt.wantChallenge)
			}
			if !strings.HasPrefix(challenge, "Bearer") {
				t.Errorf("www-authenticate = %q, want a Bearer challenge", challenge)
			}
			if tt.wantDesc != "" && !strings.Contains(challenge, `error="invalid_token" error_description="`+tt.wantDesc+`"`) {
				t.Errorf("www-authenticate = %q, want error_description %q", challenge, tt.wantDesc)
			}
		})
	}
}

// A token the gateway has verified once is still checked on every request
// as if it were new: against the clock, and against the keys the gateway
// holds now.
func TestVerifiedTokenIsCheckedAgain(t *testing.T) {
	t.Run("clock", func(t *testing.T) {
		var mu sync.Mutex
		now := time.Now()
		s := newGateway(t, func(c *gateway.Config) {
			c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		})
		setNow := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
		url := s.srv.URL + "/portal/patients/p-1/conversations"
		tok := "Bearer " + mint(t, "portal", "parent1", issuer.WithExpiresIn(time.Hour))
		start := now
		for _, step := range []struct {
			at         time.Time
			wantStatus int
			wantDesc   string
		}{
			{start, 200, ""},
			{start.Add(2 * time.Hour), 401, "the token has expired"},
			{start.Add(-time.Hour), 401, "the token was issued in the future"},
			{start, 200, ""},
		} {
			setNow(step.at)
			res := get(t, url, tok)
			if res.status != step.wantStatus {
				t.Fatalf("at %s: status = %d, want %d", step.at.Sub(start), res.status, step.wantStatus)
			}
			if ch := res.header.Get("WWW-Authenticate"); step.wantDesc != "" && !strings.Contains(ch, step.wantDesc) {
				t.Errorf("at %s: www-authenticate = %q, want %q", step.at.Sub(start), ch, step.wantDesc)
			}
		}
	})
	t.Run("keys", func(t *testing.T) {
		// The JWKS is served by the package's issuer, then by one with
		// other keys under the same issuer URL.
		other, err := issuer.New(issuer.Config{BaseURL: "http://" + issServer.Listener.Addr().String(),
			Users: []issuer.User{{Sub: "sub-parent1", Username: "parent1", Name: "Pat Parent", Audience: "portal"}}, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		keys := iss
		jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			body, err := keys.JWKS("portal")
			mu.Unlock()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}))
		t.Cleanup(jwks.Close)
		s := newGateway(t, func(c *gateway.Config) {
			a := c.Authorizers[routes.Portal]
			a.JWKSURL = jwks.URL
			c.Authorizers[routes.Portal] = a
		})
		url := s.srv.URL + "/portal/patients/p-1/conversations"
		old := "Bearer " + mint(t, "portal", "parent1")
		if res := get(t, url, old); res.status != 200 {
			t.Fatalf("first request: status = %d", res.status)
		}
		mu.Lock()
		keys = other
		mu.Unlock()
		// A token of the new key makes the gateway fetch the keys again.
		tok, err := other.Mint("portal", "parent1")
		if err != nil {
			t.Fatal(err)
		}
		if res := get(t, url, "Bearer "+tok); res.status != 200 {
			t.Fatalf("token of the new key: status = %d", res.status)
		}
		res := get(t, url, old)
		if res.status != 401 || !strings.Contains(res.header.Get("WWW-Authenticate"), "the token's kid is not in the JWKS") {
			t.Fatalf("token of the removed key: status = %d, www-authenticate = %q, want 401, kid not in the JWKS", res.status, res.header.Get("WWW-Authenticate"))
		}
	})
}

func TestEventShape(t *testing.T) {
	s := newGateway(t, nil)
	body := `{"body":"hello"}`
	req, err := http.NewRequest(http.MethodPost,
		s.srv.URL+"/staff/patients/pat%201/conversations/c%2F9/messages?b=2&a=1&a=x%20y", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+mint(t, "staff", "drlee"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "k-1")
	req.Header.Add("X-Multi", "one")
	req.Header.Add("X-Multi", "two")
	req.Header.Set("User-Agent", "gateway-test/1")
	req.Header.Add("Cookie", "a=1; b=2")
	req.Header.Add("Cookie", "c=3")
	before := time.Now()
	res := do(t, req)
	if res.status != http.StatusOK {
		t.Fatalf("status = %d: %s", res.status, res.body)
	}
	ev, lc, hasDeadline := s.calls.last(t)

	checks := []struct {
		name      string
		got, want any
	}{
		{"version", ev.Version, "2.0"},
		{"routeKey", ev.RouteKey, "POST /staff/patients/{patientId}/conversations/{conversationId}/messages"},
		{"rawPath", ev.RawPath, "/staff/patients/pat%201/conversations/c%2F9/messages"},
		{"rawQueryString", ev.RawQueryString, "b=2&a=1&a=x%20y"},
		{"cookies", ev.Cookies, []string{"a=1", "b=2", "c=3"}},
		{"header, lower-cased", ev.Headers["idempotency-key"], "k-1"},
		{"header, repeated", ev.Headers["x-multi"], "one,two"},
		{"header host", ev.Headers["host"], strings.TrimPrefix(s.srv.URL, "http://")},
		{"header x-forwarded-for", ev.Headers["x-forwarded-for"], "127.0.0.1"},
		{"header x-forwarded-proto", ev.Headers["x-forwarded-proto"], "http"},
		{"no cookie header", ev.Headers["cookie"], ""},
		{"query, repeated", ev.QueryStringParameters["a"], "1,x y"},
		{"query", ev.QueryStringParameters["b"], "2"},
		{"path parameter, decoded", ev.PathParameters["patientId"], "pat 1"},
		{"path parameter, encoded slash", ev.PathParameters["conversationId"], "c/9"},
		{"body", ev.Body, body},
		{"isBase64Encoded", ev.IsBase64Encoded, false},
		{"accountId", ev.RequestContext.AccountID, "123456789012"},
		{"apiId", ev.RequestContext.APIID, "localapi"},
		{"domainName", ev.RequestContext.DomainName, strings.TrimPrefix(s.srv.URL, "http://")},
		{"domainPrefix", ev.RequestContext.DomainPrefix, "127"},
		{"requestContext.routeKey", ev.RequestContext.RouteKey, ev.RouteKey},
		{"stage", ev.RequestContext.Stage, "$default"},
		{"requestId matches the response header", ev.RequestContext.RequestID, res.header.Get("apigw-requestid")},
		{"http.method", ev.RequestContext.HTTP.Method, "POST"},
		{"http.path", ev.RequestContext.HTTP.Path, ev.RawPath},
		{"http.protocol", ev.RequestContext.HTTP.Protocol, "HTTP/1.1"},
		{"http.sourceIp", ev.RequestContext.HTTP.SourceIP, "127.0.0.1"},
		{"http.userAgent", ev.RequestContext.HTTP.UserAgent, "gateway-test/1"},
		{"claim sub", ev.RequestContext.Authorizer.JWT.Claims["sub"], "sub-drlee"},
		{"claim token_use", ev.RequestContext.Authorizer.JWT.Claims["token_use"], "access"},
		{"claim list, as API Gateway prints it", ev.RequestContext.Authorizer.JWT.Claims["cognito:groups"], "[doctor admin]"},
		{"claim number, digits", regexp.MustCompile(`^\d{10}$`).MatchString(ev.RequestContext.Authorizer.JWT.Claims["exp"]), true},
		{"claim iss", ev.RequestContext.Authorizer.JWT.Claims["iss"], iss.IssuerURL("staff")},
		{"scopes", ev.RequestContext.Authorizer.JWT.Scopes, []string{"openid", routes.ScopeStaff}},
		{"lambda request ID is a UUID", regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(lc.AwsRequestID), true},
		{"function ARN", lc.InvokedFunctionArn, "arn:aws:lambda:us-east-1:123456789012:function:" + routes.FnWriteMessage},
		{"context deadline", hasDeadline, true},
	}
	for _, c := range checks {
		if !jsonEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if lc.AwsRequestID == ev.RequestContext.RequestID {
		t.Errorf("the Lambda request ID must differ from API Gateway's")
	}
	tm, err := time.Parse("02/Jan/2006:15:04:05 -0700", ev.RequestContext.Time)
	if err != nil {
		t.Errorf("time %q: %v", ev.RequestContext.Time, err)
	}
	epoch := time.UnixMilli(ev.RequestContext.TimeEpoch)
	if epoch.Before(before.Add(-time.Second)) || epoch.After(time.Now()) || epoch.Truncate(time.Second).Unix() != tm.Unix() {
		t.Errorf("time %s / timeEpoch %d inconsistent with the request", ev.RequestContext.Time, ev.RequestContext.TimeEpoch)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// The event must have the shape of aws-lambda-go's own JWT-authorizer
// fixture: every field the fixture has (but the optional mTLS, stage
// variables and the fixture's own header and claim names) is produced, and
// nothing else is.
func TestEventMatchesLambdaFixture(t *testing.T) {
	fixture := readFixture(t, "apigw-v2-request-jwt-authorizer.json")
	var want events.APIGatewayV2HTTPRequest
	strict(t, fixture, &want) // sanity: the fixture itself decodes strictly

	s := newGateway(t, nil)
	req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/portal/patients/p-1/conversations?parameter1=value1", strings.NewReader(`{"a":1}`))
	req.Header.Set("Authorization", "Bearer "+mint(t, "portal", "parent1"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Cookie", "cookie1=x")
	if res := do(t, req); res.status != http.StatusOK {
		t.Fatalf("status = %d: %s", res.status, res.body)
	}
	ev, _, _ := s.calls.last(t)
	produced, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var back events.APIGatewayV2HTTPRequest
	strict(t, produced, &back)
	if !jsonEqual(back, ev) {
		t.Errorf("event does not survive a JSON round trip")
	}

	ignore := regexp.MustCompile(`^(requestContext\.authentication|stageVariables|headers\.|pathParameters\.|queryStringParameters\.|requestContext\.authorizer\.jwt\.claims\.)`)
	wantPaths, gotPaths := keyPaths(t, fixture, ignore), keyPaths(t, produced, ignore)
	for _, p := range wantPaths {
		if !slices.Contains(gotPaths, p) {
			t.Errorf("the fixture has %s, the gateway's event does not", p)
		}
	}
	for _, p := range gotPaths {
		if !slices.Contains(wantPaths, p) {
			t.Errorf("the gateway's event has %s, the fixture does not", p)
		}
	}
}

func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/aws/aws-lambda-go").Output()
	if err != nil {
		tb.Fatalf("locating aws-lambda-go: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "events", "testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func strict(tb testing.TB, data []byte, v any) {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("strict decode: %v", err)
	}
}

// keyPaths lists the dotted paths of every object key in a JSON document.
func keyPaths(tb testing.TB, data []byte, ignore *regexp.Regexp) []string {
	tb.Helper()
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		tb.Fatal(err)
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		for k, child := range m {
			p := strings.TrimPrefix(prefix+"."+k, ".")
			if ignore.MatchString(p) {
				continue
			}
			out = append(out, p)
			walk(p, child)
		}
	}
	walk("", doc)
	slices.Sort(out)
	return out
}

func TestRouting(t *testing.T) {
	s := newGateway(t, nil)
	staff := "Bearer " + mint(t, "staff", "drlee")
	portal := "Bearer " + mint(t, "portal", "parent1")
	tests := []struct {
		name, method, path, auth string
		wantStatus               int
		wantRoute                string
		wantParams               map[string]string
	}{
		{"literal beats parameter", "POST", "/staff/patients/search", staff, 200, "POST /staff/patients/search", nil},
		{"parameter", "GET", "/staff/patients/search", staff, 200, "GET /staff/patients/{patientId}", map[string]string{"patientId": "search"}},
		{"two parameters", "PUT", "/staff/patients/p-1/links/u-2", staff, 200, "PUT /staff/patients/{patientId}/links/{portalUserId}", map[string]string{"patientId": "p-1", "portalUserId": "u-2"}},
		{"percent-decoded", "GET", "/portal/patients/%70at-%C3%A9/conversations", portal, 200, "GET /portal/patients/{patientId}/conversations", map[string]string{"patientId": "pat-é"}},
		{"no parameters", "GET", "/portal/patients", portal, 200, "GET /portal/patients", nil},
		{"unknown path", "GET", "/portal/nothing", portal, 404, "", nil},
		{"wrong method", "DELETE", "/portal/patients", portal, 404, "", nil},
		{"trailing slash", "GET", "/portal/patients/", portal, 404, "", nil},
		{"empty parameter", "GET", "/portal/patients//conversations", portal, 404, "", nil},
		{"root", "GET", "/", "", 404, "", nil},
		{"not found without a token", "GET", "/nope", "", 404, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.calls.count()
			req, _ := http.NewRequest(tt.method, s.srv.URL+tt.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			res := do(t, req)
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", res.status, res.body, tt.wantStatus)
			}
			if tt.wantStatus == 404 {
				if string(bytes.TrimSpace(res.body)) != `{"message":"Not Found"}` {
					t.Errorf("body = %s", res.body)
				}
				if s.calls.count() != before {
					t.Errorf("handler called")
				}
				if res.header.Get("apigw-requestid") == "" {
					t.Errorf("no apigw-requestid")
				}
				return
			}
			ev, _, _ := s.calls.last(t)
			if ev.RouteKey != tt.wantRoute {
				t.Errorf("routeKey = %s, want %s", ev.RouteKey, tt.wantRoute)
			}
			if !jsonEqual(ev.PathParameters, tt.wantParams) {
				t.Errorf("pathParameters = %v, want %v", ev.PathParameters, tt.wantParams)
			}
		})
	}
}

func TestEveryRouteReachesItsFunction(t *testing.T) {
	s := newGateway(t, nil)
	tokens := map[routes.Audience]string{
		routes.Portal: "Bearer " + mint(t, "portal", "parent1"),
		routes.Staff:  "Bearer " + mint(t, "staff", "drlee"),
	}
	fill := strings.NewReplacer("{patientId}", "p-1", "{conversationId}", "c-1", "{portalUserId}", "u-1")
	for _, r := range routes.All() {
		t.Run(r.Key(), func(t *testing.T) {
			path := fill.Replace(r.Path)
			for aud, tok := range tokens {
				req, _ := http.NewRequest(r.Method, s.srv.URL+path, nil)
				req.Header.Set("Authorization", tok)
				res := do(t, req)
				// A public route takes any token, or none: it is not read.
				if aud != r.Audience && r.Audience != routes.Public {
					if res.status != http.StatusUnauthorized {
						t.Errorf("%s token: status %d, want 401", aud, res.status)
					}
					continue
				}
				if want := `{"function":"` + r.Function + `"}`; res.status != 200 || string(res.body) != want {
					t.Errorf("%s token: %d %s, want 200 %s", aud, res.status, res.body, want)
				}
			}
		})
	}
}

func TestCORS(t *testing.T) {
	s := newGateway(t, nil)
	url := s.srv.URL + "/portal/patients/p-1/conversations"
	preflight := func(origin string) *http.Request {
		req, _ := http.NewRequest(http.MethodOptions, url, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
		return req
	}
	actual := func(origin, auth string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Origin", origin)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		return req
	}
	valid := "Bearer " + mint(t, "portal", "parent1")
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		want       map[string]string // header → value; "" means absent
	}{
		{"preflight, allowed origin, no token needed", preflight(appOrigin), 204, map[string]string{
			"Access-Control-Allow-Origin":  appOrigin,
			"Access-Control-Allow-Headers": "authorization,content-type,idempotency-key",
			"Access-Control-Allow-Methods": "DELETE,GET,OPTIONS,PATCH,POST,PUT",
			"Access-Control-Max-Age":       "600",
		}},
		{"preflight, other origin", preflight("https://evil.example.test"), 204, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Headers": "",
		}},
		{"request, allowed origin; the function's own CORS header replaced", actual(appOrigin, valid), 200, map[string]string{
			"Access-Control-Allow-Origin":   appOrigin,
			"Access-Control-Expose-Headers": "apigw-requestid,location,retry-after,content-disposition,link",
		}},
		{"request, other origin", actual("https://evil.example.test", valid), 200, map[string]string{
			"Access-Control-Allow-Origin": "",
		}},
		{"401 readable by an allowed origin", actual(appOrigin, ""), 401, map[string]string{
			"Access-Control-Allow-Origin": appOrigin,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.calls.count()
			res := do(t, tt.req)
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", res.status, res.body, tt.wantStatus)
			}
			for h, want := range tt.want {
				if got := res.header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if tt.wantStatus == 204 && s.calls.count() != before {
				t.Errorf("a preflight reached the function")
			}
		})
	}

	t.Run("without CORS origins OPTIONS is just a request", func(t *testing.T) {
		plain := newGateway(t, func(c *gateway.Config) { c.CORSOrigins = nil })
		req, _ := http.NewRequest(http.MethodOptions, plain.srv.URL+"/portal/patients/p-1/conversations", nil)
		req.Header.Set("Origin", appOrigin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		if res := do(t, req); res.status != 404 || res.header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("status %d, ACAO %q; want 404 and no CORS", res.status, res.header.Get("Access-Control-Allow-Origin"))
		}
	})
}

// reader yields n bytes without a known length, so the request is chunked.
type reader struct{ n int }

func (r *reader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	k := min(len(p), r.n)
	for i := range p[:k] {
		p[i] = 'a'
	}
	r.n -= k
	return k, nil
}

func TestBodyLimits(t *testing.T) {
	s := newGateway(t, nil)
	url := s.srv.URL + "/portal/patients/p-1/conversations"
	tok := "Bearer " + mint(t, "portal", "parent1")
	tests := []struct {
		name       string
		body       io.Reader
		wantStatus int
		wantMsg    string
	}{
		{"over 10 MB, length known", bytes.NewReader(make([]byte, gateway.MaxRequestBytes+1)), 413, "Request Entity Too Large"},
		{"over 10 MB, chunked", &reader{gateway.MaxRequestBytes + 1}, 413, "Request Entity Too Large"},
		{"under 10 MB but over Lambda's 6 MB", bytes.NewReader(bytes.Repeat([]byte("a"), gateway.MaxInvokeBytes+1)), 500, "Internal Server Error"},
		{"small", strings.NewReader(`{"ok":true}`), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.calls.count()
			req, _ := http.NewRequest(http.MethodPost, url, tt.body)
			req.Header.Set("Authorization", tok)
			req.Header.Set("Content-Type", "application/json")
			res := do(t, req)
			if res.status != tt.wantStatus || res.message != tt.wantMsg {
				t.Fatalf("got %d %s, want %d %q", res.status, res.body, tt.wantStatus, tt.wantMsg)
			}
			if called := s.calls.count() > before; called != (tt.wantStatus == 200) {
				t.Errorf("handler called = %v", called)
			}
		})
	}
}

func TestBinaryBodies(t *testing.T) {
	payload := []byte{0x00, 0xff, 0x10, 'P', 'N', 'G'} // not valid UTF-8
	request := []byte(`{"name":"Zoë"}`)
	var got events.APIGatewayV2HTTPRequest
	s := newGateway(t, func(c *gateway.Config) {
		c.Handlers[routes.FnWriteMessage] = func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			got = ev
			return events.APIGatewayV2HTTPResponse{
				StatusCode:      201,
				Headers:         map[string]string{"Content-Type": "image/png"},
				Body:            base64.StdEncoding.EncodeToString(payload),
				IsBase64Encoded: true,
			}, nil
		}
	})
	tests := []struct {
		contentType string
		wantBase64  bool
	}{
		{"application/octet-stream", true},
		{"image/png", true},
		{"application/x-www-form-urlencoded", true},
		{"", true},
		{"application/json; charset=utf-8", false},
		{"application/problem+json", false},
		{"text/plain", false},
	}
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/portal/patients/p-1/conversations", bytes.NewReader(request))
			req.Header.Set("Authorization", "Bearer "+mint(t, "portal", "parent1"))
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			res := do(t, req)
			if res.status != 201 || !bytes.Equal(res.body, payload) || res.header.Get("Content-Type") != "image/png" {
				t.Fatalf("response %d %q %q, want 201, the decoded bytes and image/png", res.status, res.body, res.header.Get("Content-Type"))
			}
			if got.IsBase64Encoded != tt.wantBase64 {
				t.Fatalf("isBase64Encoded = %v, want %v", got.IsBase64Encoded, tt.wantBase64)
			}
			body := []byte(got.Body)
			if got.IsBase64Encoded {
				var err error
				if body, err = base64.StdEncoding.DecodeString(got.Body); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(body, request) {
				t.Errorf("body = %q, want %q", body, request)
			}
		})
	}
}

func TestResponses(t *testing.T) {
	tests := []struct {
		name       string
		handler    gateway.Handler
		timeout    time.Duration
		wantStatus int
		wantBody   string
		check      func(*testing.T, http.Header)
	}{
		{
			name: "headers, multi-value headers and cookies",
			handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{
					StatusCode:        201,
					Headers:           map[string]string{"Content-Type": "application/problem+json", "Location": "/x/1"},
					MultiValueHeaders: map[string][]string{"X-Multi": {"a", "b"}},
					Cookies:           []string{"s=1; HttpOnly", "t=2"},
					Body:              `{"ok":true}`,
				}, nil
			},
			wantStatus: 201, wantBody: `{"ok":true}`,
			check: func(t *testing.T, h http.Header) {
				if h.Get("Content-Type") != "application/problem+json" || h.Get("Location") != "/x/1" {
					t.Errorf("headers = %v", h)
				}
				if got := h.Values("X-Multi"); !slices.Equal(got, []string{"a", "b"}) {
					t.Errorf("X-Multi = %v", got)
				}
				if got := h.Values("Set-Cookie"); !slices.Equal(got, []string{"s=1; HttpOnly", "t=2"}) {
					t.Errorf("Set-Cookie = %v", got)
				}
			},
		},
		{
			// What the Lambda runtime's JSON encoding does to it.
			name: "invalid UTF-8 in a text body and a header",
			handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "caf\xe9", Headers: map[string]string{"X-Name": "a\xffb"}}, nil
			},
			wantStatus: 200, wantBody: "caf\ufffd",
			check: func(t *testing.T, h http.Header) {
				if got := h.Get("X-Name"); got != "a\ufffdb" {
					t.Errorf("X-Name = %q, want %q", got, "a\ufffdb")
				}
			},
		},
		{
			name: "handler error",
			handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "secret detail"}, errors.New("boom")
			},
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
		},
		{
			name: "handler panic",
			handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				panic("boom")
			},
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
		},
		{
			name: "no status code",
			handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{Body: "x"}, nil
			},
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
		},
		{
			name: "bad base64",
			handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "%%%", IsBase64Encoded: true}, nil
			},
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
		},
		{
			name: "response over Lambda's 6 MB",
			handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: strings.Repeat("a", gateway.MaxInvokeBytes)}, nil
			},
			wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`,
		},
		{
			name: "timeout",
			handler: func(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				<-ctx.Done()
				time.Sleep(20 * time.Millisecond) // a slow handler keeps going past its deadline
				return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
			},
			timeout:    50 * time.Millisecond,
			wantStatus: 503, wantBody: `{"message":"Service Unavailable"}`,
		},
		{
			name: "plain body gets a content type",
			handler: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
				return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "hi"}, nil
			},
			wantStatus: 200, wantBody: "hi",
			check: func(t *testing.T, h http.Header) {
				if got := h.Get("Content-Type"); got != "text/plain; charset=utf-8" {
					t.Errorf("Content-Type = %q", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newGateway(t, func(c *gateway.Config) {
				c.Handlers[routes.FnDirectory] = tt.handler
				c.Timeout = tt.timeout
			})
			res := get(t, s.srv.URL+"/portal/patients", "Bearer "+mint(t, "portal", "parent1"))
			if res.status != tt.wantStatus || strings.TrimSpace(string(res.body)) != tt.wantBody {
				t.Fatalf("got %d %.80s, want %d %s", res.status, res.body, tt.wantStatus, tt.wantBody)
			}
			if res.header.Get("apigw-requestid") == "" {
				t.Errorf("no apigw-requestid")
			}
			if tt.check != nil {
				tt.check(t, res.header)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	ok := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{}, nil
	}
	auth := map[routes.Audience]gateway.Authorizer{routes.Portal: {Issuer: "http://127.0.0.1:1/portal", Audience: []string{"portal-web"}}}
	route := func(method, path string) routes.Route {
		return routes.Route{Method: method, Path: path, Function: "f", Audience: routes.Portal, Scopes: []string{routes.ScopePortal}}
	}
	tests := []struct {
		name string
		cfg  gateway.Config
	}{
		{"no handler", gateway.Config{Routes: []routes.Route{route("GET", "/a")}, Authorizers: auth}},
		{"no authorizer", gateway.Config{Routes: []routes.Route{route("GET", "/a")}, Handlers: map[string]gateway.Handler{"f": ok}}},
		{"authorizer without audience", gateway.Config{Routes: []routes.Route{route("GET", "/a")}, Handlers: map[string]gateway.Handler{"f": ok},
			Authorizers: map[routes.Audience]gateway.Authorizer{routes.Portal: {Issuer: "http://127.0.0.1:1/portal"}}}},
		{"same route twice", gateway.Config{Routes: []routes.Route{route("GET", "/a/{x}"), route("GET", "/a/{y}")}, Handlers: map[string]gateway.Handler{"f": ok}, Authorizers: auth}},
		{"greedy parameter", gateway.Config{Routes: []routes.Route{route("GET", "/a/{proxy+}")}, Handlers: map[string]gateway.Handler{"f": ok}, Authorizers: auth}},
		{"relative path", gateway.Config{Routes: []routes.Route{route("GET", "a")}, Handlers: map[string]gateway.Handler{"f": ok}, Authorizers: auth}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if g, err := gateway.New(tt.cfg); err == nil {
				_ = g.Close()
				t.Errorf("New accepted the config")
			}
		})
	}
}

// The route table's public routes have no authorizer: no token is needed,
// a token of either pool (valid or not) is not checked, no authorizer
// block reaches the function, and CORS is as for every route.
func TestTableRoutesOfThePublicAudience(t *testing.T) {
	s := newGateway(t, nil)
	var public []routes.Route
	for _, r := range routes.All() {
		if r.Audience == routes.Public {
			public = append(public, r)
		}
	}
	if len(public) == 0 {
		t.Fatal("the route table has no public route")
	}
	for _, r := range public {
		for name, auth := range map[string]string{
			"no token":     "",
			"portal token": "Bearer " + mint(t, "portal", "parent1"),
			"staff token":  "Bearer " + mint(t, "staff", "drlee"),
			"garbage":      "Bearer not-a-jwt",
		} {
			t.Run(r.Key()+"/"+name, func(t *testing.T) {
				req, _ := http.NewRequest(r.Method, s.srv.URL+r.Path+"?t=abc", strings.NewReader("List-Unsubscribe=One-Click"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Origin", appOrigin)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				res := do(t, req)
				if want := `{"function":"` + r.Function + `"}`; res.status != 200 || string(res.body) != want {
					t.Fatalf("%d %s, want 200 %s", res.status, res.body, want)
				}
				if res.header.Get("Access-Control-Allow-Origin") != appOrigin {
					t.Errorf("no CORS header for the site's origin")
				}
				ev, _, _ := s.calls.last(t)
				if ev.RequestContext.Authorizer != nil || ev.QueryStringParameters["t"] != "abc" || !ev.IsBase64Encoded {
					t.Errorf("event authorizer %v, query %v, base64 %v", ev.RequestContext.Authorizer, ev.QueryStringParameters, ev.IsBase64Encoded)
				}
			})
		}
	}
	// New needs no authorizer for them.
	ok := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
	}
	g, err := gateway.New(gateway.Config{Routes: public, Handlers: map[string]gateway.Handler{public[0].Function: ok}, Logger: quiet})
	if err != nil {
		t.Fatalf("New without authorizers for public routes: %v", err)
	}
	_ = g.Close()
}

func TestPublicRouteNeedsNoToken(t *testing.T) {
	c := &calls{}
	g, err := gateway.New(gateway.Config{
		Routes:   []routes.Route{{Method: "GET", Path: "/health", Function: "health"}},
		Handlers: map[string]gateway.Handler{"health": c.echo("health")},
		Logger:   quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
	ev, _, _ := c.last(t)
	if rec.Code != 200 || ev.RequestContext.Authorizer != nil {
		t.Errorf("status %d, authorizer %v; want 200 and no authorizer block", rec.Code, ev.RequestContext.Authorizer)
	}
}
