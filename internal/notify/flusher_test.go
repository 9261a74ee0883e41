package notify_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/notify"
	"github.com/pedsportal/messaging/internal/seed"
)

// reply streams a nurse's reply on Mateo's rash conversation at at.
func (e *env) reply(msgID string, at time.Time) {
	e.t.Helper()
	if resp := e.stream(msgRecord(seed.Mateo, seed.ConvRash, msgID, domain.SideStaff, at)); len(resp.BatchItemFailures) != 0 {
		e.t.Fatalf("failures %+v", resp.BatchItemFailures)
	}
}

func TestFamilyEmailAndAudit(t *testing.T) {
	t0 := afternoon
	e := newEnv(t, t0)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	e.reply("m1", t0)
	e.clock.Set(t0.Add(notify.DefaultWindow))
	if res := e.flush(); res != (notify.Result{Sent: 1}) {
		t.Fatalf("flush = %+v", res)
	}
	mails := e.mail.emails()
	if len(mails) != 1 {
		t.Fatalf("e-mails = %d", len(mails))
	}
	m := mails[0]
	if m.To != rivera.Email || m.Subject != "New message from Maple Grove Pediatrics" {
		t.Errorf("to %q subject %q", m.To, m.Subject)
	}
	if m.Unsubscribe != "https://api.maplegrove.example/unsubscribe?u="+seed.ParentRivera+"&sig=test" {
		t.Errorf("unsubscribe %q", m.Unsubscribe)
	}
	if !reflect.DeepEqual(m.Tags, map[string]string{"recipient": seed.ParentRivera, "kind": "portal"}) {
		t.Errorf("tags %v", m.Tags)
	}
	link := "https://care.maplegrove.example/portal/#/c/" + seed.Mateo + "/" + seed.ConvRash
	settings := "https://care.maplegrove.example/portal/#/notifications"
	for _, part := range []string{m.Text, m.HTML} {
		if !strings.Contains(part, link) || !strings.Contains(part, settings) {
			t.Errorf("body lacks the link or the settings page:\n%s", part)
		}
	}
	if len(e.text.texts()) != 0 {
		t.Errorf("texted a parent who chose e-mail only")
	}
	if len(e.repo.audit) != 1 {
		t.Fatalf("audit = %+v", e.repo.audit)
	}
	rec := e.repo.audit[0]
	if _, err := ulid.ParseStrict(rec.RequestID); err != nil {
		t.Errorf("request ID %q is no ULID: %v", rec.RequestID, err)
	}
	rec.RequestID = ""
	want := audit.Record{
		PatientID: seed.Mateo, At: t0.Add(notify.DefaultWindow), ActorID: "notifier", ActorSide: "system", ActorRole: "notifier",
		Action: audit.Notify, ConversationID: seed.ConvRash, Outcome: audit.Success, Status: 200,
		RecipientID: seed.ParentRivera, Channel: "email",
	}
	if !reflect.DeepEqual(rec, want) {
		t.Errorf("audit =\n %+v\nwant\n %+v", rec, want)
	}
}

func TestReadInTheWindowSendsNothing(t *testing.T) {
	t0 := afternoon
	e := newEnv(t, t0)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	e.reply("m1", t0)
	e.reply("m2", t0.Add(3*time.Minute))
	e.markPortalRead(seed.Mateo, seed.ConvRash, t0.Add(4*time.Minute))
	e.clock.Set(t0.Add(notify.DefaultWindow))
	if res := e.flush(); res != (notify.Result{Skipped: 1}) {
		t.Fatalf("flush = %+v", res)
	}
	if len(e.mail.emails()) != 0 || len(e.repo.audit) != 0 || len(e.repo.pendingItems()) != 0 {
		t.Fatalf("sent %d, audit %d, pending %d", len(e.mail.emails()), len(e.repo.audit), len(e.repo.pendingItems()))
	}
}

