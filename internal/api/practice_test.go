package api_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/directory"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/seed"
)

func staffEvent(sub, method, route, path string, params map[string]string, body string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: method + " " + route, RawPath: path, PathParameters: params, Body: body,
		Headers: map[string]string{"content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-" + sub, RouteKey: method + " " + route,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: map[string]string{"sub": sub, "iss": "http://127.0.0.1:8082/staff", "client_id": "staff-web", "token_use": "access", "scope": "staff/messages", "cognito:groups": "[nurse admin]"},
			}},
		},
	}
}

// Staff of one practice never reach another practice's patients,
// conversations, inbox or staff.
func TestStaffStayInTheirPractice(t *testing.T) {
	deps, s := newDeps(t)
	other := &directory.File{
		Practice: domain.Practice{ID: "prac-elm", Name: "Elm Pediatrics"},
		Staff:    []directory.Staff{{ID: "sub-elm-nurse", DisplayName: "Elm Nurse", Role: domain.RoleNurse}},
		Pools:    []directory.Pool{{ID: "pool-elm", Name: "Elm front desk"}},
	}
	if err := directory.Load(t.Context(), s, other, "test", func(string, int) {}); err != nil {
		t.Fatal(err)
	}
	conv := "/staff/patients/{patientId}/conversations/{conversationId}"
	mateo := map[string]string{"patientId": seed.Mateo}
	rash := map[string]string{"patientId": seed.Mateo, "conversationId": seed.ConvRash}
	for _, tc := range []struct {
		name, fn string
		ev       events.APIGatewayV2HTTPRequest
		status   int
	}{
		{"list", "list-conversations", staffEvent("sub-elm-nurse", "GET", "/staff/patients/{patientId}/conversations", "/staff/patients/"+seed.Mateo+"/conversations", mateo, ""), 404},
		{"detail", "get-conversation", staffEvent("sub-elm-nurse", "GET", conv, "/x", rash, ""), 404},
		{"patient", "directory", staffEvent("sub-elm-nurse", "GET", "/staff/patients/{patientId}", "/x", mateo, ""), 404},
		{"close", "manage-conversation", staffEvent("sub-elm-nurse", "PATCH", conv, "/x", rash, `{"status":"closed"}`), 404},
		{"unlink", "manage-links", staffEvent("sub-elm-nurse", "DELETE", "/staff/patients/{patientId}/links/{portalUserId}", "/x",
			map[string]string{"patientId": seed.Mateo, "portalUserId": seed.ParentRivera}, ""), 404},
		{"assign to other practice's staff", "manage-conversation", staffEvent(seed.NurseKim, "PATCH", conv, "/x", rash, `{"assigneeId":"sub-elm-nurse"}`), 422},
		{"note", "manage-conversation", staffEvent("sub-elm-nurse", "POST", conv+"/notes", "/x", rash, `{"text":"x"}`), 404},
		{"log", "staff-inbox", staffEvent("sub-elm-nurse", "GET", conv+"/log", "/x", rash, ""), 404},
		{"download", "export-chart", staffEvent("sub-elm-nurse", "GET", "/staff/patients/{patientId}/export", "/x", mateo, ""), 404},
		{"reroute", "manage-conversation", staffEvent("sub-elm-nurse", "PATCH", conv, "/x", rash, `{"poolId":"pool-front-desk","reason":"x"}`), 404},
		{"reroute to other practice's pool", "manage-conversation", staffEvent(seed.NurseKim, "PATCH", conv, "/x", rash, `{"poolId":"pool-elm","reason":"x"}`), 422},
		{"note on a missing conversation", "manage-conversation", staffEvent(seed.NurseKim, "POST", conv+"/notes", "/x",
			map[string]string{"patientId": seed.Mateo, "conversationId": "01KSEED000000000000000000Z"}, `{"text":"x"}`), 404},
		{"log of another patient's conversation", "staff-inbox", staffEvent(seed.NurseKim, "GET", conv+"/log", "/x",
			map[string]string{"patientId": seed.Sofia, "conversationId": seed.ConvRash}, ""), 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := api.Constructors[tc.fn](deps)(t.Context(), tc.ev)
			if err != nil || resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %v %s", resp.StatusCode, tc.status, err, resp.Body)
			}
		})
	}
	for _, route := range []string{"/staff/inbox"} {
		resp, _ := api.Constructors["staff-inbox"](deps)(t.Context(), staffEvent("sub-elm-nurse", "GET", route, route, nil, ""))
		if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"items":[]`) {
			t.Fatalf("other practice's inbox: %d %s", resp.StatusCode, resp.Body)
		}
	}
	resp, _ := api.Constructors["directory"](deps)(t.Context(), staffEvent("sub-elm-nurse", "POST", "/staff/patients/search", "/x", nil, `{"query":"rivera"}`))
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"items":[]`) {
		t.Fatalf("other practice's search: %d %s", resp.StatusCode, resp.Body)
	}
}

// GIVEN a reply of 5,000 user-perceived characters, each an 18-byte emoji
// family WHEN staff send it THEN it is stored: the body limit in bytes
// never refuses what the character limit allows.
func TestLongestMessageFits(t *testing.T) {
	deps, s := newDeps(t)
	body := strings.Repeat("👨‍👩‍👧", domain.BodyMax)
	path := "/staff/patients/{patientId}/conversations/{conversationId}/messages"
	ev := staffEvent(seed.NurseKim, "POST", path, "/x", map[string]string{"patientId": seed.Mateo, "conversationId": seed.ConvRash}, `{"body":"`+body+`"}`)
	ev.Headers["idempotency-key"] = "longest-message"
	resp, err := api.Constructors["write-message"](deps)(t.Context(), ev)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("status %d: %v %.300s", resp.StatusCode, err, resp.Body)
	}
	_, page, err := s.Chain(t.Context(), seed.Mateo, []domain.Audience{domain.AudienceFamily}, seed.ConvRash, 10, nil)
	if err != nil || page.Items[len(page.Items)-1].Body != body {
		t.Fatalf("the stored message is not the one sent: %v", err)
	}
	// One character more is refused, naming the field.
	ev.Body = `{"body":"` + body + `x"}`
	ev.Headers["idempotency-key"] = "one-too-many"
	if resp, _ := api.Constructors["write-message"](deps)(t.Context(), ev); resp.StatusCode != 422 || !strings.Contains(resp.Body, `"field":"body"`) {
		t.Fatalf("5,001 characters: status %d %s", resp.StatusCode, resp.Body)
	}
}
