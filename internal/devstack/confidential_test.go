package devstack_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/devstack"
	"github.com/pedsportal/messaging/internal/seed"
)

const (
	portalNoah = "/portal/patients/" + seed.Noah
	staffNoah  = "/staff/patients/" + seed.Noah
	// noSuchConv is a well-formed conversation ID that names nothing.
	noSuchConv = "01KSEED0000000000000000099"
)

type audienceConv struct {
	ID       string `json:"id"`
	Audience string `json:"audience"`
	Unread   int    `json:"unread"`
}

func (c *client) listIDs(t *testing.T, path string) []string {
	t.Helper()
	var l struct {
		Items []audienceConv `json:"items"`
	}
	c.must(200, "GET", path, nil).json(t, &l)
	var ids []string
	for _, it := range l.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

// The authorization matrix of adolescent confidentiality, on the local
// stack with real tokens: for each role (Noah's mother, Noah's own
// account, a staff member) and each audience (family, confidential), every
// operation on the conversation. A guardian gets exactly what a
// nonexistent conversation gets: the same status and the same problem
// document apart from its request ID, and no trace in lists. Every cell
// counts toward the closing note's figure.
func TestConfidentialMatrix(t *testing.T) {
	e := start(t)
	mom, noah, dr := e.as("portal", "parent.okafor"), e.as("portal", "teen.noah"), e.as("staff", "dr.patel")

	// A confidential conversation long enough to page, started by Noah.
	var w struct {
		Conversation struct {
			ID       string `json:"id"`
			Audience string `json:"audience"`
		} `json:"conversation"`
		Message message `json:"message"`
	}
	noah.must(201, "POST", portalNoah+"/conversations", map[string]string{
		"poolId": seed.PoolNurse, "audience": "confidential", "subject": "Private question", "body": "Is it normal to feel dizzy when I stand up?",
	}, key()...).json(t, &w)
	long := w.Conversation.ID
	if w.Conversation.Audience != "confidential" || w.Message.Author.Side != "portal" {
		t.Fatalf("teen's write = %+v", w)
	}
	e.as("staff", "nurse.kim").must(201, "POST", staffNoah+"/conversations/"+long+"/messages", map[string]string{"body": "Drink water and stand up slowly; we can talk at your visit."}, key()...)

	cells, passed := 0, 0
	cell := func(name string, ok bool, detail ...any) {
		t.Helper()
		cells++
		if ok {
			passed++
			return
		}
		t.Errorf("%s: %s", name, fmt.Sprint(detail...))
	}
	sameAsMissing := func(name string, c *client, method, path, missingPath string, body any) {
		t.Helper()
		got := c.do(method, path, body, key()...)
		missing := c.do(method, missingPath, body, key()...)
		cell(name, got.status == 404 && missing.status == 404 && bytes.Equal(withoutInstance(got.body), withoutInstance(missing.body)),
			got.status, " ", string(got.body), " vs ", missing.status, " ", string(missing.body))
	}

	type conv struct {
		name, id, audience string
	}
	convs := []conv{{"family", seed.ConvSportsForm, "family"}, {"confidential", seed.ConvNoahPrivate, "confidential"}, {"confidential, paged", long, "confidential"}}
	for _, cv := range convs {
		guardianSees := cv.audience == "family"
		// Lists: the guardian's list holds family conversations only.
		inList := slices.Contains(mom.listIDs(t, portalNoah+"/conversations"), cv.id)
		cell("guardian list "+cv.name, inList == guardianSees, "listed=", inList)
		cell("teen list "+cv.name, slices.Contains(noah.listIDs(t, portalNoah+"/conversations"), cv.id), "missing from the teen's list")
		cell("staff list "+cv.name, slices.Contains(dr.listIDs(t, staffNoah+"/conversations"), cv.id), "missing from the staff chart list")

		read := portalNoah + "/conversations/" + cv.id
		missing := portalNoah + "/conversations/" + noSuchConv
		if guardianSees {
			cell("guardian read "+cv.name, mom.do("GET", read, nil).status == 200)
			cell("guardian reply "+cv.name, mom.do("POST", read+"/messages", map[string]string{"body": "Thanks!"}, key()...).status == 201)
			cell("guardian mark read "+cv.name, mom.do("POST", read+"/read", nil).status == 200)
		} else {
			sameAsMissing("guardian read "+cv.name, mom, "GET", read, missing, nil)
			sameAsMissing("guardian page "+cv.name, mom, "GET", read+"?limit=1", missing+"?limit=1", nil)
			sameAsMissing("guardian reply "+cv.name, mom, "POST", read+"/messages", missing+"/messages", map[string]string{"body": "What is this?"})
			sameAsMissing("guardian mark read "+cv.name, mom, "POST", read+"/read", missing+"/read", nil)
		}
		// The teen reads, pages, replies to and marks read both kinds.
		var ch struct {
			Conversation *audienceConv `json:"conversation"`
			Messages     []message     `json:"messages"`
			NextCursor   string        `json:"nextCursor"`
		}
		r := noah.do("GET", read+"?limit=1", nil)
		r.json(t, &ch)
		cell("teen read "+cv.name, r.status == 200 && ch.Conversation != nil && ch.Conversation.Audience == cv.audience, r.status, string(r.body))
		if ch.NextCursor != "" {
			p := noah.do("GET", read+"?limit=1&cursor="+ch.NextCursor, nil)
			cell("teen page "+cv.name, p.status == 200, p.status, string(p.body))
			// The teen's cursor is bound to the teen: the guardian cannot
			// use it to reach the confidential partition.
			if !guardianSees {
				g := mom.do("GET", read+"?limit=1&cursor="+ch.NextCursor, nil)
				cell("guardian with the teen's cursor "+cv.name, g.status == 404 || g.status == 422, g.status)
			}
		}
		cell("teen reply "+cv.name, noah.do("POST", read+"/messages", map[string]string{"body": "OK, thank you."}, key()...).status == 201)
		cell("teen mark read "+cv.name, noah.do("POST", read+"/read", nil).status == 200)

		staffRead := staffNoah + "/conversations/" + cv.id
		var sc struct {
			Conversation *audienceConv `json:"conversation"`
		}
		s := dr.do("GET", staffRead, nil)
		s.json(t, &sc)
		cell("staff read "+cv.name, s.status == 200 && sc.Conversation != nil && sc.Conversation.Audience == cv.audience, s.status, string(s.body))
		cell("staff mark read "+cv.name, dr.do("POST", staffRead+"/read", nil).status == 200)
	}

	// Downloads: the guardian's copy (HTML and FHIR) holds no confidential
	// conversation; the teen's holds them, with the teen as the Patient
	// who wrote them.
	for _, format := range []string{"html", "fhir"} {
		m := string(mom.must(200, "GET", portalNoah+"/export?format="+format, nil).body)
		cell("guardian download "+format, strings.Contains(m, "Sports physical") && !strings.Contains(m, "anxious") && !strings.Contains(m, "Private question") && !strings.Contains(m, "dizzy"),
			"the guardian's download holds a confidential conversation or misses the family's")
		n := string(noah.must(200, "GET", portalNoah+"/export?format="+format, nil).body)
		cell("teen download "+format, strings.Contains(n, "anxious") && strings.Contains(n, "dizzy") && strings.Contains(n, "Sports physical"), "the teen's download misses a conversation")
		if format == "fhir" {
			cell("teen is the Patient sender", strings.Contains(n, `"sender":{"type":"Patient"`), "no Patient sender in the teen's bundle")
		}
	}

	// Counts: the polled summary's unread counts follow the audience too. A
	// reply in a confidential conversation moves the teen's count and not
	// the guardian's.
	unread := func(c *client) int {
		var s struct {
			Patients []struct {
				PatientID string `json:"patientId"`
				Unread    int    `json:"unread"`
			} `json:"patients"`
		}
		c.must(200, "GET", "/portal/summary", nil).json(t, &s)
		for _, p := range s.Patients {
			if p.PatientID == seed.Noah {
				return p.Unread
			}
		}
		t.Fatalf("no summary line for Noah: %+v", s)
		return 0
	}
	momBefore, teenBefore := unread(mom), unread(noah)
	dr.must(201, "POST", staffNoah+"/conversations/"+seed.ConvNoahPrivate+"/messages", map[string]string{"body": "We can talk at your visit."}, key()...)
	momAfter, teenAfter := unread(mom), unread(noah)
	cell("guardian summary count", momAfter == momBefore, "the guardian's unread count moved from ", momBefore, " to ", momAfter)
	cell("teen summary count", teenAfter == teenBefore+1, "the teen's unread count moved from ", teenBefore, " to ", teenAfter)

	// Who wrote it: the teen's messages say "self", the mother's "parent".
	var ch chain
	dr.must(200, "GET", staffNoah+"/conversations/"+seed.ConvSportsForm, nil).json(t, &ch)
	var rels []string
	for _, m := range ch.Messages {
		rels = append(rels, m.Author.Relationship)
	}
	cell("authors recorded", slices.Contains(rels, "parent") && slices.Contains(rels, "self"), rels)

	// Starting: only the patient's own account may choose confidential;
	// staff may write confidentially to the teen's account only.
	g := mom.do("POST", portalNoah+"/conversations", map[string]string{"poolId": seed.PoolNurse, "audience": "confidential", "subject": "s", "body": "b"}, key()...)
	cell("guardian cannot start confidential", g.status == 422 && strings.Contains(string(g.body), "audience"), g.status, string(g.body))
	b := noah.do("POST", portalNoah+"/conversations", map[string]string{"poolId": seed.PoolBilling, "audience": "confidential", "subject": "s", "body": "b"}, key()...)
	cell("no confidential billing", b.status == 422, b.status, string(b.body))
	s := dr.do("POST", staffNoah+"/conversations", map[string]string{"portalUserId": seed.ParentOkafor, "poolId": seed.PoolDrPatel, "audience": "confidential", "subject": "s", "body": "b"}, key()...)
	cell("staff confidential to a guardian refused", s.status == 422 && strings.Contains(string(s.body), "portalUserId"), s.status, string(s.body))
	var sw written
	dr.must(201, "POST", staffNoah+"/conversations", map[string]string{"portalUserId": seed.TeenNoah, "poolId": seed.PoolDrPatel, "audience": "confidential", "subject": "Your results", "body": "Your test came back normal."}, key()...).json(t, &sw)
	cell("staff confidential: teen sees", slices.Contains(noah.listIDs(t, portalNoah+"/conversations"), sw.Conversation.ID))
	cell("staff confidential: guardian does not", !slices.Contains(mom.listIDs(t, portalNoah+"/conversations"), sw.Conversation.ID))

	// The staff inbox shows the audience.
	var inbox struct {
		Items []audienceConv `json:"items"`
	}
	dr.must(200, "GET", "/staff/inbox?view=all", nil).json(t, &inbox)
	found := false
	for _, it := range inbox.Items {
		if it.ID == seed.ConvNoahPrivate {
			found = it.Audience == "confidential"
		}
	}
	cell("inbox audience", found, "ConvNoahPrivate not listed as confidential in the inbox")

	t.Logf("confidentiality matrix: %d cells, %d passed", cells, passed)
	if cells != passed {
		t.Fatalf("%d of %d cells failed", cells-passed, cells)
	}
}

// Pages of a teen's list merge the family's and the confidential
// partitions newest first, without a repeat or a gap.
func TestTeenListPagesAcrossAudiences(t *testing.T) {
	e := start(t)
	noah, mom := e.as("portal", "teen.noah"), e.as("portal", "parent.okafor")
	for i := range 5 {
		noah.must(201, "POST", portalNoah+"/conversations", map[string]string{"poolId": seed.PoolNurse, "audience": "confidential", "subject": fmt.Sprint("c", i), "body": "b"}, key()...)
		mom.must(201, "POST", portalNoah+"/conversations", map[string]string{"poolId": seed.PoolNurse, "subject": fmt.Sprint("f", i), "body": "b"}, key()...)
	}
	all := noah.listIDs(t, portalNoah+"/conversations?limit=100")
	var paged []string
	cursor := ""
	for range 20 {
		var l struct {
			Items      []audienceConv `json:"items"`
			NextCursor string         `json:"nextCursor"`
		}
		path := portalNoah + "/conversations?limit=3"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		noah.must(200, "GET", path, nil).json(t, &l)
		for _, it := range l.Items {
			paged = append(paged, it.ID)
		}
		if cursor = l.NextCursor; cursor == "" {
			break
		}
	}
	if len(all) != 12 || !slices.Equal(paged, all) {
		t.Fatalf("pages of 3 = %v\nwhole list  = %v (want the 2 demo conversations and 10 new ones)", paged, all)
	}
}

// Access follows the birthday on the practice's calendar: the day before
// Noah turns 12 he cannot start a conversation only his care team sees;
// on the day he can, and his mother never sees it.
func TestConfidentialFromTheTwelfthBirthday(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	// Noah was born on 2012-04-18; these are weekdays in office hours.
	clock := &fakeClock{t: time.Date(2024, 4, 17, 23, 30, 0, 0, ny)}
	e := startWith(t, devstack.Options{Now: clock.Now})
	noah, mom := e.as("portal", "teen.noah"), e.as("portal", "parent.okafor")
	body := map[string]string{"poolId": seed.PoolDrPatel, "audience": "confidential", "subject": "Private", "body": "Can we talk?"}

	choice := func() []string {
		var pats struct {
			Items []struct {
				ID                string   `json:"id"`
				ConfidentialPools []string `json:"confidentialPools"`
			} `json:"items"`
		}
		noah.must(200, "GET", "/portal/patients", nil).json(t, &pats)
		if len(pats.Items) != 1 || pats.Items[0].ID != seed.Noah {
			t.Fatalf("Noah's Current Patient list = %+v", pats.Items)
		}
		return pats.Items[0].ConfidentialPools
	}
	if got := choice(); len(got) != 0 {
		t.Errorf("the day before: Write Message offers confidential pools %v", got)
	}
	if r := noah.do("POST", portalNoah+"/conversations", body, key()...); r.status != 422 || !strings.Contains(string(r.body), "from age 12") {
		t.Fatalf("the day before the 12th birthday: %d %s, want 422 naming the age", r.status, r.body)
	}

	clock.set(time.Date(2024, 4, 18, 0, 30, 0, 0, ny)) // 04:30 UTC: already the 18th in New York
	if got := choice(); !slices.Equal(got, []string{seed.PoolDrPatel, seed.PoolNurse}) {
		t.Errorf("on the birthday: confidential pools %v", got)
	}
	var w written
	noah.must(201, "POST", portalNoah+"/conversations", body, key()...).json(t, &w)
	if slices.Contains(mom.listIDs(t, portalNoah+"/conversations"), w.Conversation.ID) {
		t.Fatal("the guardian lists the teen's confidential conversation")
	}
	mom.must(404, "GET", portalNoah+"/conversations/"+w.Conversation.ID, nil)
}

// Staff move a family conversation to the care team only, with a reason:
// from then on the guardian gets what a nonexistent conversation gets, the
// teen and staff keep the whole chain, unchanged, and the history says who
// moved it and why. Only a clinician shares it with the family again.
func TestMoveToTheCareTeamOnly(t *testing.T) {
	e := start(t)
	mom, noah := e.as("portal", "parent.okafor"), e.as("portal", "teen.noah")
	dr, desk := e.as("staff", "dr.patel"), e.as("staff", "desk.lee")
	sports := "/conversations/" + seed.ConvSportsForm
	var before chain
	dr.must(200, "GET", staffNoah+sports, nil).json(t, &before)

	// Refusals first: no reason, a child under the age, a staff token's
	// version that is out of date.
	dr.must(422, "POST", staffNoah+sports+"/audience", map[string]string{"audience": "confidential"})
	dr.must(422, "POST", staffMateo+"/conversations/"+seed.ConvRash+"/audience", map[string]string{"audience": "confidential", "reason": "Privacy"})
	dr.must(409, "POST", staffNoah+sports+"/audience", map[string]any{"audience": "confidential", "reason": "Privacy", "version": 99})
	mom.must(200, "GET", portalNoah+sports, nil)

	var moved struct {
		Conversation audienceConv `json:"conversation"`
	}
	reason := "Noah asked that this stay between him and the office."
	desk.must(200, "POST", staffNoah+sports+"/audience", map[string]string{"audience": "confidential", "reason": reason}).json(t, &moved)
	if moved.Conversation.Audience != "confidential" {
		t.Fatalf("moved = %+v", moved)
	}
	a := mom.do("GET", portalNoah+sports, nil)
	b := mom.do("GET", portalNoah+"/conversations/"+noSuchConv, nil)
	if a.status != 404 || !bytes.Equal(withoutInstance(a.body), withoutInstance(b.body)) {
		t.Fatalf("guardian after the move: %d %s, want the nonexistent conversation's 404 %s", a.status, a.body, b.body)
	}
	if slices.Contains(mom.listIDs(t, portalNoah+"/conversations"), seed.ConvSportsForm) {
		t.Fatal("the guardian still lists the moved conversation")
	}
	var after chain
	noah.must(200, "GET", portalNoah+sports, nil).json(t, &after)
	dr.must(200, "GET", staffNoah+sports, nil).json(t, &after)
	if len(after.Messages) != len(before.Messages) || len(before.Messages) == 0 {
		t.Fatalf("chain after the move has %d messages, before %d", len(after.Messages), len(before.Messages))
	}
	for i := range before.Messages {
		if after.Messages[i] != before.Messages[i] {
			t.Errorf("message %d changed in the move:\n %+v\n %+v", i, before.Messages[i], after.Messages[i])
		}
	}
	// The history has the move and its reason.
	var log struct {
		Items []struct{ Kind, Text string } `json:"items"`
	}
	dr.must(200, "GET", staffNoah+sports+"/log", nil).json(t, &log)
	if n := len(log.Items); n == 0 || log.Items[n-1].Kind != "made_confidential" || log.Items[n-1].Text != reason {
		t.Fatalf("log = %+v", log.Items)
	}

	// Back to the family: a clinician's decision, with a reason.
	desk.must(403, "POST", staffNoah+sports+"/audience", map[string]string{"audience": "family", "reason": "Mom should see this"})
	dr.must(200, "POST", staffNoah+sports+"/audience", map[string]string{"audience": "family", "reason": "Noah agreed to share the appointment times."})
	mom.must(200, "GET", portalNoah+sports, nil)
}

// A patient's own account opens their confidential conversations, so an
// admin cannot make a guardian's link the patient's own, give a patient a
// second own account, or make one account two patients' own; and a
// conversation of a patient with no own account cannot become
// confidential (nobody in the family could read it).
func TestOwnAccountRules(t *testing.T) {
	e := start(t)
	admin, dr := e.as("staff", "admin.garcia"), e.as("staff", "dr.patel")
	self := map[string]string{"relationship": "self"}
	for _, c := range []struct{ what, path, want string }{
		{"a guardian's link made the patient's own", staffNoah + "/links/" + seed.ParentOkafor, "must be a login of their own"},
		{"a second own account", staffNoah + "/links/" + seed.ParentNoLinks, "already linked as Noah Okafor's own account"},
		{"one account, two patients' own", staffMateo + "/links/" + seed.TeenNoah, "already another patient's own account"},
	} {
		r := admin.do("PUT", c.path, self)
		if r.status != 409 || !strings.Contains(string(r.body), c.want) {
			t.Errorf("%s: %d %s, want 409 saying %q", c.what, r.status, r.body, c.want)
		}
	}
	var v struct {
		Links []struct{ PortalUserID, Relationship string } `json:"links"`
	}
	admin.must(200, "GET", staffNoah, nil).json(t, &v)
	if len(v.Links) != 2 {
		t.Fatalf("Noah's links changed: %+v", v.Links)
	}
	// Lily is 7 and has no account of her own: refused for both reasons,
	// the age first.
	r := dr.do("POST", "/staff/patients/"+seed.Lily+"/conversations/"+seed.ConvBilling+"/audience", map[string]string{"audience": "confidential", "reason": "Privacy"})
	if r.status != 422 {
		t.Fatalf("move of a 7-year-old's conversation: %d %s", r.status, r.body)
	}
}

// Through the Messages stream, the notifier and the flusher with the
// local SES: Dr. Patel's reply in Noah's confidential conversation e-mails
// Noah and nobody else; her reply in the family's conversation e-mails
// both. The matrix's "notified" cells, on the real path.
func TestConfidentialReplyNotifiesTheTeenOnly(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	clock := &fakeClock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, ny)}
	e := startWith(t, devstack.Options{Now: clock.Now, Notify: &devstack.NotifyOptions{}})
	dr := e.as("staff", "dr.patel")
	const momMail, noahMail = "grace.okafor@example.com", "noah.okafor@example.com"
	dr.must(201, "POST", staffNoah+"/conversations/"+seed.ConvNoahPrivate+"/messages", map[string]string{"body": "Yes, we can talk about it privately at your visit."}, key()...)
	settle()
	clock.set(time.Date(2026, 12, 2, 10, 11, 0, 0, ny))
	if got := e.flushAndRead(t, momMail); len(got) != 0 {
		t.Fatalf("the guardian got %d e-mails about a confidential reply", len(got))
	}
	if got := e.flushAndRead(t, noahMail); len(got) != 1 {
		t.Fatalf("the teen got %d e-mails about his care team's reply, want 1", len(got))
	}
	dr.must(201, "POST", staffNoah+"/conversations/"+seed.ConvSportsForm+"/messages", map[string]string{"body": "Tuesday at 3:30 is booked."}, key()...)
	settle()
	clock.set(time.Date(2026, 12, 2, 10, 22, 0, 0, ny))
	if got := e.flushAndRead(t, momMail); len(got) != 1 {
		t.Fatalf("the guardian got %d e-mails about the family's conversation, want 1", len(got))
	}
	if got := e.flushAndRead(t, noahMail); len(got) != 2 {
		t.Fatalf("the teen has %d e-mails in all, want 2", len(got))
	}
}