func TestReadBeforeTheLastReplyStillNotifies(t *testing.T) {
	t0 := afternoon
	e := newEnv(t, t0)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	e.reply("m1", t0)
	e.markPortalRead(seed.Mateo, seed.ConvRash, t0.Add(time.Minute))
	e.reply("m2", t0.Add(3*time.Minute))
	e.clock.Set(t0.Add(notify.DefaultWindow))
	if res := e.flush(); res != (notify.Result{Sent: 1}) {
		t.Fatalf("flush = %+v", res)
	}
}

func TestQuietHoursDeferToSevenInThePracticeZone(t *testing.T) {
	for _, tc := range []struct {
		name        string
		reply, want time.Time
	}{
		{"ordinary night", time.Date(2026, 5, 12, 22, 30, 0, 0, ny), time.Date(2026, 5, 13, 7, 0, 0, 0, ny)},
		// DST ends at 02:00 on 2026-11-01: the night has 25 hours, and 07:00
		// EST is 12:00 UTC (it would be 11:00 UTC at the evening's offset).
		{"autumn DST change", time.Date(2026, 10, 31, 22, 30, 0, 0, ny), time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)},
		// DST starts at 02:00 on 2026-03-08: a 23-hour night; 07:00 EDT is 11:00 UTC.
		{"spring DST change", time.Date(2026, 3, 7, 22, 30, 0, 0, ny), time.Date(2026, 3, 8, 11, 0, 0, 0, time.UTC)},
		{"small hours", time.Date(2026, 5, 13, 2, 0, 0, 0, ny), time.Date(2026, 5, 13, 7, 0, 0, 0, ny)},
		{"just before", time.Date(2026, 5, 12, 20, 45, 0, 0, ny), time.Date(2026, 5, 13, 7, 0, 0, 0, ny)}, // due 20:55, flushed at 21:05
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.reply)
			e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
			e.reply("m1", tc.reply)
			flushAt := tc.reply.Add(notify.DefaultWindow)
			if tc.name == "just before" {
				flushAt = tc.reply.Add(20 * time.Minute)
			}
			e.clock.Set(flushAt)
			if res := e.flush(); res != (notify.Result{Deferred: 1}) {
				t.Fatalf("flush = %+v", res)
			}
			items := e.repo.pendingItems()
			if len(items) != 1 || !items[0].DueAt.Equal(tc.want) {
				t.Fatalf("pending = %+v, want due %v", items, tc.want)
			}
			if len(e.mail.emails()) != 0 {
				t.Fatal("sent in quiet hours")
			}
			// Deferred, not dropped: a minute before the end still nothing,
			// at the end it goes.
			e.clock.Set(tc.want.Add(-time.Minute))
			if res := e.flush(); res != (notify.Result{}) {
				t.Fatalf("flush before 07:00 = %+v", res)
			}
			e.clock.Set(tc.want)
			if res := e.flush(); res != (notify.Result{Sent: 1}) {
				t.Fatalf("flush at 07:00 = %+v", res)
			}
			if n := len(e.mail.emails()); n != 1 {
				t.Fatalf("e-mails = %d", n)
			}
		})
	}
}

func TestQuietHoursUseThePracticeZone(t *testing.T) {
	// 22:30 in New York is 19:30 in Los Angeles: not quiet there.
	at := time.Date(2026, 5, 12, 22, 30, 0, 0, ny)
	e := newEnv(t, at)
	e.repo.practices[seed.PracticeID].TimeZone = "America/Los_Angeles"
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	e.reply("m1", at)
	e.clock.Set(at.Add(notify.DefaultWindow))
	if res := e.flush(); res != (notify.Result{Sent: 1}) {
		t.Fatalf("flush = %+v", res)
	}
	// An empty zone is New York's.
	e.repo.practices[seed.PracticeID].TimeZone = ""
	e.reply("m2", at.Add(time.Hour))
	e.clock.Set(at.Add(time.Hour + notify.DefaultWindow))
	if res := e.flush(); res != (notify.Result{Deferred: 1}) {
		t.Fatalf("flush = %+v", res)
	}
}

