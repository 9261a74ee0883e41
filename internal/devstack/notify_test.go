package devstack_test

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/devstack"
	"github.com/pedsportal/messaging/internal/localdev/seslocal"
	"github.com/pedsportal/messaging/internal/seed"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// emailsTo waits for the stream poller to have handed every write to the
// notifier, then flushes and returns the e-mails the local SES holds for to.
func (e *env) flushAndRead(t *testing.T, to string) []seslocal.Received {
	t.Helper()
	n := e.st.Notifications
	if _, err := n.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	all, err := n.SES.Emails(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var mine []seslocal.Received
	for _, m := range all {
		for _, addr := range m.To {
			if addr == to {
				mine = append(mine, m)
			}
		}
	}
	return mine
}

// settle gives the stream poller time to deliver the last writes.
func settle() { time.Sleep(1500 * time.Millisecond) }

// A nurse's replies reach the families through the Messages stream, the
// notifier and the flusher, on the local stack with real DynamoDB Local
// streams and the local SES:
//   - one e-mail for the parent who chose e-mail, none for the one who
//     chose none, and none before the window closes;
//   - three replies within the window give one e-mail;
//   - a reply the parent reads in the app before the window closes gives
//     none;
//   - a reply in quiet hours is delivered at 07:00;
//   - no e-mail names the child, the subject or the body.
func TestNotificationsEndToEnd(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	clock := &fakeClock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, ny)}
	e := startWith(t, devstack.Options{Now: clock.Now, Notify: &devstack.NotifyOptions{}})
	nurse, ana := e.as("staff", "nurse.kim"), e.as("portal", "parent.rivera")
	rash := "/staff/patients/" + seed.Mateo + "/conversations/" + seed.ConvRash
	reply := func(body string) {
		t.Helper()
		nurse.must(201, "POST", rash+"/messages", map[string]string{"body": body}, key()...)
	}
	const anaMail, luisMail = "ana.rivera@example.com", "luis.rivera@example.com"

	for _, b := range []string{"Please stop the amoxicillin.", "Give plenty of fluids.", "Call us if the rash spreads."} {
		reply(b)
	}
	settle()
	if got := e.flushAndRead(t, anaMail); len(got) != 0 {
		t.Fatalf("an e-mail went out before the window closed: %d", len(got))
	}
	clock.set(time.Date(2026, 12, 2, 10, 11, 0, 0, ny))
	got := e.flushAndRead(t, anaMail)
	if len(got) != 1 {
		t.Fatalf("three replies in the window gave %d e-mails to the parent who chose e-mail, want 1", len(got))
	}
	if luis := e.flushAndRead(t, luisMail); len(luis) != 0 {
		t.Fatalf("the guardian who chose no notifications got %d e-mails", len(luis))
	}
	m := got[0]
	for _, phi := range []string{"Mateo", "Rivera", "2017-03-14", "amoxicillin", "Rash", "fluids", "Nurse line"} {
		if strings.Contains(m.Subject+m.Text+m.HTML, phi) {
			t.Errorf("the e-mail carries %q:\n%s\n%s", phi, m.Subject, m.Text)
		}
	}
	if !strings.Contains(m.Text, "Maple Grove Pediatrics") || !strings.Contains(m.Text, e.st.SiteURL+"/portal/") {
		t.Errorf("the e-mail names no practice or link to the portal:\n%s", m.Text)
	}
	if m.Header("List-Unsubscribe") == "" || m.Header("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" {
		t.Errorf("no one-click unsubscribe headers: %+v", m.Headers)
	}
	// The send is audited, naming the recipient and channel, never the
	// address.
	trail, err := e.st.Store.AuditTrail(t.Context(), seed.Mateo)
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	for _, r := range trail {
		if r.Action == audit.Notify && r.RecipientID == seed.ParentRivera && r.Channel == "email" && r.Outcome == audit.Success {
			sent++
		}
	}
	if sent != 1 {
		t.Fatalf("%d notification records for the parent, want 1", sent)
	}

	// Read in the app before the window closes: nothing is sent.
	clock.set(time.Date(2026, 12, 2, 12, 0, 0, 0, ny))
	reply("One more thing: keep a photo of the rash.")
	settle()
	ana.must(200, "POST", "/portal/patients/"+seed.Mateo+"/conversations/"+seed.ConvRash+"/read", nil)
	clock.set(time.Date(2026, 12, 2, 12, 11, 0, 0, ny))
	if got := e.flushAndRead(t, anaMail); len(got) != 1 {
		t.Fatalf("a reply read in the app was still notified: %d e-mails in all", len(got))
	}

	// In quiet hours (a reply at 22:30 at the practice) it waits for 07:00.
	clock.set(time.Date(2026, 12, 2, 22, 30, 0, 0, ny))
	reply("Checking in tonight.")
	settle()
	clock.set(time.Date(2026, 12, 2, 22, 41, 0, 0, ny))
	if got := e.flushAndRead(t, anaMail); len(got) != 1 {
		t.Fatalf("an e-mail went out in quiet hours: %d in all", len(got))
	}
	clock.set(time.Date(2026, 12, 3, 7, 0, 30, 0, ny))
	all := e.flushAndRead(t, anaMail)
	if len(all) != 2 {
		t.Fatalf("the deferred e-mail did not go out at 07:00: %d in all", len(all))
	}

	// One click on the e-mail's own unsubscribe link, as a mail app makes
	// it (RFC 8058: a POST, no sign-in): no further e-mail.
	link := strings.Trim(all[1].Header("List-Unsubscribe"), "<>")
	resp, err := http.Post(link, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("one-click unsubscribe answered %d", resp.StatusCode)
	}
	clock.set(time.Date(2026, 12, 3, 9, 0, 0, 0, ny))
	reply("After unsubscribing.")
	settle()
	clock.set(time.Date(2026, 12, 3, 9, 11, 0, 0, ny))
	if got := e.flushAndRead(t, anaMail); len(got) != 2 {
		t.Fatalf("an e-mail went out after unsubscribing: %d in all", len(got))
	}
}

