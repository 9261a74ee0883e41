// Package gateway plays API Gateway's HTTP API in process: it routes by
// the route table (package routes), verifies JWTs as the HTTP API JWT
// authorizer does, builds real payload format 2.0 events, round-trips them
// through JSON as Lambda does, calls the function's handler and writes its
// APIGatewayV2HTTPResponse back.
//
// What it does as API Gateway does:
//   - no matching route: 404 {"message":"Not Found"};
//   - missing or invalid token: 401 {"message":"Unauthorized"} with a
//     www-authenticate header; a valid token without one of the route's
//     scopes: 403 {"message":"Forbidden"};
//   - token checks: bare token or "Bearer <token>", RS256, kid required and
//     found in the issuer's JWKS (discovered through the issuer's OpenID
//     configuration), iss exact, aud — or client_id when there is no aud —
//     among the audiences, exp/nbf/iat with no leeway;
//   - claims reach the handler as strings, lists as "[a b]";
//   - bodies over 10 MB: 413; handler errors and panics: 500
//     {"message":"Internal Server Error"}; no answer within the integration
//     timeout (30 s): 503 {"message":"Service Unavailable"};
//   - every response carries apigw-requestid;
//   - with CORS origins configured, preflight requests are answered
//     without authorization and the function's own CORS headers are
//     replaced by the gateway's.
//
// Beyond API Gateway, it also enforces Lambda's 6 MB synchronous payload
// limit on the event and the response, answering 500 as AWS does when the
// invocation fails.
package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/pedsportal/messaging/internal/routes"
)

// Limits of the services played here.
const (
	// MaxRequestBytes is the HTTP API payload limit.
	MaxRequestBytes = 10 << 20
	// MaxInvokeBytes is Lambda's synchronous invocation payload limit,
	// for the event and for the response.
	MaxInvokeBytes = 6 << 20
	// DefaultTimeout is the HTTP API's maximum integration timeout.
	DefaultTimeout = 30 * time.Second
)

// Handler is a Lambda function's handler for HTTP API events.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Config configures New.
type Config struct {
	Routes []routes.Route
	// Handlers maps routes.Route.Function to the function's handler.
	Handlers map[string]Handler
	// Authorizers maps each route audience to its JWT authorizer. A route
	// of audience routes.Public, or with an empty audience, is public: it
	// has no authorizer, and its requests reach the function with no
	// authorizer block, whatever Authorization header they carry.
	Authorizers map[routes.Audience]Authorizer
	// CORSOrigins enables CORS for exactly these origins.
	CORSOrigins []string
	// Stage defaults to "$default".
	Stage string
	// APIID and AccountID fill the request context. Defaults: "localapi"
	// and "123456789012".
	APIID, AccountID string
	// Region names the functions' ARNs. Default: us-east-1.
	Region string
	// Timeout is the integration timeout. Default: DefaultTimeout.
	Timeout time.Duration
	// Now is the clock for tokens and request times. Default: time.Now.
	Now func() time.Time
	// Logger gets one line per request (request ID, route key, status,
	// duration: IDs only, never bodies) and every 5xx. Default:
	// slog.Default().
	Logger *slog.Logger
}

// Gateway is an http.Handler that serves the API.
type Gateway struct {
	routes    []*route
	handlers  map[string]Handler
	auth      map[routes.Audience]*authorizer
	origins   []string
	methods   string
	stage     string
	apiID     string
	accountID string
	region    string
	timeout   time.Duration
	now       func() time.Time
	log       *slog.Logger
	cancel    context.CancelFunc
}

var _ http.Handler = (*Gateway)(nil)