func TestQuietUntil(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	for _, tc := range []struct {
		at         time.Time
		start, end time.Duration
		quiet      bool
		until      time.Time
	}{
		{time.Date(2026, 5, 12, 20, 59, 59, 0, ny), 21 * time.Hour, 7 * time.Hour, false, time.Time{}},
		{time.Date(2026, 5, 12, 21, 0, 0, 0, ny), 21 * time.Hour, 7 * time.Hour, true, time.Date(2026, 5, 13, 7, 0, 0, 0, ny)},
		{time.Date(2026, 5, 13, 6, 59, 0, 0, ny), 21 * time.Hour, 7 * time.Hour, true, time.Date(2026, 5, 13, 7, 0, 0, 0, ny)},
		{time.Date(2026, 5, 13, 7, 0, 0, 0, ny), 21 * time.Hour, 7 * time.Hour, false, time.Time{}},
		{time.Date(2026, 12, 31, 23, 0, 0, 0, ny), 21 * time.Hour, 7 * time.Hour, true, time.Date(2027, 1, 1, 7, 0, 0, 0, ny)},
		{time.Date(2026, 11, 1, 1, 30, 0, 0, ny), 21 * time.Hour, 7 * time.Hour, true, time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)},
		{time.Date(2026, 5, 13, 2, 0, 0, 0, la), 22*time.Hour + 30*time.Minute, 6*time.Hour + 15*time.Minute, true, time.Date(2026, 5, 13, 6, 15, 0, 0, la)},
		{time.Date(2026, 5, 13, 3, 0, 0, 0, ny), time.Hour, 5 * time.Hour, true, time.Date(2026, 5, 13, 5, 0, 0, 0, ny)},
		{time.Date(2026, 5, 13, 23, 0, 0, 0, ny), time.Hour, 5 * time.Hour, false, time.Time{}},
		{time.Date(2026, 5, 13, 23, 0, 0, 0, ny), 8 * time.Hour, 8 * time.Hour, false, time.Time{}}, // equal: off
	} {
		until, quiet := notify.QuietUntil(tc.at, tc.at.Location(), tc.start, tc.end)
		if quiet != tc.quiet || !until.Equal(tc.until) {
			t.Errorf("QuietUntil(%v, %v–%v) = %v, %v; want %v, %v", tc.at, tc.start, tc.end, until, quiet, tc.until, tc.quiet)
		}
	}
}

func TestOneChannelFailingIsAuditedAsFailed(t *testing.T) {
	t0 := afternoon
	e := newEnv(t, t0)
	e.conv(seed.ConvFluClinic, seed.Lily, seed.PoolNurse)
	e.text.SendFn = func(notify.Text) error { return errThrottled }
	e.stream(msgRecord(seed.Lily, seed.ConvFluClinic, "m1", domain.SideStaff, t0))
	e.clock.Set(t0.Add(notify.DefaultWindow))
	if res := e.flush(); res != (notify.Result{Sent: 1}) {
		t.Fatalf("flush = %+v", res)
	}
	if len(e.mail.emails()) != 1 {
		t.Fatalf("the e-mail did not go out despite the text failing")
	}
	got := map[string]audit.Record{}
	for _, r := range e.repo.audit {
		got[r.Channel] = r
	}
	if len(e.repo.audit) != 2 || got["email"].Outcome != audit.Success || got["email"].Status != 200 ||
		got["sms"].Outcome != audit.Failed || got["sms"].Status != 503 || got["sms"].RecipientID != seed.ParentChen {
		t.Fatalf("audit = %+v", e.repo.audit)
	}
	if got["email"].RequestID != got["sms"].RequestID {
		t.Errorf("one notification, two request IDs")
	}
	if !strings.Contains(e.logs.String(), "TooManyRequestsException") {
		t.Errorf("logs do not name the error code:\n%s", e.logs)
	}
}

