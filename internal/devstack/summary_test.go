package devstack_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/seed"
)

type patientNews struct {
	PatientID        string     `json:"patientId"`
	Unread           int        `json:"unread"`
	UnreadMessages   int        `json:"unreadMessages"`
	LatestActivityAt *time.Time `json:"latestActivityAt"`
	LatestReadAt     *time.Time `json:"latestReadAt"`
}

type portalSummary struct {
	Patients []patientNews `json:"patients"`
	Unread   int           `json:"unread"`
}

func (s portalSummary) of(t *testing.T, patientID string) patientNews {
	t.Helper()
	for _, p := range s.Patients {
		if p.PatientID == patientID {
			return p
		}
	}
	t.Fatalf("summary has no line for %s: %+v", patientID, s)
	return patientNews{}
}

// GIVEN Ana Rivera, parent of Mateo and Sofia, WHEN she polls the summary
// THEN it counts each child's unread conversations, carries no content,
// moves with a staff reply, her own read and the office's read (the read
// receipt), is audited once per child, and names no one else's child.
func TestPortalSummary(t *testing.T) {
	e := start(t)
	ana, nurse := e.as("portal", "parent.rivera"), e.as("staff", "nurse.kim")
	var before portalSummary
	defer func() {
		if t.Failed() {
			t.Log(e.logs.String())
		}
	}()
	r := ana.must(200, "GET", "/portal/summary", nil)
	r.json(t, &before)
	ids := []string{}
	for _, p := range before.Patients {
		ids = append(ids, p.PatientID)
	}
	slices.Sort(ids)
	want := []string{seed.Mateo, seed.Sofia}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("summary patients = %v, want Mateo and Sofia only", ids)
	}
	// Content-free: no subject, preview, name or birth date.
	for _, s := range []string{"Rash", "ear", "Mateo", "Sofia", "2017-03-14", "subject", "preview"} {
		if strings.Contains(string(r.body), s) {
			t.Errorf("the summary carries %q: %s", s, r.body)
		}
	}
	sum := 0
	for _, p := range before.Patients {
		sum += p.Unread
	}
	if before.Unread != sum {
		t.Errorf("total unread %d, patients add up to %d", before.Unread, sum)
	}

	// A staff reply about Mateo: one more unread conversation for him
	// (the rash conversation had none for the family), newer activity.
	rash := "/patients/" + seed.Mateo + "/conversations/" + seed.ConvRash
	mateo0 := before.of(t, seed.Mateo)
	nurse.must(200, "POST", "/staff"+rash+"/read", nil)
	nurse.must(201, "POST", "/staff"+rash+"/messages", map[string]string{"body": "Please stop it and call us."}, key()...)
	var afterReply portalSummary
	ana.must(200, "GET", "/portal/summary", nil).json(t, &afterReply)
	mateo1 := afterReply.of(t, seed.Mateo)
	if mateo1.Unread != mateo0.Unread+1 || mateo1.UnreadMessages != mateo0.UnreadMessages+1 {
		t.Errorf("after a staff reply Mateo's unread = %d (%d messages), want %d (%d)", mateo1.Unread, mateo1.UnreadMessages, mateo0.Unread+1, mateo0.UnreadMessages+1)
	}
	if mateo1.LatestActivityAt == nil || (mateo0.LatestActivityAt != nil && !mateo1.LatestActivityAt.After(*mateo0.LatestActivityAt)) {
		t.Errorf("activity did not move: %v then %v", mateo0.LatestActivityAt, mateo1.LatestActivityAt)
	}
	if mateo1.LatestReadAt == nil || (mateo0.LatestReadAt != nil && !mateo1.LatestReadAt.After(*mateo0.LatestReadAt)) {
		t.Errorf("the office's read is not in the summary: %v then %v", mateo0.LatestReadAt, mateo1.LatestReadAt)
	}
	if sofia := afterReply.of(t, seed.Sofia); !reflect.DeepEqual(sofia, before.of(t, seed.Sofia)) {
		t.Errorf("Sofia's line changed with Mateo's news: %+v then %+v", before.of(t, seed.Sofia), sofia)
	}

	// Ana reads it: the count goes back down.
	ana.must(200, "POST", "/portal"+rash+"/read", nil)
	var afterRead portalSummary
	r = ana.must(200, "GET", "/portal/summary", nil)
	r.json(t, &afterRead)
	if got := afterRead.of(t, seed.Mateo).Unread; got != mateo0.Unread {
		t.Errorf("after reading, Mateo's unread = %d, want %d", got, mateo0.Unread)
	}

	// One audit record per child summarised, under this request.
	rid := r.header.Get("apigw-requestid")
	for _, p := range []string{seed.Mateo, seed.Sofia} {
		trail, err := e.st.Store.AuditTrail(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, rec := range trail {
			if rec.RequestID == rid && rec.Action == audit.ReadSummary && rec.ActorID == seed.ParentRivera && rec.Status == 200 {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d summary records of request %s, want 1", p, n, rid)
		}
	}
	// Lily's trail holds no record of Ana's summaries.
	trail, err := e.st.Store.AuditTrail(t.Context(), seed.Lily)
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range trail {
		if rec.Action == audit.ReadSummary && rec.ActorID == seed.ParentRivera {
			t.Errorf("Ana's summary was filed in Lily's trail: %+v", rec)
		}
	}

	// Deny by default: no links, no lines; staff tokens and no token are refused.
	var none portalSummary
	e.as("portal", "parent.new").must(200, "GET", "/portal/summary", nil).json(t, &none)
	if len(none.Patients) != 0 || none.Unread != 0 {
		t.Errorf("a parent with no links gets %+v", none)
	}
	nurse.must(401, "GET", "/portal/summary", nil)
	(&client{e: e}).must(401, "GET", "/portal/summary", nil)
}

// GIVEN a parent, with children or none yet WHEN the portal lists their
// patients THEN it names their practice, its nurse line and office hours
// from the directory, for the header, the empty state and the emergency
// notice.
func TestPracticeCard(t *testing.T) {
	e := start(t)
	for _, user := range []string{"parent.rivera", "parent.new"} {
		var got struct {
			Practice *struct{ Name, Phone, OfficeHours string } `json:"practice"`
		}
		e.as("portal", user).must(200, "GET", "/portal/patients", nil).json(t, &got)
		if got.Practice == nil || got.Practice.Name != "Maple Grove Pediatrics" || got.Practice.Phone != seed.NurseLine ||
			got.Practice.OfficeHours != "Mon–Fri 8 AM–5 PM, Sat 9 AM–noon" {
			t.Errorf("%s: practice = %+v", user, got.Practice)
		}
	}
}
