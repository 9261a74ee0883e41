package api_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/directory"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/seed"
)

const previewRoute = "/staff/patients/{patientId}/templates/{templateId}/preview"

func previewEvent(sub, patientID, templateID string) events.APIGatewayV2HTTPRequest {
	return staffEvent(sub, "POST", previewRoute, "/staff/patients/"+patientID+"/templates/"+templateID+"/preview",
		map[string]string{"patientId": patientID, "templateId": templateID}, "")
}

var instanceRE = regexp.MustCompile(`"instance":"[^"]*"`)

// GIVEN two practices WHEN staff preview a template for a patient THEN
// their own practice's patient gets the text with the child's first name,
// audited under the patient; another practice's patient, a patient that
// does not exist and a template that is not theirs get the same 404; and a
// portal token on the route is refused.
func TestPreviewIsDecidedLikeEveryPatientRead(t *testing.T) {
	deps, s := newDeps(t)
	other := &directory.File{
		Practice:  domain.Practice{ID: "prac-elm", Name: "Elm Pediatrics"},
		Staff:     []directory.Staff{{ID: "sub-elm-nurse", DisplayName: "Elm Nurse", Role: domain.RoleNurse}},
		Patients:  []directory.Patient{{ID: "pt-elm-1", DisplayName: "Avery Elm", DateOfBirth: "2019-01-01"}},
		Templates: []directory.Template{{ID: "tpl-elm", Title: "Elm", Body: "Hello {childFirstName}"}},
	}
	if err := directory.Load(t.Context(), s, other, "test", func(string, int) {}); err != nil {
		t.Fatal(err)
	}
	h := api.Constructors[routes.FnTemplates](deps)

	resp, err := h(t.Context(), previewEvent(seed.NurseKim, seed.Mateo, seed.TemplateAfterHours))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("own patient: %d %v %s", resp.StatusCode, err, resp.Body)
	}
	var got struct{ TemplateID, Title, Text string }
	if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got.Text, "Thank you for writing about Mateo. ") || strings.Contains(got.Text, "{") || got.TemplateID != seed.TemplateAfterHours {
		t.Errorf("preview = %+v", got)
	}
	trail, err := s.AuditTrail(t.Context(), seed.Mateo)
	if err != nil {
		t.Fatal(err)
	}
	var previews []audit.Record
	for _, r := range trail {
		if r.Action == audit.PreviewTemplate {
			previews = append(previews, r)
		}
	}
	if len(previews) != 1 || previews[0].Outcome != audit.Success || previews[0].TargetID != seed.TemplateAfterHours || previews[0].ActorID != seed.NurseKim {
		t.Errorf("preview audit records = %+v", previews)
	}

	notFound := map[string]events.APIGatewayV2HTTPRequest{
		"another practice's patient":            previewEvent(seed.NurseKim, "pt-elm-1", seed.TemplateAfterHours),
		"no such patient":                       previewEvent(seed.NurseKim, "pt-NOPE", seed.TemplateAfterHours),
		"no such template":                      previewEvent(seed.NurseKim, seed.Mateo, "tpl-nope"),
		"another practice's template":           previewEvent(seed.NurseKim, seed.Mateo, "tpl-elm"),
		"staff of another practice":             previewEvent("sub-elm-nurse", seed.Mateo, seed.TemplateAfterHours),
		"another practice's template, own kid":  previewEvent("sub-elm-nurse", "pt-elm-1", seed.TemplateAfterHours),
		"someone's personal template, no owner": previewEvent(seed.NurseKim, seed.Mateo, domain.PersonalTemplatePrefix+"NOPE"),
	}
	var first string
	for name, ev := range notFound {
		resp, err := h(t.Context(), ev)
		if err != nil || resp.StatusCode != 404 {
			t.Errorf("%s: %d %v %s", name, resp.StatusCode, err, resp.Body)
			continue
		}
		body := instanceRE.ReplaceAllString(resp.Body, "")
		if first == "" {
			first = body
		} else if body != first {
			t.Errorf("%s: 404 differs: %s vs %s", name, body, first)
		}
		if strings.Contains(resp.Body, "Mateo") || strings.Contains(resp.Body, "Avery") {
			t.Errorf("%s: 404 names the child: %s", name, resp.Body)
		}
	}
	// The elm nurse's own template for their own patient works: the
	// refusals above are about ownership, not the fixture.
	if resp, _ := h(t.Context(), previewEvent("sub-elm-nurse", "pt-elm-1", "tpl-elm")); resp.StatusCode != 200 || !strings.Contains(resp.Body, `"text":"Hello Avery"`) {
		t.Errorf("elm's own template: %d %s", resp.StatusCode, resp.Body)
	}

	// A portal access token on a staff route.
	ev := previewEvent(seed.NurseKim, seed.Mateo, seed.TemplateAfterHours)
	ev.RequestContext.Authorizer.JWT.Claims = map[string]string{"sub": seed.ParentRivera, "iss": "http://127.0.0.1:8082/portal", "client_id": "portal-web", "token_use": "access", "scope": "portal/messages"}
	if resp, _ := h(t.Context(), ev); resp.StatusCode != 403 || strings.Contains(resp.Body, "Mateo") {
		t.Errorf("portal token on preview: %d %s", resp.StatusCode, resp.Body)
	}
}

