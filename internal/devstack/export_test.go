package devstack_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/localdev/fhircheck"
	"github.com/pedsportal/messaging/internal/seed"
)

// chart reads every conversation of a patient and every message of each
// through the list and chain routes, in creation order: what the download
// must reproduce, and the conversation IDs in creation order.
func (c *client) chart(t *testing.T, base string) (map[string]conv, map[string][]message, []string) {
	t.Helper()
	convs := map[string]conv{}
	msgs := map[string][]message{}
	type created struct {
		ID        string    `json:"id"`
		CreatedAt time.Time `json:"createdAt"`
	}
	var order []created
	for cursor := ""; ; {
		var l list
		r := c.must(200, "GET", base+"/conversations?limit=100&cursor="+cursor, nil)
		r.json(t, &l)
		var times struct{ Items []created }
		r.json(t, &times)
		order = append(order, times.Items...)
		for _, cv := range l.Items {
			convs[cv.ID] = cv
			for mc := ""; ; {
				var ch chain
				c.must(200, "GET", base+"/conversations/"+cv.ID+"?limit=100&cursor="+mc, nil).json(t, &ch)
				msgs[cv.ID] = append(msgs[cv.ID], ch.Messages...)
				if mc = ch.NextCursor; mc == "" {
					break
				}
			}
		}
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	slices.SortFunc(order, func(x, y created) int {
		if d := x.CreatedAt.Compare(y.CreatedAt); d != 0 {
			return d
		}
		return strings.Compare(x.ID, y.ID)
	})
	ids := make([]string, len(order))
	for i, o := range order {
		ids[i] = o.ID
	}
	return convs, msgs, ids
}

// GIVEN the demo chart, a staff note and a sibling's conversations WHEN a
// parent and a nurse download Mateo's conversations THEN the FHIR bundle
// validates against the R4 schema, rebuilding it gives back every message
// the caller can read, in order, and nothing else (no sibling's
// conversation, no staff note); the HTML file is an escaped, script-free
// attachment; each download left its disclosure record; and a foreign
// patient gets the very answer of a missing one.
func TestExportChart(t *testing.T) {
	e := start(t)
	ana, nurse, chen := e.as("portal", "parent.rivera"), e.as("staff", "nurse.kim"), e.as("portal", "parent.chen")
	mateo, sofia := "/portal/patients/"+seed.Mateo, "/portal/patients/"+seed.Sofia
	staffMateo := "/staff/patients/" + seed.Mateo

	const note = "Internal note Pangolin"
	nurse.must(201, "POST", staffMateo+"/conversations/"+seed.ConvRash+"/notes", map[string]string{"text": note})
	var w written
	ana.must(201, "POST", mateo+"/conversations", map[string]string{"poolId": seed.PoolNurse, "subject": "Fever <b>again</b>", "body": "<script>alert(1)</script> 39.2 & rising"}, key()...).json(t, &w)
	nurse.must(201, "POST", staffMateo+"/conversations/"+w.Conversation.ID+"/messages", map[string]string{"body": "Please call the nurse line."}, key()...)

	sofiaConvs, _, _ := ana.chart(t, sofia)
	if len(sofiaConvs) == 0 {
		t.Fatal("the demo data gives Sofia no conversation; the sibling check would prove nothing")
	}

	for _, tc := range []struct {
		name string
		c    *client
		base string
	}{{"parent", ana, mateo}, {"nurse", nurse, staffMateo}} {
		t.Run(tc.name, func(t *testing.T) {
			convs, msgs, ids := tc.c.chart(t, tc.base)
			r := tc.c.must(200, "GET", tc.base+"/export?format=fhir", nil)
			if ct := r.header.Get("Content-Type"); ct != "application/fhir+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if cd := r.header.Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="messages-`+seed.Mateo) || !strings.HasSuffix(cd, `.fhir.json"`) {
				t.Errorf("Content-Disposition %q", cd)
			}
			if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Link") != "" {
				t.Errorf("Cache-Control %q, Link %q (the demo chart is one part)", r.header.Get("Cache-Control"), r.header.Get("Link"))
			}
			fhircheck.Validate(t, r.body)
			got := fhircheck.Rebuild(t, r.body)

			// The chains, in creation order, exactly as the chain route
			// reads them.
			if len(got) != len(ids) {
				t.Fatalf("bundle holds %d conversations, the list %d", len(got), len(ids))
			}
			for i, id := range ids {
				want := msgs[id]
				if len(got[i]) != len(want) {
					t.Fatalf("conversation %s: %d messages in the bundle, %d in the chain", id, len(got[i]), len(want))
				}
				for j, m := range want {
					g := got[i][j]
					if g.ID != m.ID || g.Body != m.Body || g.Topic != convs[id].Subject || g.SubjectID != seed.Mateo || g.Status != "completed" {
						t.Errorf("conversation %s message %d: %+v, want %+v", id, j, g, m)
					}
					wantType := map[string]string{"portal": "RelatedPerson", "staff": "Practitioner"}[m.Author.Side]
					if m.Author.Role == "auto" {
						wantType = "Device"
					}
					if g.SenderType != wantType || (wantType != "Device" && g.SenderID != m.Author.ID) {
						t.Errorf("message %s sender %s/%s, want %s/%s", m.ID, g.SenderType, g.SenderID, wantType, m.Author.ID)
					}
				}
			}
			// Nothing the caller may not see: no sibling's conversation, no
			// staff note, in either format.
			html := tc.c.must(200, "GET", tc.base+"/export", nil)
			for _, b := range [][]byte{r.body, html.body} {
				for id, cv := range sofiaConvs {
					if bytes.Contains(b, []byte(id)) || bytes.Contains(b, []byte(cv.Subject)) {
						t.Errorf("Mateo's download holds Sofia's conversation %s", id)
					}
				}
				if bytes.Contains(b, []byte(note)) || bytes.Contains(b, []byte("Pangolin")) {
					t.Error("the download holds a staff note")
				}
			}
			if ct := html.header.Get("Content-Type"); ct != "text/html; charset=utf-8" || !strings.HasSuffix(html.header.Get("Content-Disposition"), `.html"`) {
				t.Errorf("HTML: Content-Type %q, Content-Disposition %q", ct, html.header.Get("Content-Disposition"))
			}
			if csp := html.header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
				t.Errorf("HTML policy %q", csp)
			}
			if bytes.Contains(html.body, []byte("<script")) || !bytes.Contains(html.body, []byte("&lt;script&gt;alert(1)&lt;/script&gt; 39.2 &amp; rising")) {
				t.Error("the HTML file does not escape the messages")
			}
			for _, id := range ids {
				if !bytes.Contains(html.body, []byte(htmlEscape(convs[id].Subject))) {
					t.Errorf("the HTML file lacks conversation %q", convs[id].Subject)
				}
			}

			// Each download is a disclosure on record.
			trail, err := e.st.Store.AuditTrail(t.Context(), seed.Mateo)
			if err != nil {
				t.Fatal(err)
			}
			nmsgs := 0
			for _, m := range msgs {
				nmsgs += len(m)
			}
			for format, resp := range map[string]response{"fhir": r, "html": html} {
				rid := resp.header.Get("apigw-requestid")
				if !slices.ContainsFunc(trail, func(a audit.Record) bool {
					return a.RequestID == rid && a.Action == audit.ExportChart && a.Outcome == audit.Success && a.Status == 200 && slices.Contains(a.Disclosed, "format:"+format) &&
						slices.Contains(a.Disclosed, "part:1") && slices.Contains(a.Disclosed, fmt.Sprintf("conversations:%d", len(ids))) &&
						slices.Contains(a.Disclosed, fmt.Sprintf("messages:%d", nmsgs)) && slices.Contains(a.Disclosed, "first:"+ids[0])
				}) {
					t.Errorf("no disclosure record of the %s file (request %s): %+v", format, rid, trail[len(trail)-1])
				}
			}
		})
	}

	t.Run("a foreign patient is a missing one", func(t *testing.T) {
		for _, format := range []string{"fhir", "html"} {
			foreign := chen.do("GET", mateo+"/export?format="+format, nil)
			missing := chen.do("GET", "/portal/patients/pt-does-not-exist/export?format="+format, nil)
			if foreign.status != 404 || missing.status != 404 || !bytes.Equal(withoutInstance(foreign.body), withoutInstance(missing.body)) {
				t.Fatalf("%s: foreign %d %s, missing %d %s", format, foreign.status, foreign.body, missing.status, missing.body)
			}
			if foreign.header.Get("Content-Type") != "application/problem+json" || foreign.header.Get("Content-Disposition") != "" {
				t.Fatalf("%s: a refusal came as a file: %v", format, foreign.header)
			}
		}
		own, err := e.st.Store.ActorTrail(t.Context(), seed.ParentChen)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(own, func(a audit.Record) bool {
			return a.Action == audit.ExportChart && a.Outcome == audit.Denied && a.RequestedPatientID == seed.Mateo
		}) {
			t.Error("the denied download is not on record under the caller")
		}
	})

	t.Run("bad format and part links", func(t *testing.T) {
		var p struct{ Field string }
		ana.must(422, "GET", mateo+"/export?format=pdf", nil).json(t, &p)
		if p.Field != "format" {
			t.Errorf("field %q", p.Field)
		}
		ana.must(422, "GET", mateo+"/export?part=forged", nil).json(t, &p)
		if p.Field != "part" {
			t.Errorf("field %q", p.Field)
		}
	})
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}