// New checks the configuration: every route needs a handler and, unless
// public, an authorizer with an issuer and audiences; route keys are
// unique.
func New(cfg Config) (*Gateway, error) {
	ctx, cancel := context.WithCancel(context.Background())
	g := &Gateway{
		handlers:  cfg.Handlers,
		auth:      map[routes.Audience]*authorizer{},
		origins:   cfg.CORSOrigins,
		stage:     orDefault(cfg.Stage, "$default"),
		apiID:     orDefault(cfg.APIID, "localapi"),
		accountID: orDefault(cfg.AccountID, "123456789012"),
		region:    orDefault(cfg.Region, "us-east-1"),
		timeout:   cfg.Timeout,
		now:       cfg.Now,
		log:       cfg.Logger,
		cancel:    cancel,
	}
	if g.timeout <= 0 {
		g.timeout = DefaultTimeout
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	fail := func(format string, args ...any) (*Gateway, error) {
		cancel()
		return nil, fmt.Errorf("gateway: "+format, args...)
	}
	for aud, a := range cfg.Authorizers {
		if a.Issuer == "" || len(a.Audience) == 0 {
			return fail("authorizer %q needs an issuer and at least one audience", aud)
		}
		if a.Client == nil {
			a.Client = &http.Client{Timeout: 10 * time.Second}
		}
		g.auth[aud] = &authorizer{Authorizer: a, ctx: ctx, log: g.log}
	}
	seen := map[string]bool{}
	methods := []string{http.MethodOptions}
	for _, r := range cfg.Routes {
		c, err := compile(r)
		if err != nil {
			return fail("%v", err)
		}
		// Two routes that differ only in parameter names are one route
		// to API Gateway.
		shape := r.Method + " " + c.shape()
		if seen[shape] {
			return fail("route %s is defined twice", r.Key())
		}
		seen[shape] = true
		if cfg.Handlers[r.Function] == nil {
			return fail("route %s: no handler for function %q", r.Key(), r.Function)
		}
		if !public(r) && g.auth[r.Audience] == nil {
			return fail("route %s: no authorizer for audience %q", r.Key(), r.Audience)
		}
		if !slices.Contains(methods, r.Method) {
			methods = append(methods, r.Method)
		}
		g.routes = append(g.routes, c)
	}
	slices.Sort(methods)
	g.methods = strings.Join(methods, ",")
	return g, nil
}

// public reports whether a route has no authorizer, as API Gateway
// routes with authorization type NONE.
func public(r routes.Route) bool { return r.Audience == "" || r.Audience == routes.Public }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Close stops the authorizers' background key refresh.
func (g *Gateway) Close() error {
	g.cancel()
	return nil
}

// CORS settings: what the pages send and what they may read.
const (
	corsAllowHeaders  = "authorization,content-type,idempotency-key"
	corsExposeHeaders = "apigw-requestid,location,retry-after,content-disposition,link"
	corsMaxAge        = "600"
)

// ServeHTTP serves one request as API Gateway and Lambda would.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := g.now()
	id := requestID()
	rec := &statusRecorder{ResponseWriter: w}
	w = rec
	w.Header().Set("Apigw-Requestid", id)
	routeKey := "-"
	defer func() {
		g.log.Info("gateway: request", "requestId", id, "routeKey", routeKey, "status", rec.status,
			"durationMs", time.Since(received).Milliseconds())
	}()

	if g.cors(w, r) {
		return
	}
	if r.ContentLength > MaxRequestBytes {
		g.message(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		g.message(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > MaxRequestBytes {
		g.message(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}

	segs, err := splitPath(r.URL.EscapedPath())
	if err != nil {
		g.message(w, http.StatusNotFound, "Not Found")
		return
	}
	rt, params := g.find(r.Method, segs)
	if rt == nil {
		g.message(w, http.StatusNotFound, "Not Found")
		return
	}
	routeKey = rt.Key()

	q := request{r: r, body: body, route: rt, params: params, id: id, received: received}
	if !public(rt.Route) {
		claims, scopes, deny := g.auth[rt.Audience].authorize(r.Context(), r, rt.Scopes, received)
		if deny != nil {
			w.Header().Set("Www-Authenticate", deny.challenge)
			msg := "Unauthorized"
			if deny.status == http.StatusForbidden {
				msg = "Forbidden"
			}
			g.message(w, deny.status, msg)
			return
		}
		q.claims, q.scopes = claims, scopes
	}

	resp, status, err := g.invoke(r.Context(), rt, g.event(q))
	if err != nil {
		g.log.Error("gateway: integration failed", "requestId", id, "routeKey", routeKey, "function", rt.Function, "error", err)
		msg := "Internal Server Error"
		if status == http.StatusServiceUnavailable {
			msg = "Service Unavailable"
		}
		g.message(w, status, msg)
		return
	}
	g.write(w, r, id, routeKey, resp)
}

// invoke calls the handler the way the Lambda runtime does: the event and
// the response cross JSON, the context carries the invocation's request ID
// and deadline, and a panic is an error.
func (g *Gateway) invoke(ctx context.Context, rt *route, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, int, error) {
	var in events.APIGatewayV2HTTPRequest
	if err := roundTrip(ev, &in); err != nil {
		return events.APIGatewayV2HTTPResponse{}, http.StatusInternalServerError, err
	}
	arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:%s", g.region, g.accountID, rt.Function)
	// The invocation outlives a client that hangs up, as on AWS.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: uuid(), InvokedFunctionArn: arn})

	type result struct {
		resp events.APIGatewayV2HTTPResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("handler panicked: %v\n%s", p, debug.Stack())}
			}
		}()
		resp, err := g.handlers[rt.Function](ctx, in)
		done <- result{resp, err}
	}()

	var res result
	select {
	case res = <-done:
	case <-ctx.Done():
		// A result that arrived together with the deadline still counts.
		select {
		case res = <-done:
		default:
			return events.APIGatewayV2HTTPResponse{}, http.StatusServiceUnavailable, fmt.Errorf("no response within %s", g.timeout)
		}
	}
	if res.err != nil {
		return events.APIGatewayV2HTTPResponse{}, http.StatusInternalServerError, fmt.Errorf("handler: %w", res.err)
	}
	out, err := response(res.resp)
	if err != nil {
		return out, http.StatusInternalServerError, err
	}
	if out.StatusCode < 100 || out.StatusCode > 599 {
		return out, http.StatusInternalServerError, fmt.Errorf("handler returned status code %d", out.StatusCode)
	}
	return out, 0, nil
}

// roundTrip marshals v and unmarshals it into out, refusing payloads over
// Lambda's limit.
func roundTrip(v, out any) error {
	b, err := encode(v)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode payload: %w", err)
	}
	return nil
}

