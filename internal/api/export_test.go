package api_test

import (
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/localdev/fhircheck"
	"github.com/pedsportal/messaging/internal/seed"
)

func portalExport(sub, patientID, query string) events.APIGatewayV2HTTPRequest {
	path := "/portal/patients/" + patientID + "/export"
	q, _ := url.ParseQuery(query)
	params := map[string]string{}
	for k := range q {
		params[k] = q.Get(k)
	}
	route := "GET /portal/patients/{patientId}/export"
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: route, RawPath: path, RawQueryString: query, QueryStringParameters: params,
		PathParameters: map[string]string{"patientId": patientID},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "req-export", RouteKey: route,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: path},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: map[string]string{"sub": sub, "iss": "http://127.0.0.1:8082/portal", "client_id": "portal-web", "token_use": "access", "scope": "portal/messages"},
			}},
		},
	}
}

var nextLink = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

// GIVEN a part budget of a few messages, a conversation longer than a part
// and changes between parts WHEN the parts are downloaded one after the
// other, each from the Link of the one before THEN each bundle validates,
// every message that was in the chart when the download began comes exactly
// once and in its chain's order, a conversation split across parts keeps
// its chain (inResponseTo the last message of the previous part), a
// conversation started meanwhile comes at the end, and a part link is bound
// to its caller and patient.
func TestExportInParts(t *testing.T) {
	deps, s := newDeps(t)
	deps.ExportBudget = 3 * app.ExportMessageOverhead // two or three short messages a part
	h := api.Constructors["export-chart"](deps)
	write := api.Constructors["write-message"](deps)
	for i, body := range []string{"One", "Two", "Three", "Four", "Five"} {
		ev := staffEvent(seed.NurseKim, "POST", "/staff/patients/{patientId}/conversations/{conversationId}/messages", "/x",
			map[string]string{"patientId": seed.Mateo, "conversationId": seed.ConvRash}, `{"body":"`+body+`"}`)
		ev.Headers["idempotency-key"] = "parts-" + body
		if resp, _ := write(t.Context(), ev); resp.StatusCode != 201 {
			t.Fatalf("reply %d: %d %s", i, resp.StatusCode, resp.Body)
		}
	}
	// The chart as it is when the download begins, chain by chain.
	before := map[string][]string{}
	total := 0
	convs, err := s.Conversations(t.Context(), seed.Mateo, []domain.Audience{domain.AudienceFamily}, app.ConversationFilter{}, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range convs.Items {
		_, page, err := s.Chain(t.Context(), seed.Mateo, []domain.Audience{domain.AudienceFamily}, c.ID, 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range page.Items {
			before[c.ID] = append(before[c.ID], m.ID)
		}
		total += len(page.Items)
	}

	seen := map[string][]string{} // conversation → message IDs in download order
	lastOf := map[string]string{} // conversation → its last message so far (its fullUrl)
	query := "format=fhir"
	parts := 0
	for ; query != ""; parts++ {
		resp, _ := h(t.Context(), portalExport(seed.ParentRivera, seed.Mateo, query))
		if resp.StatusCode != 200 {
			t.Fatalf("part %d: %d %s", parts+1, resp.StatusCode, resp.Body)
		}
		fhircheck.Validate(t, []byte(resp.Body))
		var b struct {
			Link  []struct{ Relation, URL string }
			Entry []struct {
				FullURL  string
				Resource struct {
					ID           string
					Identifier   []struct{ System, Value string }
					InResponseTo []struct{ Reference string }
				}
			}
		}
		if err := json.Unmarshal([]byte(resp.Body), &b); err != nil {
			t.Fatal(err)
		}
		if len(b.Entry) == 0 {
			t.Fatalf("part %d is empty", parts+1)
		}
		for _, e := range b.Entry {
			conv := e.Resource.Identifier[1].Value
			if prev, ok := lastOf[conv]; ok && (len(e.Resource.InResponseTo) != 1 || e.Resource.InResponseTo[0].Reference != prev) {
				t.Errorf("message %s of a split chain does not answer %s: %+v", e.Resource.ID, prev, e.Resource.InResponseTo)
			}
			seen[conv] = append(seen[conv], e.Resource.ID)
			lastOf[conv] = e.FullURL
		}
		query = ""
		if m := nextLink.FindStringSubmatch(resp.Headers["Link"]); m != nil {
			u, err := url.Parse(m[1])
			if err != nil || u.Path != "/portal/patients/"+seed.Mateo+"/export" || len(b.Link) != 1 || b.Link[0].URL != m[1] {
				t.Fatalf("part %d: Link %q, bundle link %+v", parts+1, m[1], b.Link)
			}
			query = u.RawQuery
			if parts == 0 {
				// Meanwhile: the family starts a conversation. It comes
				// at the end, in the last part.
				ev := portalExport(seed.ParentRivera, seed.Mateo, "")
				ev.RouteKey, ev.RequestContext.RouteKey = "POST /portal/patients/{patientId}/conversations", "POST /portal/patients/{patientId}/conversations"
				ev.Body, ev.Headers = `{"poolId":"`+seed.PoolNurse+`","subject":"Meanwhile","body":"Started between parts"}`, map[string]string{"content-type": "application/json", "idempotency-key": "parts-meanwhile"}
				if resp, _ := write(t.Context(), ev); resp.StatusCode != 201 {
					t.Fatalf("start between parts: %d %s", resp.StatusCode, resp.Body)
				}
				// The link is the caller's and the patient's only.
				if resp, _ := h(t.Context(), portalExport(seed.ParentLuis, seed.Mateo, query)); resp.StatusCode != 422 || !strings.Contains(resp.Body, `"field":"part"`) {
					t.Errorf("another guardian's use of the part link: %d %s", resp.StatusCode, resp.Body)
				}
				if resp, _ := h(t.Context(), portalExport(seed.ParentRivera, seed.Sofia, query)); resp.StatusCode != 422 {
					t.Errorf("the part link on another patient: %d %s", resp.StatusCode, resp.Body)
				}
			}
		}
	}
	if parts < 3 {
		t.Fatalf("%d parts; the budget should split this chart in at least 3", parts)
	}
	got := 0
	for conv, ids := range before {
		if strings.Join(seen[conv], ",") != strings.Join(ids, ",") {
			t.Errorf("conversation %s came as %v, want %v", conv, seen[conv], ids)
		}
		got += len(seen[conv])
	}
	if len(seen) != len(before)+1 {
		t.Errorf("%d conversations downloaded, want the %d of the chart and the one started meanwhile", len(seen), len(before))
	}
	t.Logf("%d messages in %d parts", got, parts)
	if got != total {
		t.Errorf("%d of the chart's %d messages downloaded", got, total)
	}
}
