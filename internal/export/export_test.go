package export_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/samply/golang-fhir-models/fhir-models/fhir"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/export"
	"github.com/pedsportal/messaging/internal/localdev/fhircheck"
)

var (
	t0      = time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)
	patient = domain.PatientRef{ID: "pt-1", DisplayName: "Robin <Lee>"}
	parent  = domain.Party{ID: "user-parent", Name: "Ana \"Mum\" Lee", Role: "portal", Side: domain.SidePortal}
	nurse   = domain.Party{ID: "staff-kim", Name: "Jordan Kim, RN", Role: "nurse", Side: domain.SideStaff}
	hostile = `</p><script>alert(1)</script><img src=x onerror=alert(2)> & "quotes" 'single'` + "\n\u2028second line"
)

func id(n int) string {
	return ulid.MustNew(ulid.Timestamp(t0.Add(time.Duration(n)*time.Minute)), zero{}).String()
}

type zero struct{}

func (zero) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// sample is two conversations: one the family started, one the practice
// did, with an automatic reply and hostile text.
func sample() app.Export {
	c1 := domain.Conversation{ID: id(1), Patient: patient, Subject: "Rash <b>after</b> antibiotics", Pool: domain.PoolRef{ID: "pool-nurse", Name: "Nurse line"},
		Status: domain.StatusOpen, StartedBy: parent, PortalUserID: parent.ID, CreatedAt: t0, MessageCount: 3}
	c2 := domain.Conversation{ID: id(10), Patient: patient, Subject: "Lab results", Pool: domain.PoolRef{ID: "pool-front", Name: "Front desk"},
		Status: domain.StatusClosed, StartedBy: nurse, PortalUserID: parent.ID, CreatedAt: t0.Add(time.Hour), MessageCount: 1}
	msg := func(n int, c domain.Conversation, by domain.Party, body string) domain.Message {
		return domain.Message{ID: id(n), ConversationID: c.ID, PatientID: patient.ID, Body: body, Author: by, CreatedAt: t0.Add(time.Duration(n) * time.Minute)}
	}
	auto := msg(3, c1, app.AutoReplier, "Our office is closed right now.")
	auto.Automatic = true
	return app.Export{Patient: patient, Practice: "Maple Grove Pediatrics", By: parent, At: t0.Add(2 * time.Hour), Part: 1,
		Conversations: []app.ExportedConversation{
			{Conversation: c1, FirstID: id(1), Messages: []domain.Message{msg(1, c1, parent, hostile), msg(2, c1, nurse, "Stop it & call us."), auto}},
			{Conversation: c2, FirstID: id(11), Messages: []domain.Message{msg(11, c2, nurse, "All normal.")}},
		}}
}

// GIVEN an export WHEN written as FHIR THEN the official R4 schema accepts
// it, and a deliberately broken bundle is refused (the check can fail).
func TestFHIRValidates(t *testing.T) {
	b, err := export.FHIR(sample(), "/portal/patients/pt-1/export?format=fhir&part=x")
	if err != nil {
		t.Fatal(err)
	}
	fhircheck.Validate(t, b)
	// The schema checks elements, types and formats; the code bindings
	// (status) are checked by the R4 model's enums in the round trip.
	for name, broken := range map[string]string{
		"a sent time that is no dateTime": strings.Replace(string(b), `"sent":"2026`, `"sent":"Mon 2026`, 1),
		"an element R4 does not have":     strings.Replace(string(b), `"contentString"`, `"text"`, 1),
	} {
		if err := fhircheck.Check([]byte(broken)); err == nil {
			t.Errorf("%s passed the schema check", name)
		}
	}
}

// GIVEN an export WHEN its bundle is read back with a third-party R4 model
// THEN every message comes back, in order, with its chain, sender,
// recipient, times and text.
func TestFHIRRoundTrip(t *testing.T) {
	e := sample()
	b, err := export.FHIR(e, "")
	if err != nil {
		t.Fatal(err)
	}
	got := fhircheck.Rebuild(t, b)
	var want [][]domain.Message
	for _, x := range e.Conversations {
		want = append(want, x.Messages)
	}
	if len(got) != len(want) {
		t.Fatalf("rebuilt %d conversations, want %d", len(got), len(want))
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("conversation %d: %d messages, want %d", i, len(got[i]), len(want[i]))
		}
		for j, m := range want[i] {
			g := got[i][j]
			if g.Status != "completed" || g.SubjectID != patient.ID || !g.Received.Equal(m.CreatedAt) {
				t.Errorf("conversation %d message %d: status %q, subject %q, received %v", i, j, g.Status, g.SubjectID, g.Received)
			}
			if g.ID != m.ID || g.Body != m.Body || !g.Sent.Equal(m.CreatedAt) || (g.SenderID != m.Author.ID && !m.Automatic) || g.Topic != e.Conversations[i].Conversation.Subject {
				t.Errorf("conversation %d message %d = %+v, want %+v", i, j, g, m)
			}
		}
	}
	var bundle fhir.Bundle
	if err := json.Unmarshal(b, &bundle); err != nil {
		t.Fatal(err)
	}
	first, err := fhir.UnmarshalCommunication(bundle.Entry[0].Resource)
	if err != nil {
		t.Fatal(err)
	}
	if first.Sender.Type == nil || *first.Sender.Type != "RelatedPerson" || *first.Recipient[0].Type != "HealthcareService" || *first.Subject.Identifier.Value != patient.ID {
		t.Errorf("family message: sender %+v, recipient %+v, subject %+v", first.Sender, first.Recipient, first.Subject)
	}
	reply, _ := fhir.UnmarshalCommunication(bundle.Entry[1].Resource)
	if *reply.Sender.Type != "Practitioner" || *reply.Recipient[0].Type != "RelatedPerson" || *reply.Recipient[0].Identifier.Value != parent.ID {
		t.Errorf("staff reply: sender %+v, recipient %+v", reply.Sender, reply.Recipient)
	}
	auto, _ := fhir.UnmarshalCommunication(bundle.Entry[2].Resource)
	if *auto.Sender.Type != "Device" {
		t.Errorf("automatic reply: sender %+v", auto.Sender)
	}
}

