package smslocal_test

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2/types"

	"github.com/pedsportal/messaging/internal/localdev/smslocal"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var at = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func start(t *testing.T) *smslocal.Server {
	t.Helper()
	srv, err := smslocal.Start(t.Context(), smslocal.Options{Logger: quiet, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return srv
}

// client is the real SDK client, as a function builds it, with retries off
// so that error tests see the first answer.
func client(srv *smslocal.Server) *pinpointsmsvoicev2.Client {
	return pinpointsmsvoicev2.New(pinpointsmsvoicev2.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(srv.Endpoint()),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func send(t *testing.T, c *pinpointsmsvoicev2.Client, to, body string) (*pinpointsmsvoicev2.SendTextMessageOutput, error) {
	t.Helper()
	return c.SendTextMessage(t.Context(), &pinpointsmsvoicev2.SendTextMessageInput{
		DestinationPhoneNumber: aws.String(to),
		OriginationIdentity:    aws.String("+15555550100"),
		MessageBody:            aws.String(body),
		MessageType:            types.MessageTypeTransactional,
	})
}

// GIVEN the server WHEN the real SDK client sends a text THEN it answers a
// MessageId and the outbox holds the text.
func TestSendTextMessageThroughTheSDK(t *testing.T) {
	srv := start(t)
	out, err := send(t, client(srv), "+15555550123", "Maple Grove Pediatrics: you have a new message. Sign in: https://portal.example.test/")
	if err != nil {
		t.Fatalf("SendTextMessage: %v", err)
	}
	if len(aws.ToString(out.MessageId)) != 32 {
		t.Errorf("MessageId = %q, want 32 hex digits", aws.ToString(out.MessageId))
	}
	got := srv.Messages()
	want := []smslocal.Sent{{
		MessageID:   aws.ToString(out.MessageId),
		To:          "+15555550123",
		From:        "+15555550100",
		Body:        "Maple Grove Pediatrics: you have a new message. Sign in: https://portal.example.test/",
		MessageType: "TRANSACTIONAL",
		At:          at,
	}}
	if len(got) != 1 || got[0] != want[0] {
		t.Errorf("Messages() = %+v, want %+v", got, want)
	}

	srv.Clear()
	if got := srv.Messages(); len(got) != 0 {
		t.Errorf("Messages() after Clear = %+v, want none", got)
	}
}

// Errors arrive as the SDK's typed errors, as from the service.
func TestErrorsAreTheSDKsTypedErrors(t *testing.T) {
	srv := start(t)
	c := client(srv)

	t.Run("invalid number", func(t *testing.T) {
		_, err := send(t, c, "555-0123", "hello")
		var v *types.ValidationException
		if !errors.As(err, &v) {
			t.Fatalf("err = %v, want a ValidationException", err)
		}
	})
	t.Run("body too long", func(t *testing.T) {
		_, err := send(t, c, "+15555550123", strings.Repeat("é", smslocal.MaxBodyChars+1))
		var v *types.ValidationException
		if !errors.As(err, &v) {
			t.Fatalf("err = %v, want a ValidationException", err)
		}
	})
	t.Run("FailNext", func(t *testing.T) {
		srv.FailNext(1, smslocal.Failure{Type: "ThrottlingException", Message: "slow down"})
		srv.FailNext(1, smslocal.Failure{Type: "ConflictException", Message: "opted out", Reason: "DESTINATION_PHONE_NUMBER_OPTED_OUT"})
		_, err := send(t, c, "+15555550123", "one")
		var th *types.ThrottlingException
		if !errors.As(err, &th) {
			t.Errorf("first send: err = %v, want a ThrottlingException", err)
		}
		_, err = send(t, c, "+15555550123", "two")
		var co *types.ConflictException
		if !errors.As(err, &co) || co.Reason != types.ConflictExceptionReasonDestinationPhoneNumberOptedOut {
			t.Errorf("second send: err = %v, want a ConflictException for an opted-out number", err)
		}
		if _, err := send(t, c, "+15555550123", "three"); err != nil {
			t.Errorf("third send: %v, want success once the failures are used up", err)
		}
	})
	if got := srv.Messages(); len(got) != 1 || got[0].Body != "three" {
		t.Errorf("outbox = %+v, want only the text that succeeded", got)
	}
}

func post(t *testing.T, url string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(`{"DestinationPhoneNumber":"+15555550123","MessageBody":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestRefusesUnsignedAndUnknownRequests(t *testing.T) {
	srv := start(t)
	sigv4 := "AWS4-HMAC-SHA256 Credential=local/20260304/us-east-1/sms-voice/aws4_request, SignedHeaders=host, Signature=00"
	tests := []struct {
		name     string
		header   map[string]string
		status   int
		errorTyp string
	}{
		{"no Authorization", map[string]string{"X-Amz-Target": smslocal.Target}, 403, "MissingAuthenticationTokenException"},
		{"not SigV4", map[string]string{"X-Amz-Target": smslocal.Target, "Authorization": "Bearer x"}, 403, "MissingAuthenticationTokenException"},
		{"another operation", map[string]string{"X-Amz-Target": "PinpointSMSVoiceV2.SendVoiceMessage", "Authorization": sigv4}, 400, "UnknownOperationException"},
		{"signed SendTextMessage", map[string]string{"X-Amz-Target": smslocal.Target, "Authorization": sigv4}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, srv.Endpoint()+"/", tt.header)
			var body struct {
				Type string `json:"__type"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.status || body.Type != tt.errorTyp {
				t.Errorf("status %d, __type %q; want %d, %q", resp.StatusCode, body.Type, tt.status, tt.errorTyp)
			}
		})
	}
	if got := len(srv.Messages()); got != 1 {
		t.Errorf("outbox holds %d texts, want 1 (the signed one)", got)
	}
}

// The outbox page lists every text, newest first, with every value escaped.
func TestOutboxPageEscapes(t *testing.T) {
	srv := start(t)
	c := client(srv)
	for _, body := range []string{"first", `<script>alert("x")</script> & more`} {
		if _, err := send(t, c, "+15555550123", body); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.Get(srv.OutboxURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	page := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /outbox = %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(page, "<script>") {
		t.Errorf("page contains an unescaped <script>:\n%s", page)
	}
	escaped := "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; more"
	if !strings.Contains(page, escaped) || !strings.Contains(page, "&#43;15555550123") {
		t.Errorf("page lacks the escaped body %q or the number:\n%s", escaped, page)
	}
	if i, j := strings.Index(page, escaped), strings.Index(page, `class="body">first<`); i < 0 || j < 0 || i > j {
		t.Errorf("want newest first")
	}

	resp, err = http.Get(srv.Endpoint() + "/outbox.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var msgs []smslocal.Sent
	if err := json.NewDecoder(resp.Body).Decode(&msgs); err != nil || len(msgs) != 2 || msgs[0].Body != "first" {
		t.Errorf("GET /outbox.json = %+v, %v; want both texts, oldest first", msgs, err)
	}
}

// A page on another origin cannot read the outbox by rebinding its host
// name to 127.0.0.1.
func TestRefusesForeignHostNames(t *testing.T) {
	srv := start(t)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.OutboxURL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "attacker.example"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("GET /outbox with Host attacker.example = %s, want 421", resp.Status)
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	if _, err := smslocal.Start(t.Context(), smslocal.Options{Addr: "0.0.0.0:0", Logger: quiet}); err == nil {
		t.Fatal("Start on 0.0.0.0: want an error")
	}
}

func TestOutboxKeepsTheNewest(t *testing.T) {
	srv, err := smslocal.Start(t.Context(), smslocal.Options{Logger: quiet, Keep: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	c := client(srv)
	for _, body := range []string{"1", "2", "3"} {
		if _, err := send(t, c, "+15555550123", body); err != nil {
			t.Fatal(err)
		}
	}
	got := srv.Messages()
	if len(got) != 2 || got[0].Body != "2" || got[1].Body != "3" {
		t.Errorf("Messages() = %+v, want the last two", got)
	}
}
