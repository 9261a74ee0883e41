package channels_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/pedsportal/messaging/internal/localdev/seslocal"
	"github.com/pedsportal/messaging/internal/localdev/smslocal"
	"github.com/pedsportal/messaging/internal/notify"
	"github.com/pedsportal/messaging/internal/notify/channels"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// ses is one aws-ses-v2-local for the whole test binary.
var ses *seslocal.Server

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var err error
	ses, err = seslocal.Start(ctx, seslocal.Options{Logger: quiet})
	if err != nil {
		fmt.Fprintf(os.Stderr, "channels test: %v\n", err)
		return 1
	}
	defer func() { _ = ses.Stop() }()
	return m.Run()
}

// sesClient is the real SDK client as a function builds it, retries off so
// that error tests see the first answer.
func sesClient(endpoint string) *sesv2.Client {
	return sesv2.New(sesv2.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func smsClient(endpoint string) *pinpointsmsvoicev2.Client {
	return pinpointsmsvoicev2.New(pinpointsmsvoicev2.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func newSES(t *testing.T, client channels.SESAPI) *channels.SES {
	t.Helper()
	m, err := channels.NewSES(client, channels.SESConfig{
		From:             "Maple Grove Pediatrics <no-reply@example.test>",
		ConfigurationSet: "notifications",
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// emailsTo reads what the local SES received for to.
func emailsTo(t *testing.T, to string) []seslocal.Received {
	t.Helper()
	all, err := ses.Emails(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []seslocal.Received
	for _, e := range all {
		for _, addr := range e.To {
			if addr == to {
				out = append(out, e)
			}
		}
	}
	return out
}

// GIVEN the local SES and the real SDK client WHEN a notification e-mail is
// sent THEN exactly it arrives, with both bodies and the RFC 8058 headers.
func TestSESSendsThroughTheSDK(t *testing.T) {
	m := newSES(t, sesClient(ses.Endpoint()))
	to := "parent.rivera+ses@example.test"
	id, err := m.Send(t.Context(), notify.Email{
		To:          to,
		Subject:     "You have a new message from Maple Grove Pediatrics",
		Text:        "A message is waiting. Sign in: https://portal.example.test/portal/",
		HTML:        `<p>A message is waiting. <a href="https://portal.example.test/portal/">Sign in</a></p>`,
		Unsubscribe: "https://portal.example.test/unsubscribe?t=abc.def",
		Tags:        map[string]string{"recipient": "portal-u-1", "kind": "portal"},
	})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := emailsTo(t, to)
	if len(got) != 1 {
		t.Fatalf("local SES holds %d e-mails for %s, want 1", len(got), to)
	}
	e := got[0]
	checks := []struct{ what, got, want string }{
		{"message ID", e.MessageID, id},
		{"from", e.From, "Maple Grove Pediatrics <no-reply@example.test>"},
		{"subject", e.Subject, "You have a new message from Maple Grove Pediatrics"},
		{"text", e.Text, "A message is waiting. Sign in: https://portal.example.test/portal/"},
		{"html", e.HTML, `<p>A message is waiting. <a href="https://portal.example.test/portal/">Sign in</a></p>`},
		{"List-Unsubscribe", e.Header("List-Unsubscribe"), "<https://portal.example.test/unsubscribe?t=abc.def>"},
		{"List-Unsubscribe-Post", e.Header("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
}

// A staff digest has no unsubscribe link, so it carries no List-* headers.
func TestSESWithoutUnsubscribeHasNoListHeaders(t *testing.T) {
	m := newSES(t, sesClient(ses.Endpoint()))
	to := "nurse.kim+digest@example.test"
	if err := m.SendEmail(t.Context(), notify.Email{To: to, Subject: "New portal messages", Text: "Sign in to read them."}); err != nil {
		t.Fatal(err)
	}
	got := emailsTo(t, to)
	if len(got) != 1 {
		t.Fatalf("got %d e-mails, want 1", len(got))
	}
	if h := got[0].Header("List-Unsubscribe"); h != "" {
		t.Errorf("List-Unsubscribe = %q, want none", h)
	}
}

// recordingSES keeps the request, to check what the local server does not
// store (tags, configuration set).
type recordingSES struct{ in *sesv2.SendEmailInput }

func (r *recordingSES) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	r.in = in
	return &sesv2.SendEmailOutput{MessageId: aws.String("m-1")}, nil
}

func TestSESRequest(t *testing.T) {
	rec := &recordingSES{}
	m, err := channels.NewSES(rec, channels.SESConfig{
		From: "no-reply@example.test", FromARN: "arn:aws:ses:us-east-1:123456789012:identity/example.test", ConfigurationSet: "notifications",
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.SendEmail(t.Context(), notify.Email{
		To: "a@example.test", Subject: "s", Text: "t",
		Tags: map[string]string{"recipient": "u-1", "channel": "email"},
	}); err != nil {
		t.Fatal(err)
	}
	in := rec.in
	var tags []string
	for _, tg := range in.EmailTags {
		tags = append(tags, aws.ToString(tg.Name)+"="+aws.ToString(tg.Value))
	}
	checks := []struct{ what, got, want string }{
		{"configuration set", aws.ToString(in.ConfigurationSetName), "notifications"},
		{"identity ARN", aws.ToString(in.FromEmailAddressIdentityArn), "arn:aws:ses:us-east-1:123456789012:identity/example.test"},
		{"tags", strings.Join(tags, ","), "channel=email,recipient=u-1"},
		{"to", strings.Join(in.Destination.ToAddresses, ","), "a@example.test"},
		{"charset", aws.ToString(in.Content.Simple.Subject.Charset), "UTF-8"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if in.Content.Simple.Body.Html != nil {
		t.Errorf("an e-mail without HTML has an HTML body")
	}
}

// Bad input is refused before anything is sent.
func TestSESRefusesBadInput(t *testing.T) {
	ok := notify.Email{To: "a@example.test", Subject: "s", Text: "t"}
	tests := []struct {
		name string
		edit func(*notify.Email)
	}{
		{"no recipient", func(e *notify.Email) { e.To = "" }},
		{"header injection in the recipient", func(e *notify.Email) { e.To = "a@example.test\r\nBcc: x@example.test" }},
		{"no subject", func(e *notify.Email) { e.Subject = "" }},
		{"subject on two lines", func(e *notify.Email) { e.Subject = "a\nb" }},
		{"no body", func(e *notify.Email) { e.Text = "" }},
		{"unsubscribe over http to a public host", func(e *notify.Email) { e.Unsubscribe = "http://portal.example.test/u" }},
		{"unsubscribe with a line break", func(e *notify.Email) { e.Unsubscribe = "https://portal.example.test/u\r\nBcc: x@example.test" }},
		{"unsubscribe with angle brackets", func(e *notify.Email) { e.Unsubscribe = "https://portal.example.test/u>, <mailto:x@example.test" }},
		{"unsubscribe not absolute", func(e *notify.Email) { e.Unsubscribe = "/unsubscribe" }},
		{"tag with a space", func(e *notify.Email) { e.Tags = map[string]string{"recipient": "a b"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recordingSES{}
			m := newSES(t, rec)
			e := ok
			tt.edit(&e)
			err := m.SendEmail(t.Context(), e)
			if channels.KindOf(err) != channels.Invalid || channels.Retryable(err) {
				t.Errorf("err = %v, want a non-retryable Invalid", err)
			}
			if rec.in != nil {
				t.Errorf("a request was sent")
			}
		})
	}
	t.Run("http on loopback is fine locally", func(t *testing.T) {
		rec := &recordingSES{}
		e := ok
		e.Unsubscribe = "http://127.0.0.1:8081/unsubscribe?t=x"
		if err := newSES(t, rec).SendEmail(t.Context(), e); err != nil {
			t.Errorf("SendEmail: %v", err)
		}
	})
}

// sesAnswering is an SES v2 endpoint that answers every call with one
// error in the restJson1 shape.
func sesAnswering(t *testing.T, status int, errorType string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Amzn-RequestId", "req-1")
		if errorType != "" {
			w.Header().Set("X-Amzn-ErrorType", errorType)
		}
		w.WriteHeader(status)
		// SES quotes the address in some messages: it must never reach
		// our error's text.
		fmt.Fprintf(w, `{"message":"Email address is not verified: secret.parent@example.test"}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// SDK errors are sorted by type; only throttling and service failures are
// retryable, and the error's text never holds the address.
func TestSESErrors(t *testing.T) {
	tests := []struct {
		status    int
		errorType string
		want      channels.Kind
	}{
		{429, "TooManyRequestsException", channels.Throttled},
		{400, "LimitExceededException", channels.Throttled},
		{400, "Throttling", channels.Throttled},
		{500, "InternalServiceErrorException", channels.Unavailable},
		{503, "ServiceUnavailable", channels.Unavailable},
		{502, "", channels.Unavailable},
		{400, "MessageRejected", channels.Rejected},
		{400, "AccountSuspendedException", channels.Misconfigured},
		{400, "SendingPausedException", channels.Misconfigured},
		{400, "MailFromDomainNotVerifiedException", channels.Misconfigured},
		{404, "NotFoundException", channels.Misconfigured},
		{400, "BadRequestException", channels.Invalid},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %s", tt.status, tt.errorType), func(t *testing.T) {
			m := newSES(t, sesClient(sesAnswering(t, tt.status, tt.errorType)))
			err := m.SendEmail(t.Context(), notify.Email{To: "secret.parent@example.test", Subject: "s", Text: "t"})
			var ce *channels.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *channels.Error", err)
			}
			if ce.Kind != tt.want {
				t.Errorf("Kind = %s, want %s (err %v)", ce.Kind, tt.want, err)
			}
			wantRetry := tt.want == channels.Throttled || tt.want == channels.Unavailable
			if channels.Retryable(err) != wantRetry {
				t.Errorf("Retryable = %v, want %v", !wantRetry, wantRetry)
			}
			if tt.errorType != "" && ce.Code != tt.errorType {
				t.Errorf("Code = %q, want %q", ce.Code, tt.errorType)
			}
			if strings.Contains(err.Error(), "secret.parent") {
				t.Errorf("error text holds the address: %v", err)
			}
		})
	}
}

func TestSESUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	m := newSES(t, sesClient("http://"+addr))
	err = m.SendEmail(t.Context(), notify.Email{To: "a@example.test", Subject: "s", Text: "t"})
	if channels.KindOf(err) != channels.Unavailable || !channels.Retryable(err) {
		t.Errorf("err = %v, want a retryable Unavailable", err)
	}
}

func TestNewRequiresConfig(t *testing.T) {
	if _, err := channels.NewSES(&recordingSES{}, channels.SESConfig{}); err == nil {
		t.Error("NewSES without From: want an error")
	}
	if _, err := channels.NewSMS(smsClient("http://127.0.0.1:1"), channels.SMSConfig{}); err == nil {
		t.Error("NewSMS without OriginationIdentity: want an error")
	}
}

func startSMS(t *testing.T) (*smslocal.Server, *channels.SMS) {
	t.Helper()
	srv, err := smslocal.Start(t.Context(), smslocal.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	s, err := channels.NewSMS(smsClient(srv.Endpoint()), channels.SMSConfig{OriginationIdentity: "+15555550100", ConfigurationSet: "notifications"})
	if err != nil {
		t.Fatal(err)
	}
	return srv, s
}

// GIVEN the local SMS service and the real SDK client WHEN a text is sent
// THEN it is in the outbox as a transactional text from the configured
// identity.
func TestSMSSendsThroughTheSDK(t *testing.T) {
	srv, s := startSMS(t)
	body := "Maple Grove Pediatrics: a message is waiting. Sign in: https://portal.example.test/portal/"
	id, err := s.Send(t.Context(), notify.Text{To: "+15555550123", Body: body})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("outbox = %+v, want one text", got)
	}
	g := got[0]
	if g.MessageID != id || g.To != "+15555550123" || g.Body != body || g.From != "+15555550100" ||
		g.MessageType != "TRANSACTIONAL" || g.ConfigurationSet != "notifications" {
		t.Errorf("outbox[0] = %+v", g)
	}
}

func TestSMSErrors(t *testing.T) {
	srv, s := startSMS(t)
	tests := []struct {
		name string
		fail *smslocal.Failure // nil: the server's own validation
		to   string
		want channels.Kind
	}{
		{"throttled", &smslocal.Failure{Type: "ThrottlingException"}, "", channels.Throttled},
		{"internal", &smslocal.Failure{Status: 500, Type: "InternalServerException"}, "", channels.Unavailable},
		{"opted out", &smslocal.Failure{Type: "ConflictException", Reason: "DESTINATION_PHONE_NUMBER_OPTED_OUT"}, "", channels.Rejected},
		{"sandbox", &smslocal.Failure{Type: "ConflictException", Reason: "DESTINATION_PHONE_NUMBER_NOT_VERIFIED"}, "", channels.Misconfigured},
		{"spend limit", &smslocal.Failure{Type: "ServiceQuotaExceededException", Reason: "MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT"}, "", channels.Misconfigured},
		{"access denied", &smslocal.Failure{Status: 403, Type: "AccessDeniedException", Reason: "ACCOUNT_DISABLED"}, "", channels.Misconfigured},
		{"no such identity", &smslocal.Failure{Status: 404, Type: "ResourceNotFoundException"}, "", channels.Misconfigured},
		{"country blocked", &smslocal.Failure{Type: "ValidationException", Reason: "DESTINATION_COUNTRY_BLOCKED"}, "", channels.Rejected},
		{"bad number", nil, "555-0123", channels.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fail != nil {
				srv.FailNext(1, *tt.fail)
			}
			to := tt.to
			if to == "" {
				to = "+15555550123"
			}
			err := s.SendText(t.Context(), notify.Text{To: to, Body: "hello"})
			var ce *channels.Error
			if !errors.As(err, &ce) || ce.Kind != tt.want {
				t.Fatalf("err = %v, want Kind %s", err, tt.want)
			}
			if tt.fail != nil && (ce.Code != tt.fail.Type || ce.Reason != tt.fail.Reason) {
				t.Errorf("Code, Reason = %q, %q; want %q, %q", ce.Code, ce.Reason, tt.fail.Type, tt.fail.Reason)
			}
			if want := tt.want == channels.Throttled || tt.want == channels.Unavailable; ce.Retryable() != want {
				t.Errorf("Retryable() = %v, want %v", !want, want)
			}
			if strings.Contains(err.Error(), to) {
				t.Errorf("error text holds the number: %v", err)
			}
		})
	}
	if got := srv.Messages(); len(got) != 0 {
		t.Errorf("outbox = %+v, want nothing from failed sends", got)
	}
}

func TestSMSRefusesBadInput(t *testing.T) {
	srv, s := startSMS(t)
	for _, tt := range []notify.Text{
		{To: "", Body: "x"},
		{To: "+15555550123", Body: ""},
		{To: "+15555550123", Body: strings.Repeat("x", channels.MaxTextChars+1)},
	} {
		if err := s.SendText(t.Context(), tt); channels.KindOf(err) != channels.Invalid {
			t.Errorf("SendText(%d chars to %q) = %v, want Invalid", len(tt.Body), tt.To, err)
		}
	}
	if got := srv.Messages(); len(got) != 0 {
		t.Errorf("outbox = %+v, want nothing", got)
	}
}
