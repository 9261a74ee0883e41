// Package smslocal is a local stand-in for AWS End User Messaging SMS
// (pinpointsmsvoicev2): a loopback HTTP server that speaks the service's
// awsJson1_0 protocol for SendTextMessage, so the ordinary SDK client sends
// to it unchanged (AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2=Endpoint(), or
// pinpointsmsvoicev2.Options.BaseEndpoint). Nothing leaves the machine:
// every text lands in an outbox, read with Messages or on the page at
// OutboxURL.
//
// As the service does, it refuses requests without a SigV4 Authorization
// header (it does not check the signature: any static credentials do), and
// it answers errors in the awsJson1_0 shape, so the SDK surfaces them as
// its typed errors (types.ValidationException and so on). FailNext makes it
// answer the next calls with a chosen error, for tests of error handling.
//
// It holds phone numbers, so it listens on loopback only and answers only
// requests addressed to a loopback host name.
package smslocal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"
)

// Target is the X-Amz-Target of the one operation served.
const Target = "PinpointSMSVoiceV2.SendTextMessage"

// Limits enforced as the service does.
const (
	// MaxBodyChars is the longest MessageBody the API accepts.
	MaxBodyChars = 1600
	// maxRequestBytes bounds a request body; real ones are a few hundred
	// bytes.
	maxRequestBytes = 64 << 10
	// DefaultKeep is how many texts the outbox keeps when Options.Keep is 0.
	DefaultKeep = 1000
)

// phonePattern is the API's pattern for DestinationPhoneNumber.
var phonePattern = regexp.MustCompile(`^\+?[1-9][0-9]{1,18}$`)

// Options configure Start.
type Options struct {
	// Addr to listen on; it must be a loopback address. Empty means
	// 127.0.0.1:0, a free port.
	Addr string
	// Keep is how many texts the outbox keeps, oldest dropped first. Zero
	// means DefaultKeep.
	Keep int
	// Now stamps each text. Nil uses time.Now.
	Now func() time.Time
	// Logger receives start and stop events and one line per text (never
	// its number or body). Nil uses slog.Default().
	Logger *slog.Logger
}

// Sent is one text message in the outbox.
type Sent struct {
	MessageID string
	// To is DestinationPhoneNumber.
	To string
	// From is OriginationIdentity ("" when the request named none).
	From        string
	Body        string
	MessageType string
	// ConfigurationSet is ConfigurationSetName, if any.
	ConfigurationSet string
	At               time.Time
}

// Server is a running local SMS service.
type Server struct {
	ln   net.Listener
	srv  *http.Server
	log  *slog.Logger
	now  func() time.Time
	keep int

	mu    sync.Mutex
	sent  []Sent
	fails []Failure

	done     chan struct{}
	serveErr error
	stopOnce sync.Once
	stopErr  error
}

// Start listens on opts.Addr and serves until Stop.
func Start(_ context.Context, opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("smslocal: address %q: %w", opts.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("smslocal: address %q is not loopback: the outbox holds phone numbers and must stay on this machine", opts.Addr)
	}
	if opts.Keep <= 0 {
		opts.Keep = DefaultKeep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("smslocal: listen: %w", err)
	}
	s := &Server{ln: ln, log: opts.Logger, now: opts.Now, keep: opts.Keep, done: make(chan struct{})}
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.serveErr = err
		}
	}()
	s.log.Info("sms local started", "endpoint", s.Endpoint(), "outbox", s.OutboxURL())
	return s, nil
}

// Endpoint is the server's base URL, e.g. http://127.0.0.1:41234: the value
// for AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2 or
// pinpointsmsvoicev2.Options.BaseEndpoint.
func (s *Server) Endpoint() string { return "http://" + s.ln.Addr().String() }

// OutboxURL is the page that lists every text sent.
func (s *Server) OutboxURL() string { return s.Endpoint() + "/outbox" }

// Messages returns the outbox, oldest first.
func (s *Server) Messages() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// Clear empties the outbox and forgets pending FailNext errors.
func (s *Server) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent, s.fails = nil, nil
}