func TestAllChannelsFailingKeepsThePending(t *testing.T) {
	t0 := afternoon
	e := newEnv(t, t0)
	e.conv(seed.ConvFluClinic, seed.Lily, seed.PoolNurse)
	e.mail.SendFn = func(notify.Email) error { return errThrottled }
	e.text.SendFn = func(notify.Text) error { return errors.New("sms: unavailable") }
	e.stream(msgRecord(seed.Lily, seed.ConvFluClinic, "m1", domain.SideStaff, t0))
	due := t0.Add(notify.DefaultWindow)
	e.clock.Set(due)
	if res := e.flush(); res != (notify.Result{Failed: 1}) {
		t.Fatalf("flush = %+v", res)
	}
	items := e.repo.pendingItems()
	if len(items) != 1 || len(e.repo.audit) != 0 {
		t.Fatalf("pending %+v, audit %+v: the item must stay and nothing be finished", items, e.repo.audit)
	}
	if !items[0].DueAt.Equal(due.Add(notify.DefaultRetryDelay)) {
		t.Errorf("retry due %v, want %v", items[0].DueAt, due.Add(notify.DefaultRetryDelay))
	}
	// The next flush retries, and this time it works.
	e.mail.SendFn, e.text.SendFn = nil, nil
	e.clock.Set(due.Add(time.Minute))
	if res := e.flush(); res != (notify.Result{Sent: 1}) {
		t.Fatalf("retry flush = %+v", res)
	}
	if len(e.mail.emails()) != 1 || len(e.text.texts()) != 1 || len(e.repo.audit) != 2 {
		t.Fatalf("after retry: %d e-mails, %d texts, audit %+v", len(e.mail.emails()), len(e.text.texts()), e.repo.audit)
	}
}

func TestAllChannelsFailingGivesUpAfterADay(t *testing.T) {
	t0 := afternoon
	e := newEnv(t, t0)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	e.mail.SendFn = func(notify.Email) error { return errThrottled }
	e.reply("m1", t0)
	e.clock.Set(t0.Add(notify.DefaultGiveUpAfter))
	if res := e.flush(); res != (notify.Result{Failed: 1}) {
		t.Fatalf("flush = %+v", res)
	}
	if len(e.repo.pendingItems()) != 0 || len(e.repo.audit) != 1 || e.repo.audit[0].Outcome != audit.Failed {
		t.Fatalf("pending %+v audit %+v", e.repo.pendingItems(), e.repo.audit)
	}
}

func TestRecipientChangesSinceThePendingTakeEffect(t *testing.T) {
	t0 := afternoon
	e := newEnv(t, t0)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	e.conv(seed.ConvEar, seed.Sofia, seed.PoolDrPatel)
	e.conv(seed.ConvFluClinic, seed.Lily, seed.PoolNurse)
	e.reply("m1", t0)
	e.stream(msgRecord(seed.Sofia, seed.ConvEar, "m2", domain.SideStaff, t0))
	e.stream(msgRecord(seed.Lily, seed.ConvFluClinic, "m3", domain.SideStaff, t0))
	// Meanwhile: Rivera unsubscribed on Mateo's family list (she is still
	// linked), is unlinked from Sofia, and Chen's address bounced (text
	// still works).
	r := rivera
	r.Channels.Email = false
	e.repo.family[seed.Mateo] = []notify.Recipient{r}
	e.repo.family[seed.Sofia] = nil
	c := chen
	c.EmailUnreachable = true
	e.repo.family[seed.Lily] = []notify.Recipient{c}
	e.clock.Set(t0.Add(notify.DefaultWindow))
	if res := e.flush(); res != (notify.Result{Sent: 1, Skipped: 2}) {
		t.Fatalf("flush = %+v", res)
	}
	if len(e.mail.emails()) != 0 || len(e.text.texts()) != 1 || e.text.texts()[0].To != chen.Phone {
		t.Fatalf("e-mails %+v texts %+v", e.mail.emails(), e.text.texts())
	}
}

func TestNoTexterMeansNoText(t *testing.T) {
	t0 := afternoon
	e := newEnv(t, t0)
	e.f = notify.NewFlusher(e.repo, e.mail, nil, e.cfg)
	e.conv(seed.ConvFluClinic, seed.Lily, seed.PoolNurse)
	e.stream(msgRecord(seed.Lily, seed.ConvFluClinic, "m1", domain.SideStaff, t0))
	e.clock.Set(t0.Add(notify.DefaultWindow))
	if res := e.flush(); res != (notify.Result{Sent: 1}) || len(e.repo.audit) != 1 || e.repo.audit[0].Channel != "email" {
		t.Fatalf("flush %+v audit %+v", res, e.repo.audit)
	}
}