// GIVEN hostile text WHEN written as HTML THEN it is escaped, the file runs
// no script and loads nothing, and its style is the one the policy allows.
func TestHTMLEscapesAndRunsNothing(t *testing.T) {
	e := sample()
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	e.Zone = chicago
	page := string(export.HTML(e))
	// Times on the practice's clock, zone named.
	if !strings.Contains(page, `<time datetime="2026-11-30T14:01:00.000Z">Mon 30 Nov 2026, 8:01 AM CST</time>`) {
		t.Errorf("the first message's time is not on the practice's clock: %.600s", page[strings.Index(page, "<article"):])
	}
	for _, bad := range []string{"<script", "<img", "<b>after", "onerror=alert(2)>"} {
		if strings.Contains(page, bad) {
			t.Errorf("page carries %q unescaped", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "Rash &lt;b&gt;after&lt;/b&gt; antibiotics", "Ana &#34;Mum&#34; Lee", "Stop it &amp; call us.", "Maple Grove Pediatrics", "Lab results", "Automatic reply"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if !strings.Contains(export.CSP, "default-src 'none'") || strings.Contains(export.CSP, "unsafe-inline") || strings.Contains(export.CSP, "script-src") {
		t.Errorf("policy %q", export.CSP)
	}
	if !strings.Contains(page, `content="`+strings.ReplaceAll(export.CSP, "'", "&#39;")+`"`) {
		t.Errorf("the file does not carry its own policy")
	}
	// The policy allows exactly the file's style, by its hash.
	_, css, _ := strings.Cut(page, "<style>")
	css, _, _ = strings.Cut(css, "</style>")
	sum := sha256.Sum256([]byte(css))
	if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; css == "" || !strings.Contains(export.CSP, want) {
		t.Errorf("policy %q does not allow the file's style: want %s", export.CSP, want)
	}
	if strings.Index(page, "Rash") > strings.Index(page, "Lab results") {
		t.Errorf("conversations out of order")
	}
}

// GIVEN a part filled to the budget with the most expensive text there is,
// as long messages or as one-character ones under hostile names WHEN written in either format and wrapped in a Lambda response THEN it
// fits Lambda's 6 MB response limit.
func TestWorstPartFitsALambdaResponse(t *testing.T) {
	// Long hostile text, and (the other extreme) one-character messages,
	// each its own conversation, under hostile names: all overhead.
	for _, shape := range []struct {
		name, body string
		perConv    int
	}{{"long text", strings.Repeat(`&"<'`, domain.BodyMax/4), 1 << 30}, {"short messages", "&", 1}} {
		hostile := strings.Repeat("&", 80)
		who := domain.Party{ID: "user-" + strings.Repeat("9", 36), Name: hostile, Role: "portal", Side: domain.SidePortal}
		e := app.Export{Patient: domain.PatientRef{ID: patient.ID, DisplayName: hostile}, By: who, At: t0, Part: 1}
		spent := 0
		for n := 1; ; n++ {
			if len(e.Conversations) == 0 || len(e.Conversations[len(e.Conversations)-1].Messages) >= shape.perConv {
				c := domain.Conversation{ID: id(n), Patient: e.Patient, Subject: strings.Repeat("&", domain.SubjectMax),
					Pool: domain.PoolRef{ID: "pool-" + strings.Repeat("9", 40), Name: hostile}, Status: domain.StatusOpen, StartedBy: who, PortalUserID: who.ID, CreatedAt: t0}
				e.Conversations = append(e.Conversations, app.ExportedConversation{Conversation: c, FirstID: id(n)})
			}
			x := &e.Conversations[len(e.Conversations)-1]
			m := domain.Message{ID: id(n), ConversationID: x.Conversation.ID, PatientID: patient.ID, Body: shape.body, Author: who, CreatedAt: t0}
			if spent += app.MessageCost(x.Conversation, m); spent > app.ExportBudget {
				break
			}
			x.Messages = append(x.Messages, m)
		}
		checkFits(t, shape.name, e)
	}
}

// checkFits fails unless both files of e fit a Lambda response.
func checkFits(t *testing.T, shape string, e app.Export) {
	t.Helper()
	n := 0
	for _, c := range e.Conversations {
		n += len(c.Messages)
	}
	fb, err := export.FHIR(e, "/portal/patients/pt-1/export?format=fhir&part="+strings.Repeat("A", 600))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"html": export.HTML(e), "fhir": fb} {
		// Lambda's runtime encodes the response, body as a JSON string.
		wrapped, _ := json.Marshal(map[string]any{"statusCode": 200, "headers": map[string]string{"Content-Security-Policy": export.CSP}, "body": string(b)})
		const lambdaLimit = 6 << 20
		if len(wrapped) > lambdaLimit {
			t.Errorf("%s, %s: %d messages encode to %d bytes, over Lambda's %d", shape, name, n, len(wrapped), lambdaLimit)
		}
		t.Logf("%s, %s: %d messages: %d bytes in the Lambda response", shape, name, n, len(wrapped))
	}
}