// A burst of ten replies within the window gives one e-mail.
func TestTenRepliesOneNotification(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	clock := &fakeClock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, ny)}
	e := startWith(t, devstack.Options{Now: clock.Now, Notify: &devstack.NotifyOptions{}})
	nurse := e.as("staff", "nurse.kim")
	for i := range 10 {
		clock.set(time.Date(2026, 12, 2, 10, i/2, 0, 0, ny))
		nurse.must(201, "POST", "/staff/patients/"+seed.Sofia+"/conversations/"+seed.ConvEar+"/messages", map[string]string{"body": "Update " + string(rune('A'+i))}, key()...)
	}
	settle()
	clock.set(time.Date(2026, 12, 2, 10, 20, 0, 0, ny))
	if got := e.flushAndRead(t, "ana.rivera@example.com"); len(got) != 1 {
		t.Fatalf("ten replies in the window gave %d e-mails, want 1", len(got))
	}
}

// A bounce SES reports for Ana's address (local SES sends none, so the
// test hands the ses-events function SES's event, events/ses-events.json)
// stops e-mail to it, and the nurse sees on Mateo's page that the family
// can't be reached by e-mail.
func TestBounceMarksTheFamilyUnreachable(t *testing.T) {
	e := startWith(t, devstack.Options{Notify: &devstack.NotifyOptions{}})
	raw, err := os.ReadFile("../../events/ses-events.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SNSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Notifications.Bounces(t.Context(), ev); err != nil {
		t.Fatal(err)
	}
	var view struct {
		Links []struct {
			PortalUserID     string `json:"portalUserId"`
			EmailUnreachable bool   `json:"emailUnreachable"`
		} `json:"links"`
	}
	e.as("staff", "nurse.kim").must(200, "GET", "/staff/patients/"+seed.Mateo, nil).json(t, &view)
	if len(view.Links) != 2 {
		t.Fatalf("links = %+v", view.Links)
	}
	for _, l := range view.Links {
		if (l.PortalUserID == seed.ParentRivera) != l.EmailUnreachable {
			t.Fatalf("link %s unreachable = %v", l.PortalUserID, l.EmailUnreachable)
		}
	}
	var prefs struct {
		EmailUnreachable bool `json:"emailUnreachable"`
	}
	e.as("portal", "parent.rivera").must(200, "GET", "/portal/me/notifications", nil).json(t, &prefs)
	if !prefs.EmailUnreachable {
		t.Fatal("Ana's settings do not show her address as unreachable")
	}
}

// A family's message tells the staff who opted in to its pool, as one
// digest for a burst; a staff reply to a family who chose e-mail and text
// sends both, the text to the local SMS outbox; neither names the child.
func TestDigestAndText(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	clock := &fakeClock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, ny)}
	e := startWith(t, devstack.Options{Now: clock.Now, Notify: &devstack.NotifyOptions{}})
	wei, nurse := e.as("portal", "parent.chen"), e.as("staff", "nurse.kim")
	lily := "/portal/patients/" + seed.Lily + "/conversations"
	for _, s := range []string{"Cough at night", "Question about the inhaler"} {
		wei.must(201, "POST", lily, map[string]string{"poolId": seed.PoolNurse, "subject": s, "body": "Lily coughs at night."}, key()...)
	}
	settle()
	clock.set(time.Date(2026, 12, 2, 10, 11, 0, 0, ny))
	digests := e.flushAndRead(t, "nurse.kim@maplegrove.example")
	if len(digests) != 1 {
		t.Fatalf("two messages to the nurse line gave %d digests to the nurse, want 1", len(digests))
	}
	if others := e.flushAndRead(t, "desk.lee@maplegrove.example"); len(others) != 0 {
		t.Fatalf("staff who did not opt in to the nurse line got %d e-mails", len(others))
	}
	d := digests[0]
	for _, phi := range []string{"Lily", "Chen", "Cough", "inhaler", "Nurse line"} {
		if strings.Contains(d.Subject+d.Text+d.HTML, phi) {
			t.Errorf("the digest carries %q:\n%s\n%s", phi, d.Subject, d.Text)
		}
	}

	clock.set(time.Date(2026, 12, 2, 11, 0, 0, 0, ny))
	nurse.must(201, "POST", "/staff/patients/"+seed.Lily+"/conversations/"+seed.ConvFluClinic+"/messages", map[string]string{"body": "Saturday works."}, key()...)
	settle()
	clock.set(time.Date(2026, 12, 2, 11, 11, 0, 0, ny))
	if got := e.flushAndRead(t, "wei.chen@example.com"); len(got) != 1 {
		t.Fatalf("Wei got %d e-mails, want 1", len(got))
	}
	texts := e.st.Notifications.SMS.Messages()
	if len(texts) != 1 || texts[0].To != "+15555550102" || strings.Contains(texts[0].Body, "Lily") || !strings.Contains(texts[0].Body, "Maple Grove") {
		t.Fatalf("texts = %+v, want one to Wei naming the practice, not the child", texts)
	}
}