func TestStaffDigest(t *testing.T) {
	// 23:00: staff digests know no quiet hours.
	t0 := time.Date(2026, 5, 12, 23, 0, 0, 0, ny)
	e := newEnv(t, t0)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	e.conv(seed.ConvSchoolForm, seed.Mateo, seed.PoolNurse)
	e.conv(seed.ConvFluClinic, seed.Lily, seed.PoolNurse)
	for i, m := range []struct{ patient, conv string }{
		{seed.Mateo, seed.ConvRash}, {seed.Mateo, seed.ConvRash}, {seed.Mateo, seed.ConvSchoolForm}, {seed.Lily, seed.ConvFluClinic},
	} {
		e.setStaffUnread(m.patient, m.conv, 1)
		e.stream(msgRecord(m.patient, m.conv, fmt.Sprintf("p%d", i), domain.SidePortal, t0.Add(time.Duration(i)*time.Minute)))
	}
	items := e.repo.pendingItems()
	if len(items) != 1 || len(items[0].Conversations) != 3 {
		t.Fatalf("pending = %+v, want one digest of three conversations", items)
	}
	e.clock.Set(t0.Add(notify.DefaultWindow))
	if res := e.flush(); res != (notify.Result{Sent: 1}) {
		t.Fatalf("flush = %+v", res)
	}
	mails := e.mail.emails()
	if len(mails) != 1 {
		t.Fatalf("e-mails = %d", len(mails))
	}
	m := mails[0]
	if m.To != nurseKim.Email || m.Unsubscribe != "" || m.Subject != "New messages in the Maple Grove Pediatrics inbox" ||
		!strings.Contains(m.Text, "3 conversations") || !strings.Contains(m.Text, "https://care.maplegrove.example/staff/#/inbox") {
		t.Errorf("digest = %+v", m)
	}
	if !reflect.DeepEqual(m.Tags, map[string]string{"recipient": seed.NurseKim, "kind": "staff"}) {
		t.Errorf("tags %v", m.Tags)
	}
	// One record per patient; the conversation named when it is the only one.
	if len(e.repo.audit) != 2 {
		t.Fatalf("audit = %+v", e.repo.audit)
	}
	byPatient := map[string]audit.Record{}
	for _, r := range e.repo.audit {
		byPatient[r.PatientID] = r
		if r.RecipientID != seed.NurseKim || r.Channel != "email" || r.Outcome != audit.Success || r.Action != audit.Notify {
			t.Errorf("record %+v", r)
		}
	}
	if byPatient[seed.Mateo].ConversationID != "" || byPatient[seed.Lily].ConversationID != seed.ConvFluClinic {
		t.Errorf("records %+v", e.repo.audit)
	}
}

func TestStaffDigestSkipsWhatStaffRead(t *testing.T) {
	t0 := afternoon
	e := newEnv(t, t0)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	e.conv(seed.ConvFluClinic, seed.Lily, seed.PoolNurse)
	e.stream(msgRecord(seed.Mateo, seed.ConvRash, "p1", domain.SidePortal, t0))
	e.stream(msgRecord(seed.Lily, seed.ConvFluClinic, "p2", domain.SidePortal, t0))
	e.setStaffUnread(seed.Lily, seed.ConvFluClinic, 1) // Mateo's was read by a colleague
	e.clock.Set(t0.Add(notify.DefaultWindow))
	if res := e.flush(); res != (notify.Result{Sent: 1}) {
		t.Fatalf("flush = %+v", res)
	}
	if m := e.mail.emails(); len(m) != 1 || !strings.Contains(m[0].Text, ": 1 conversation.") {
		t.Fatalf("e-mails %+v", m)
	}
	if len(e.repo.audit) != 1 || e.repo.audit[0].PatientID != seed.Lily {
		t.Fatalf("audit %+v", e.repo.audit)
	}
	// All read: nothing at all.
	e.stream(msgRecord(seed.Mateo, seed.ConvRash, "p3", domain.SidePortal, t0.Add(time.Hour)))
	e.clock.Set(t0.Add(time.Hour + notify.DefaultWindow))
	if res := e.flush(); res != (notify.Result{Skipped: 1}) {
		t.Fatalf("flush = %+v", res)
	}
}