// Failure is a service error for FailNext to answer with.
type Failure struct {
	// Status is the HTTP status; 0 means 400, as the service answers
	// ThrottlingException, ValidationException and ConflictException.
	Status int
	// Type is the error's shape name, e.g. "ThrottlingException", or
	// "ConflictException" with Reason "DESTINATION_PHONE_NUMBER_OPTED_OUT".
	Type    string
	Message string
	// Reason fills the Reason member that several of the service's errors
	// carry; "" leaves it out.
	Reason string
}

// FailNext makes the next n SendTextMessage calls (that pass validation)
// fail with f. Nothing is added to the outbox for them. Calls queue up: two
// FailNext calls fail the next n1+n2 sends.
func (s *Server) FailNext(n int, f Failure) {
	if f.Status == 0 {
		f.Status = http.StatusBadRequest
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails = append(s.fails, f)
	}
}

// Stop closes the listener and waits for in-flight requests. It is safe to
// call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.stopErr = fmt.Errorf("smslocal: shutdown: %w", err)
			_ = s.srv.Close()
		}
		<-s.done
		if s.stopErr == nil && s.serveErr != nil {
			s.stopErr = fmt.Errorf("smslocal: serve: %w", s.serveErr)
		}
		s.log.Info("sms local stopped", "endpoint", s.Endpoint())
	})
	return s.stopErr
}

// Handler serves the API at POST / and the outbox at GET /outbox (HTML)
// and GET /outbox.json. Start serves it; tests may mount it on their own
// server.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{$}", s.api)
	mux.HandleFunc("GET /outbox", s.outboxPage)
	mux.HandleFunc("GET /outbox.json", s.outboxJSON)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/outbox", http.StatusFound)
	})
	return loopbackHostOnly(mux)
}

// loopbackHostOnly refuses requests whose Host is not a loopback name, so a
// web page the developer visits cannot read the outbox through DNS
// rebinding.
func loopbackHostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			http.Error(w, "smslocal answers loopback host names only", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sendTextMessageInput is the part of the request the outbox keeps.
type sendTextMessageInput struct {
	DestinationPhoneNumber *string `json:"DestinationPhoneNumber"`
	OriginationIdentity    *string `json:"OriginationIdentity"`
	MessageBody            *string `json:"MessageBody"`
	MessageType            *string `json:"MessageType"`
	ConfigurationSetName   *string `json:"ConfigurationSetName"`
	DryRun                 bool    `json:"DryRun"`
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	if auth := r.Header.Get("Authorization"); !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		writeError(w, http.StatusForbidden, "MissingAuthenticationTokenException",
			"smslocal: requests must be signed with SigV4, as the service requires; any static credentials do")
		return
	}
	if target := r.Header.Get("X-Amz-Target"); target != Target {
		writeError(w, http.StatusBadRequest, "UnknownOperationException",
			"smslocal: only "+Target+" is served")
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, "SerializationException", "smslocal: request body too large")
		return
	}
	var in sendTextMessageInput
	if err := json.Unmarshal(raw, &in); err != nil {
		writeError(w, http.StatusBadRequest, "SerializationException", "smslocal: request body is not JSON")
		return
	}
	if msg := validate(in); msg != "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"__type": "ValidationException", "message": msg, "Reason": "FIELD_VALIDATION_FAILED",
		})
		return
	}

	s.mu.Lock()
	if len(s.fails) > 0 {
		f := s.fails[0]
		s.fails = s.fails[1:]
		s.mu.Unlock()
		body := map[string]string{"__type": f.Type, "message": f.Message}
		if f.Reason != "" {
			body["Reason"] = f.Reason
		}
		w.Header().Set("X-Amzn-ErrorType", f.Type)
		writeJSON(w, f.Status, body)
		return
	}
	id := messageID()
	if !in.DryRun {
		s.sent = append(s.sent, Sent{
			MessageID:        id,
			To:               aws.ToString(in.DestinationPhoneNumber),
			From:             aws.ToString(in.OriginationIdentity),
			Body:             aws.ToString(in.MessageBody),
			MessageType:      aws.ToString(in.MessageType),
			ConfigurationSet: aws.ToString(in.ConfigurationSetName),
			At:               s.now().UTC(),
		})
		if over := len(s.sent) - s.keep; over > 0 {
			s.sent = append([]Sent(nil), s.sent[over:]...)
		}
	}
	s.mu.Unlock()
	s.log.Info("sms local: text received", "messageId", id, "dryRun", in.DryRun)
	writeJSON(w, http.StatusOK, map[string]string{"MessageId": id})
}

