package devstack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/devstack"
	"github.com/pedsportal/messaging/internal/seed"
)

// The nurse line promises a reply within 4 business hours. On a fake
// clock: a parent writes at 10:00 on a Wednesday; at 13:59 nothing is
// overdue; at 14:01 the escalator marks it overdue, the inbox shows it,
// the history says so, and the nurse line's opted-in staff get one alert
// (no PHI) through the flusher, and the family none; a second run does nothing more; the
// nurse's reply clears the mark.
func TestEscalation(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	clock := &fakeClock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, ny)}
	e := startWith(t, devstack.Options{Now: clock.Now, Notify: &devstack.NotifyOptions{}})
	wei, nurse := e.as("portal", "parent.chen"), e.as("staff", "nurse.kim")
	var w written
	wei.must(201, "POST", "/portal/patients/"+seed.Lily+"/conversations",
		map[string]string{"poolId": seed.PoolNurse, "subject": "Wheezing", "body": "Lily wheezes when she runs."}, key()...).json(t, &w)
	cid := w.Conversation.ID
	staffLily := "/staff/patients/" + seed.Lily + "/conversations/" + cid

	overdue := func() *string {
		t.Helper()
		var ch struct {
			Conversation struct {
				OverdueAt *string `json:"overdueAt"`
			}
		}
		nurse.must(200, "GET", staffLily, nil).json(t, &ch)
		return ch.Conversation.OverdueAt
	}
	run := func(at time.Time) int {
		t.Helper()
		clock.set(at)
		res, err := e.st.Escalate(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return res.Overdue
	}
	run(time.Date(2026, 12, 2, 13, 59, 0, 0, ny))
	if overdue() != nil {
		t.Fatal("overdue one minute before the 4-hour target")
	}
	if n := run(time.Date(2026, 12, 2, 14, 1, 0, 0, ny)); n < 1 || overdue() == nil {
		t.Fatalf("at 14:01 the run marked %d, the conversation shows overdue %v", n, overdue())
	}
	if n := run(time.Date(2026, 12, 2, 14, 6, 0, 0, ny)); n != 0 {
		t.Fatalf("a second run marked %d more", n)
	}
	var q queue
	nurse.must(200, "GET", "/staff/inbox?view=needs-reply&pool="+seed.PoolNurse, nil).json(t, &q)
	var inboxOverdue bool
	for _, it := range q.Items {
		inboxOverdue = inboxOverdue || it.ID == cid && strings.Contains(string(nurse.must(200, "GET", staffLily, nil).body), `"overdueAt":"2026-12-02T19:01:00Z"`)
	}
	if !inboxOverdue {
		t.Fatalf("the needs-reply queue does not show %s overdue since 14:01: %+v", cid, q.Items)
	}
	var log struct{ Items []logEntry }
	nurse.must(200, "GET", staffLily+"/log", nil).json(t, &log)
	if len(log.Items) != 2 || log.Items[1].Kind != "overdue" {
		t.Fatalf("history = %+v, want creation and one overdue entry", log.Items)
	}

	// An internal note before the notifications go out: no e-mail or text
	// may carry it.
	const note = "NOTE-call-back-after-school-8812"
	nurse.must(201, "POST", staffLily+"/notes", map[string]string{"text": note})
	settle()
	alerts := func(to string) []string {
		var subjects []string
		for _, m := range e.flushAndRead(t, to) {
			if strings.HasPrefix(m.Subject, "Past the response target") {
				subjects = append(subjects, m.Subject)
				for _, phi := range []string{"Lily", "Chen", "Wheez", "Nurse line"} {
					if strings.Contains(m.Subject+m.Text+m.HTML, phi) {
						t.Errorf("the alert carries %q", phi)
					}
				}
			}
		}
		return subjects
	}
	if got := alerts("nurse.kim@maplegrove.example"); len(got) != 1 {
		t.Fatalf("the nurse line's staff got alerts %v, want one", got)
	}
	if got := alerts("wei.chen@example.com"); len(got) != 0 {
		t.Fatalf("the family got staff alerts %v", got)
	}

	nurse.must(201, "POST", staffLily+"/messages", map[string]string{"body": "Please bring her in today."}, key()...)
	if overdue() != nil {
		t.Fatal("the reply did not clear the overdue mark")
	}
	settle()
	clock.set(time.Date(2026, 12, 2, 14, 20, 0, 0, ny))
	if _, err := e.st.Notifications.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	all, err := e.st.Notifications.SES.Emails(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	texts := e.st.Notifications.SMS.Messages()
	if len(all) == 0 || len(texts) == 0 {
		t.Fatalf("%d e-mails and %d texts went out; the check below needs some", len(all), len(texts))
	}
	for _, m := range all {
		if strings.Contains(m.Subject+m.Text+m.HTML, note) {
			t.Errorf("an e-mail to %v carries the internal note", m.To)
		}
	}
	for _, m := range texts {
		if strings.Contains(m.Body, note) {
			t.Errorf("a text to %s carries the internal note", m.To)
		}
	}
}