// A reply lands while the flusher is sending: Finish reports false. The
// notification went out, so its record is still stored, and the newer
// message is notified by the next flush, not the same one.
func TestNewMessageDuringTheSend(t *testing.T) {
	t0 := afternoon
	e := newEnv(t, t0)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	e.reply("m1", t0)
	e.clock.Set(t0.Add(notify.DefaultWindow))
	e.mail.SendFn = func(notify.Email) error {
		e.mail.SendFn = nil
		e.reply("m2", t0.Add(notify.DefaultWindow))
		return nil
	}
	if res := e.flush(); res != (notify.Result{Sent: 1}) {
		t.Fatalf("flush = %+v", res)
	}
	if len(e.mail.emails()) != 1 || len(e.repo.audit) != 0 || len(e.repo.late) != 1 || e.repo.late[0].Outcome != audit.Success {
		t.Fatalf("e-mails %d, finish audit %+v, late audit %+v", len(e.mail.emails()), e.repo.audit, e.repo.late)
	}
	items := e.repo.pendingItems()
	if len(items) != 1 || items[0].Version != 2 {
		t.Fatalf("pending %+v", items)
	}
	e.clock.Set(t0.Add(notify.DefaultWindow + time.Minute))
	if res := e.flush(); res != (notify.Result{Sent: 1}) || len(e.repo.audit) != 1 {
		t.Fatalf("next flush %+v audit %+v", res, e.repo.audit)
	}
}