// encode marshals a payload, refusing one over Lambda's limit.
func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode payload: %w", err)
	}
	if len(b) > MaxInvokeBytes {
		return nil, fmt.Errorf("payload of %d bytes exceeds Lambda's %d-byte limit", len(b), MaxInvokeBytes)
	}
	return b, nil
}

// response is the function's response as API Gateway reads it: encoded
// by the Lambda runtime, within Lambda's limit, and decoded. Encoding its
// fields loses nothing but invalid UTF-8, which becomes U+FFFD, so when
// every string is valid the decoding, which would give resp back, is
// skipped: it was a third of the gateway's JSON time on a page of
// conversations.
func response(resp events.APIGatewayV2HTTPResponse) (events.APIGatewayV2HTTPResponse, error) {
	if !validStrings(resp) {
		var out events.APIGatewayV2HTTPResponse
		err := roundTrip(resp, &out)
		return out, err
	}
	if _, err := encode(resp); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return resp, nil
}

// validStrings reports whether every string of resp is valid UTF-8.
func validStrings(resp events.APIGatewayV2HTTPResponse) bool {
	if !utf8.ValidString(resp.Body) {
		return false
	}
	for k, v := range resp.Headers {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return false
		}
	}
	for k, vs := range resp.MultiValueHeaders {
		if !utf8.ValidString(k) {
			return false
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	for _, c := range resp.Cookies {
		if !utf8.ValidString(c) {
			return false
		}
	}
	return true
}

// write sends the function's response.
func (g *Gateway) write(w http.ResponseWriter, r *http.Request, id, routeKey string, resp events.APIGatewayV2HTTPResponse) {
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			g.log.Error("gateway: integration failed", "requestId", id, "routeKey", routeKey, "error", fmt.Errorf("response body is not base64: %w", err))
			g.message(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	if len(g.origins) > 0 {
		// With CORS configured, API Gateway ignores the function's CORS
		// headers and sends its own.
		for k := range h {
			if strings.HasPrefix(k, "Access-Control-") {
				h.Del(k)
			}
		}
		g.corsHeaders(w, r)
	}
	h.Set("Apigw-Requestid", id)
	if h.Get("Content-Type") == "" && len(body) > 0 {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(resp.StatusCode)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, bytes.NewReader(body))
	}
}

// message writes one of API Gateway's own responses.
func (g *Gateway) message(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// cors answers preflight requests (returning true) and adds the CORS
// headers to every other response for an allowed origin.
func (g *Gateway) cors(w http.ResponseWriter, r *http.Request) bool {
	if len(g.origins) == 0 {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	preflight := r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
	if !preflight {
		g.corsHeaders(w, r)
		return false
	}
	if slices.Contains(g.origins, r.Header.Get("Origin")) {
		h.Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		h.Set("Access-Control-Allow-Methods", g.methods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

func (g *Gateway) corsHeaders(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && slices.Contains(g.origins, o) {
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Set("Access-Control-Expose-Headers", corsExposeHeaders)
	}
}

// requestID looks like API Gateway's: 16 characters of base64.
func requestID() string {
	b := make([]byte, 11)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// uuid is a random (version 4) UUID, the shape of Lambda request IDs.
func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}
