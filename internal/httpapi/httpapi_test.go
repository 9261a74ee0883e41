package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/domain"
)

func TestDecode(t *testing.T) {
	type body struct {
		Body string `json:"body"`
	}
	req := func(b, ct string, b64 bool) events.APIGatewayV2HTTPRequest {
		if b64 {
			b = base64.StdEncoding.EncodeToString([]byte(b))
		}
		return events.APIGatewayV2HTTPRequest{Body: b, IsBase64Encoded: b64, Headers: map[string]string{"content-type": ct}}
	}
	for _, tc := range []struct {
		name string
		req  events.APIGatewayV2HTTPRequest
		code domain.Code
	}{
		{"ok", req(`{"body":"hi"}`, "application/json", false), ""},
		{"ok base64", req(`{"body":"hi"}`, "application/json; charset=utf-8", true), ""},
		{"empty", req(``, "application/json", false), domain.EMalformed},
		{"unknown field", req(`{"body":"hi","x":1}`, "application/json", false), domain.EMalformed},
		{"trailing", req(`{"body":"hi"} []`, "application/json", false), domain.EMalformed},
		{"not json", req(`body=hi`, "application/json", false), domain.EMalformed},
		{"form content type", req(`{"body":"hi"}`, "application/x-www-form-urlencoded", false), domain.EMalformed},
		{"invalid utf-8 (base64)", req("{\"body\":\"\xff\"}", "application/json", true), domain.EMalformed},
		{"too large", req(`{"body":"`+strings.Repeat("x", MaxBody)+`"}`, "application/json", false), domain.ETooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v body
			err := Decode(tc.req, &v, false)
			if got := domain.Code(""); err != nil {
				got = domain.ErrorCode(err)
				if got != tc.code {
					t.Fatalf("code = %s, want %s (%v)", got, tc.code, err)
				}
				return
			}
			if tc.code != "" {
				t.Fatalf("no error, want %s", tc.code)
			}
			if v.Body != "hi" {
				t.Fatalf("decoded %+v", v)
			}
		})
	}
}

func TestErrorHidesInternals(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	resp := Error(context.Background(), log, "req-1", errors.New("dynamodb: table secret-name missing"))
	if resp.StatusCode != 500 || strings.Contains(resp.Body, "secret-name") {
		t.Fatalf("internal error leaked: %d %s", resp.StatusCode, resp.Body)
	}
	var p Problem
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.Instance != "req-1" || resp.Headers["Content-Type"] != "application/problem+json" {
		t.Fatalf("problem = %+v, headers %v", p, resp.Headers)
	}
	dep := Error(context.Background(), log, "req-2", domain.Unavailable(errors.New("timeout talking to 10.0.0.1")))
	if dep.StatusCode != 503 || dep.Headers["Retry-After"] == "" || strings.Contains(dep.Body, "10.0.0.1") {
		t.Fatalf("dependency failure: %d %v %s", dep.StatusCode, dep.Headers, dep.Body)
	}
	for code, want := range map[domain.Code]int{
		domain.EMalformed: 400, domain.EInvalid: 422, domain.EUnauthorized: 401, domain.EForbidden: 403,
		domain.ENotFound: 404, domain.EConflict: 409, domain.ETooLarge: 413, domain.EIdemMismatch: 422,
		domain.EThrottled: 429, domain.EUnavailable: 503, domain.EInternal: 500,
	} {
		if got := Status(&domain.Error{Code: code}); got != want {
			t.Errorf("Status(%s) = %d, want %d", code, got, want)
		}
	}
}