func TestFlushPagesAndStopsOnItemsThatStay(t *testing.T) {
	t0 := afternoon
	e := newEnv(t, t0)
	// 250 conversations of Lily's, each with a reply: 250 pending items.
	for i := range 250 {
		id := fmt.Sprintf("01KCONV%019d", i)
		e.conv(id, seed.Lily, seed.PoolNurse)
		e.stream(msgRecord(seed.Lily, id, fmt.Sprintf("m%d", i), domain.SideStaff, t0.Add(time.Duration(i)*time.Millisecond)))
	}
	e.clock.Set(t0.Add(notify.DefaultWindow + time.Second))
	if res := e.flush(); res != (notify.Result{Sent: 250}) {
		t.Fatalf("flush = %+v", res)
	}
	if !reflect.DeepEqual(e.repo.dueArgs, []int{100, 100, 100}) {
		t.Errorf("Due calls %v", e.repo.dueArgs)
	}

	// 150 items whose header read fails: each is tried once and deferred.
	for i := range 150 {
		id := fmt.Sprintf("01KFAIL%019d", i)
		e.conv(id, seed.Lily, seed.PoolNurse)
		e.stream(msgRecord(seed.Lily, id, fmt.Sprintf("f%d", i), domain.SideStaff, t0.Add(time.Hour)))
	}
	e.repo.ConversationFn = func(context.Context, string, string) (*domain.Conversation, error) {
		return nil, errors.New("dynamodb: unavailable")
	}
	e.clock.Set(t0.Add(time.Hour + notify.DefaultWindow))
	done := make(chan notify.Result)
	go func() { res, _ := e.f.Flush(t.Context()); done <- res }()
	select {
	case res := <-done:
		if res != (notify.Result{Failed: 150}) {
			t.Fatalf("flush = %+v", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Flush loops on items that stay due")
	}
	items := e.repo.pendingItems()
	if len(items) != 150 {
		t.Fatalf("pending %d", len(items))
	}
	for _, p := range items {
		if !p.DueAt.Equal(e.clock.Now().Add(notify.DefaultRetryDelay)) {
			t.Fatalf("failed item not moved to the retry: %+v", p)
		}
	}

	// Failing Defer too (the table is down): the items stay due, and the
	// flush still ends, having tried each once.
	e.repo.DeferFn = func(context.Context, notify.Pending, time.Time) error { return errors.New("dynamodb: unavailable") }
	e.clock.Set(e.clock.Now().Add(notify.DefaultRetryDelay))
	go func() { res, _ := e.f.Flush(t.Context()); done <- res }()
	select {
	case res := <-done:
		if res != (notify.Result{Failed: 100}) {
			t.Fatalf("flush = %+v", res)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Flush loops on items that stay due")
	}
}

func TestFlushErrors(t *testing.T) {
	e := newEnv(t, afternoon)
	cfg := e.cfg
	cfg.Unsubscribe = nil
	if _, err := notify.NewFlusher(e.repo, e.mail, e.text, cfg).Flush(t.Context()); err == nil {
		t.Error("no error without Unsubscribe")
	}
	// An empty unsubscribe URL: the e-mail is not sent.
	cfg = e.cfg
	cfg.Unsubscribe = func(notify.Recipient) string { return "" }
	e.f = notify.NewFlusher(e.repo, e.mail, e.text, cfg)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	e.reply("m1", afternoon)
	e.clock.Set(afternoon.Add(notify.DefaultWindow))
	if res := e.flush(); res != (notify.Result{Failed: 1}) || len(e.mail.emails()) != 0 {
		t.Fatalf("flush %+v e-mails %d", res, len(e.mail.emails()))
	}
	// A practice without a usable portal URL fails the item, sends nothing.
	e.f = notify.NewFlusher(e.repo, e.mail, e.text, e.cfg)
	e.repo.practices[seed.PracticeID].PortalURL = "http://care.maplegrove.example/portal/"
	e.clock.Set(afternoon.Add(notify.DefaultWindow + time.Minute))
	if res := e.flush(); res != (notify.Result{Failed: 1}) || len(e.mail.emails()) != 0 {
		t.Fatalf("flush %+v e-mails %d", res, len(e.mail.emails()))
	}
}

// permErr is a send error that says retrying cannot help.
type permErr struct{}

func (permErr) Error() string   { return "sms: opted out" }
func (permErr) Permanent() bool { return true }

func TestPermanentFailuresEndRetriesAtOnce(t *testing.T) {
	t0 := afternoon
	e := newEnv(t, t0)
	e.conv(seed.ConvFluClinic, seed.Lily, seed.PoolNurse)
	e.mail.SendFn = func(notify.Email) error { return fmt.Errorf("wrapped: %w", permErr{}) }
	e.text.SendFn = func(notify.Text) error { return errThrottled }
	e.stream(msgRecord(seed.Lily, seed.ConvFluClinic, "m1", domain.SideStaff, t0))
	e.clock.Set(t0.Add(notify.DefaultWindow))
	// One transient failure: retried.
	if res := e.flush(); res != (notify.Result{Failed: 1}) || len(e.repo.pendingItems()) != 1 {
		t.Fatalf("flush %+v pending %d", res, len(e.repo.pendingItems()))
	}
	// Both permanent: given up at once, the failures audited.
	e.text.SendFn = func(notify.Text) error { return permErr{} }
	e.clock.Set(t0.Add(notify.DefaultWindow + time.Minute))
	if res := e.flush(); res != (notify.Result{Failed: 1}) || len(e.repo.pendingItems()) != 0 {
		t.Fatalf("flush %+v pending %d", res, len(e.repo.pendingItems()))
	}
	if len(e.repo.audit) != 2 || e.repo.audit[0].Outcome != audit.Failed || e.repo.audit[1].Outcome != audit.Failed {
		t.Fatalf("audit %+v", e.repo.audit)
	}
	if !notify.Permanent(fmt.Errorf("x: %w", permErr{})) || notify.Permanent(errThrottled) || notify.Permanent(nil) {
		t.Error("Permanent")
	}
}