// GIVEN two staff members WHEN one keeps templates of their own THEN only
// they list, preview, edit and delete them (the other gets 404, the same
// as for a template that does not exist); unknown variables and overlong
// fields are refused naming what is wrong; every change is audited under
// its author; and the cap holds.
func TestPersonalTemplates(t *testing.T) {
	deps, s := newDeps(t)
	h := api.Constructors[routes.FnTemplates](deps)
	call := func(sub, method, route, id, body string) (int, string) {
		t.Helper()
		path, params := route, map[string]string(nil)
		if id != "" {
			path, params = strings.Replace(route, "{templateId}", id, 1), map[string]string{"templateId": id}
		}
		resp, err := h(t.Context(), staffEvent(sub, method, route, path, params, body))
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, resp.Body
	}
	const one = "/staff/templates/{templateId}"

	status, body := call(seed.NurseKim, "POST", "/staff/templates", "", `{"title":"Rash check","body":"Hi, how is {childFirstName}'s rash today?"}`)
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	var created struct{ Template domain.Template }
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	id := created.Template.ID
	if !strings.HasPrefix(id, domain.PersonalTemplatePrefix) || created.Template.Scope != domain.ScopeMine {
		t.Fatalf("created %+v", created.Template)
	}

	status, body = call(seed.NurseKim, "GET", "/staff/templates", "", "")
	if status != 200 || !strings.Contains(body, id) || !strings.Contains(body, seed.TemplateAfterHours) || !strings.Contains(body, `"scope":"pool","poolId":"`+seed.PoolNurse+`"`) {
		t.Errorf("own list: %d %s", status, body)
	}
	if status, body = call(seed.DrPatel, "GET", "/staff/templates", "", ""); status != 200 || strings.Contains(body, id) {
		t.Errorf("another staff member's list shows the template: %d %s", status, body)
	}

	resp, _ := h(t.Context(), previewEvent(seed.NurseKim, seed.Mateo, id))
	if resp.StatusCode != 200 || !strings.Contains(resp.Body, `"text":"Hi, how is Mateo's rash today?"`) {
		t.Errorf("own preview: %d %s", resp.StatusCode, resp.Body)
	}
	for name, do := range map[string]func() (int, string){
		"preview": func() (int, string) {
			r, _ := h(t.Context(), previewEvent(seed.DrPatel, seed.Mateo, id))
			return r.StatusCode, r.Body
		},
		"update": func() (int, string) { return call(seed.DrPatel, "PUT", one, id, `{"title":"Mine now","body":"x"}`) },
		"delete": func() (int, string) { return call(seed.DrPatel, "DELETE", one, id, "") },
		"update a practice template": func() (int, string) {
			return call(seed.NurseKim, "PUT", one, seed.TemplateAfterHours, `{"title":"x","body":"x"}`)
		},
		"delete a practice template": func() (int, string) { return call(seed.NurseKim, "DELETE", one, seed.TemplateAfterHours, "") },
	} {
		if status, body := do(); status != 404 {
			t.Errorf("%s by another: %d %s", name, status, body)
		}
	}

	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"title":"Hours","body":"Hi {childName}"}`, 400, `unknown variable {childName} in body`},
		{`{"title":"Hours","body":"Hi {childFirstName} {Nurseline}"}`, 400, `{Nurseline}`},
		{`{"title":"` + strings.Repeat("t", domain.TemplateTitleMax+1) + `","body":"x"}`, 422, `"field":"title"`},
		{`{"title":"Hours","body":"` + strings.Repeat("b", domain.TemplateBodyMax+1) + `"}`, 422, `"field":"body"`},
		{`{"title":"Two\nlines","body":"x"}`, 422, `title must be one line`},
		{`{"title":"Hours","body":"x","poolId":"pool-billing"}`, 400, `unknown field`},
	} {
		if status, body := call(seed.NurseKim, "PUT", one, id, tc.body); status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("update with %.60s: %d %s; want %d naming %s", tc.body, status, body, tc.status, tc.want)
		}
	}
	if status, body := call(seed.NurseKim, "PUT", one, id, `{"title":"Rash check","body":"Hello again, {childFirstName}. {practiceName}"}`); status != 200 || !strings.Contains(body, "Hello again") {
		t.Errorf("update: %d %s", status, body)
	}
	resp, _ = h(t.Context(), previewEvent(seed.NurseKim, seed.Sofia, id))
	if !strings.Contains(resp.Body, `"text":"Hello again, Sofia. Maple Grove Pediatrics"`) {
		t.Errorf("preview after update: %s", resp.Body)
	}
	if status, body := call(seed.NurseKim, "DELETE", one, id, ""); status != 204 {
		t.Errorf("delete: %d %s", status, body)
	}
	if status, _ := call(seed.NurseKim, "DELETE", one, id, ""); status != 404 {
		t.Errorf("second delete: %d", status)
	}

	trail, err := s.ActorTrail(t.Context(), seed.NurseKim)
	if err != nil {
		t.Fatal(err)
	}
	changes := map[audit.Action]int{}
	for _, r := range trail {
		if r.TargetID == id && r.Outcome == audit.Success {
			changes[r.Action]++
		}
	}
	if changes[audit.CreateTemplate] != 1 || changes[audit.UpdateTemplate] != 1 || changes[audit.DeleteTemplate] != 1 {
		t.Errorf("audited changes of %s = %v", id, changes)
	}

	// The cap: a full set, then one more is refused and not stored.
	for i := range domain.PersonalTemplateMax {
		if status, body := call(seed.DeskLee, "POST", "/staff/templates", "", fmt.Sprintf(`{"title":"T%d","body":"x"}`, i)); status != 201 {
			t.Fatalf("create %d: %d %s", i, status, body)
		}
	}
	if status, body := call(seed.DeskLee, "POST", "/staff/templates", "", `{"title":"One more","body":"x"}`); status != 409 || !strings.Contains(body, "limit") {
		t.Errorf("over the cap: %d %s", status, body)
	}
	list, err := s.Templates(t.Context(), seed.PracticeID, seed.DeskLee)
	if err != nil {
		t.Fatal(err)
	}
	mine := 0
	for _, tp := range list {
		if tp.Scope == domain.ScopeMine {
			mine++
		}
	}
	if mine != domain.PersonalTemplateMax {
		t.Errorf("desk.lee has %d templates, want %d", mine, domain.PersonalTemplateMax)
	}
}