// validate checks what the service checks before sending; it returns the
// error message or "".
func validate(in sendTextMessageInput) string {
	switch {
	case in.DestinationPhoneNumber == nil:
		return "1 validation error detected: Value null at 'destinationPhoneNumber' failed to satisfy constraint: Member must not be null"
	case !phonePattern.MatchString(*in.DestinationPhoneNumber):
		return "1 validation error detected: Value at 'destinationPhoneNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: " + phonePattern.String()
	case in.MessageBody != nil && (*in.MessageBody == "" || utf8.RuneCountInString(*in.MessageBody) > MaxBodyChars):
		return fmt.Sprintf("1 validation error detected: Value at 'messageBody' failed to satisfy constraint: Member must have length between 1 and %d", MaxBodyChars)
	case in.MessageType != nil && *in.MessageType != "TRANSACTIONAL" && *in.MessageType != "PROMOTIONAL":
		return "1 validation error detected: Value at 'messageType' failed to satisfy constraint: Member must satisfy enum value set: [TRANSACTIONAL, PROMOTIONAL]"
	}
	return ""
}

// writeError answers in the awsJson1_0 error shape the SDK decodes.
func writeError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("X-Amzn-ErrorType", errorType)
	writeJSON(w, status, map[string]string{"__type": errorType, "message": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-RequestId", messageID())
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// messageID is a random ID shaped like the service's (32 hex digits).
func messageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// outboxJSON is GET /outbox.json: the outbox, oldest first.
func (s *Server) outboxJSON(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	msgs := s.Messages()
	if msgs == nil {
		msgs = []Sent{}
	}
	_ = json.NewEncoder(w).Encode(msgs)
}

// outboxTemplate escapes every value (html/template).
var outboxTemplate = template.Must(template.New("outbox").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="5">
<title>Local SMS outbox</title>
<style>
body { font: 16px/1.4 system-ui, sans-serif; margin: 1rem; color: #1a1a1a; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .4rem .6rem; border-bottom: 1px solid #ccc; }
td.body { white-space: pre-wrap; overflow-wrap: anywhere; }
</style>
</head>
<body>
<h1>Local SMS outbox</h1>
<p>Text messages sent to the local AWS End User Messaging SMS stand-in. Nothing here was delivered. Newest first; the page refreshes every 5 seconds. JSON: <a href="/outbox.json">/outbox.json</a>.</p>
{{if .}}<table>
<thead><tr><th scope="col">Time (UTC)</th><th scope="col">To</th><th scope="col">From</th><th scope="col">Type</th><th scope="col">Message</th></tr></thead>
<tbody>
{{range .}}<tr><td>{{.At.Format "2006-01-02 15:04:05"}}</td><td>{{.To}}</td><td>{{.From}}</td><td>{{.MessageType}}</td><td class="body">{{.Body}}</td></tr>
{{end}}</tbody>
</table>{{else}}<p>No text messages yet.</p>{{end}}
</body>
</html>
`))

func (s *Server) outboxPage(w http.ResponseWriter, _ *http.Request) {
	msgs := s.Messages()
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if err := outboxTemplate.Execute(w, msgs); err != nil {
		s.log.Error("sms local: render outbox", "err", err)
	}
}

// NewClient returns a pinpointsmsvoicev2 client for a local endpoint, built
// from explicit options and never from the shared AWS config, so nothing
// local can reach a real account. The static credentials make the SDK sign
// its requests, which the server requires.
func NewClient(endpoint string) *pinpointsmsvoicev2.Client {
	return pinpointsmsvoicev2.New(pinpointsmsvoicev2.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}
