package notify_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/notify"
	"github.com/pedsportal/messaging/internal/seed"
)

// 14:00 in New York on a weekday: outside quiet hours.
var afternoon = time.Date(2026, 5, 12, 14, 0, 0, 0, ny)

func TestNurseReplyPendsForEachParentWithAChannel(t *testing.T) {
	e := newEnv(t, afternoon)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	// Mateo's family: Ana Rivera (e-mail), a guardian who chose none, one
	// who chose e-mail but bounced, and one who chose text only.
	bounced := notify.Recipient{Kind: notify.Family, ID: "pu-bounced", Email: "bounced@example.com", Channels: domain.Channels{Email: true}, EmailUnreachable: true}
	texter := notify.Recipient{Kind: notify.Family, ID: "pu-texter", Phone: "+15555550109", Channels: domain.Channels{SMS: true}}
	noPhone := notify.Recipient{Kind: notify.Family, ID: "pu-nophone", Channels: domain.Channels{SMS: true}}
	e.repo.family[seed.Mateo] = []notify.Recipient{rivera, noneGuardian, bounced, texter, noPhone}

	at := afternoon.Add(-time.Minute).UTC()
	resp := e.stream(msgRecord(seed.Mateo, seed.ConvRash, "m1", domain.SideStaff, at))
	if len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures: %+v", resp.BatchItemFailures)
	}
	got := e.repo.addedCalls()
	if len(got) != 2 {
		t.Fatalf("AddPending calls = %d, want 2 (Rivera by e-mail, the texter): %+v", len(got), got)
	}
	for i, want := range []notify.Recipient{rivera, texter} {
		p := got[i]
		wantP := notify.Pending{
			Recipient: want, PracticeID: seed.PracticeID, PatientID: seed.Mateo, ConversationID: seed.ConvRash,
			MessageID: "m1", FirstAt: at, LastAt: at, DueAt: at.Add(notify.DefaultWindow),
		}
		if !reflect.DeepEqual(p, wantP) {
			t.Errorf("AddPending #%d =\n %+v\nwant\n %+v", i, p, wantP)
		}
	}
}

func TestThreeRepliesInTheWindowGiveOneNotification(t *testing.T) {
	t0 := afternoon
	e := newEnv(t, t0)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	e.repo.family[seed.Mateo] = []notify.Recipient{rivera}
	for i, d := range []time.Duration{0, 2 * time.Minute, 5 * time.Minute} {
		e.stream(msgRecord(seed.Mateo, seed.ConvRash, "m"+string(rune('1'+i)), domain.SideStaff, t0.Add(d)))
	}
	// Three AddPending calls, one key: the repository coalesces them.
	calls := e.repo.addedCalls()
	if len(calls) != 3 {
		t.Fatalf("AddPending calls = %d, want 3", len(calls))
	}
	for _, c := range calls[1:] {
		if key(c) != key(calls[0]) {
			t.Errorf("keys differ: %q vs %q", key(c), key(calls[0]))
		}
	}
	items := e.repo.pendingItems()
	if len(items) != 1 || !items[0].DueAt.Equal(t0.Add(notify.DefaultWindow)) || !items[0].LastAt.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("pending = %+v", items)
	}

	// Before the window closes nothing is due.
	e.clock.Set(t0.Add(9 * time.Minute))
	if res := e.flush(); res != (notify.Result{}) || len(e.mail.emails()) != 0 {
		t.Fatalf("early flush: %+v, %d e-mails", res, len(e.mail.emails()))
	}
	e.clock.Set(t0.Add(10 * time.Minute))
	if res := e.flush(); res != (notify.Result{Sent: 1}) {
		t.Fatalf("flush = %+v", res)
	}
	if n := len(e.mail.emails()); n != 1 {
		t.Fatalf("e-mails = %d, want 1", n)
	}
	if len(e.repo.audit) != 1 {
		t.Fatalf("audit = %+v", e.repo.audit)
	}
	// Nothing is left to send.
	e.clock.Set(t0.Add(time.Hour))
	if res := e.flush(); res != (notify.Result{}) || len(e.mail.emails()) != 1 {
		t.Fatalf("second flush: %+v", res)
	}
}

func TestRedeliveredBatchSendsNothingTwice(t *testing.T) {
	t0 := afternoon
	e := newEnv(t, t0)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	e.conv(seed.ConvFluClinic, seed.Lily, seed.PoolNurse)
	batch := []events.DynamoDBEventRecord{
		msgRecord(seed.Mateo, seed.ConvRash, "m1", domain.SideStaff, t0),
		msgRecord(seed.Lily, seed.ConvFluClinic, "m2", domain.SideStaff, t0.Add(time.Second)),
		msgRecord(seed.Mateo, seed.ConvRash, "m3", domain.SidePortal, t0.Add(2*time.Second)),
	}
	e.setStaffUnread(seed.Mateo, seed.ConvRash, 1)
	e.stream(batch...)
	first := e.repo.addedCalls()
	e.clock.Set(t0.Add(3 * time.Minute)) // a later delivery: the clock must not matter
	e.stream(batch...)
	all := e.repo.addedCalls()
	if !reflect.DeepEqual(all[len(first):], first) {
		t.Fatalf("redelivery AddPending calls differ:\n%+v\nvs\n%+v", all[len(first):], first)
	}
	e.clock.Set(t0.Add(notify.DefaultWindow + time.Minute))
	res := e.flush()
	// Rivera (Mateo), Chen (Lily, e-mail and text), nurse Kim's digest.
	if res.Sent != 3 {
		t.Fatalf("flush = %+v", res)
	}
	emails, texts := len(e.mail.emails()), len(e.text.texts())
	if emails != 3 || texts != 1 {
		t.Fatalf("e-mails %d texts %d, want 3 and 1", emails, texts)
	}
	// Redelivered again after the flush: the repository has applied these
	// messages, so nothing new is pending and nothing is sent.
	e.stream(batch...)
	e.clock.Set(t0.Add(time.Hour))
	e.flush()
	if len(e.mail.emails()) != emails || len(e.text.texts()) != texts {
		t.Fatalf("a redelivered batch sent again: %d e-mails, %d texts", len(e.mail.emails()), len(e.text.texts()))
	}
}

func TestBatchWithBadRecordsFailsOnlyThose(t *testing.T) {
	e := newEnv(t, afternoon)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	e.conv(seed.ConvEar, seed.Sofia, seed.PoolDrPatel)
	good1 := msgRecord(seed.Mateo, seed.ConvRash, "m1", domain.SideStaff, afternoon)
	badDecode := msgRecord(seed.Mateo, seed.ConvRash, "m2", domain.SideStaff, afternoon)
	badDecode.Change.NewImage["at"] = events.NewStringAttribute("not a time")
	noHeader := msgRecord(seed.Lily, "01KNOSUCHCONVERSATION00000", "m3", domain.SideStaff, afternoon)
	repoFails := msgRecord(seed.Sofia, seed.ConvEar, "m4", domain.SideStaff, afternoon)
	notMessage := msgRecord(seed.Mateo, seed.ConvRash, "", domain.SideStaff, afternoon)
	notMessage.Change.NewImage["type"] = events.NewStringAttribute("header")
	modify := msgRecord(seed.Mateo, seed.ConvRash, "m5", domain.SideStaff, afternoon)
	modify.EventName = "MODIFY"
	good2 := msgRecord(seed.Mateo, seed.ConvRash, "m6", domain.SideStaff, afternoon.Add(time.Second))
	e.repo.FamilyFn = func(ctx context.Context, patientID string) ([]notify.Recipient, error) {
		if patientID == seed.Sofia {
			return nil, errors.New("dynamodb: ProvisionedThroughputExceededException")
		}
		return e.repo.family[patientID], nil
	}

	resp := e.stream(good1, badDecode, noHeader, repoFails, notMessage, modify, good2)
	var got []string
	for _, f := range resp.BatchItemFailures {
		got = append(got, f.ItemIdentifier)
	}
	want := []string{badDecode.Change.SequenceNumber, noHeader.Change.SequenceNumber, repoFails.Change.SequenceNumber}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("BatchItemFailures = %v, want %v", got, want)
	}
	// The good records were applied.
	var ids []string
	for _, p := range e.repo.addedCalls() {
		ids = append(ids, p.MessageID)
	}
	if !reflect.DeepEqual(ids, []string{"m1", "m6"}) {
		t.Fatalf("applied messages %v, want [m1 m6]", ids)
	}
}

func TestAddPendingFailureFailsTheRecord(t *testing.T) {
	e := newEnv(t, afternoon)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	e.repo.AddPendingFn = func(context.Context, notify.Pending) error { return errors.New("transaction canceled") }
	r := msgRecord(seed.Mateo, seed.ConvRash, "m1", domain.SideStaff, afternoon)
	resp := e.stream(r)
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != r.Change.SequenceNumber {
		t.Fatalf("failures = %+v", resp.BatchItemFailures)
	}
}

func TestCancelledContextFailsTheRest(t *testing.T) {
	e := newEnv(t, afternoon)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r := msgRecord(seed.Mateo, seed.ConvRash, "m1", domain.SideStaff, afternoon)
	resp, err := e.n.HandleStream(ctx, events.DynamoDBEvent{Records: []events.DynamoDBEventRecord{r}})
	if err != nil || len(resp.BatchItemFailures) != 1 {
		t.Fatalf("resp %+v err %v", resp, err)
	}
}

func TestMissingDecodeFailsTheBatch(t *testing.T) {
	n := notify.NewNotifier(newFakeRepo(), notify.Config{})
	if _, err := n.HandleStream(t.Context(), events.DynamoDBEvent{}); err == nil {
		t.Fatal("no error without Decode")
	}
}

func TestPortalMessagePendsDigestForPoolOrAssignee(t *testing.T) {
	e := newEnv(t, afternoon)
	e.conv(seed.ConvRash, seed.Mateo, seed.PoolNurse)
	at := afternoon.UTC()
	e.stream(msgRecord(seed.Mateo, seed.ConvRash, "m1", domain.SidePortal, at))
	got := e.repo.addedCalls()
	// The nurse line's opted-in staff with an address: nurse Kim (the
	// admin has no e-mail). No family notification for a family message.
	want := []notify.Pending{{
		Recipient: nurseKim, PracticeID: seed.PracticeID,
		Conversations: []notify.ConversationRef{{PatientID: seed.Mateo, ConversationID: seed.ConvRash}},
		MessageID:     "m1", FirstAt: at, LastAt: at, DueAt: at.Add(notify.DefaultWindow),
	}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("AddPending =\n %+v\nwant\n %+v", got, want)
	}

	// Assigned to Dr. Patel: only the assignee.
	c := e.conv(seed.ConvEar, seed.Sofia, seed.PoolNurse)
	c.Assignee = &domain.Party{ID: seed.DrPatel, Side: domain.SideStaff, Role: "doctor"}
	e.repo.putConv(c)
	e.stream(msgRecord(seed.Sofia, seed.ConvEar, "m2", domain.SidePortal, at))
	got = e.repo.addedCalls()[1:]
	if len(got) != 1 || got[0].Recipient.ID != seed.DrPatel || got[0].ConversationID != "" || got[0].PatientID != "" {
		t.Fatalf("assignee digest = %+v", got)
	}

	// An assignee who is gone falls back to the pool.
	c.Assignee = &domain.Party{ID: "gone", Side: domain.SideStaff}
	e.repo.putConv(c)
	e.stream(msgRecord(seed.Sofia, seed.ConvEar, "m3", domain.SidePortal, at))
	got = e.repo.addedCalls()[2:]
	if len(got) != 1 || got[0].Recipient.ID != seed.NurseKim {
		t.Fatalf("fallback digest = %+v", got)
	}
}

// A reply in a confidential conversation pends for the patient's own
// account only: never for a guardian, and not on a channel a guardian
// shares (a family inbox would tell the parent that such a reply exists).
func TestConfidentialReplyNeverReachesAGuardian(t *testing.T) {
	e := newEnv(t, afternoon)
	c := e.conv(seed.ConvNoahPrivate, seed.Noah, seed.PoolDrPatel)
	c.Audience = domain.AudienceConfidential
	e.repo.putConv(c)
	mom := notify.Recipient{Kind: notify.Family, ID: seed.ParentOkafor, Email: "okafor.family@example.com", Phone: "+15555550177", Channels: domain.Channels{Email: true, SMS: true}, Relationship: domain.RelParent}
	teen := notify.Recipient{Kind: notify.Family, ID: seed.TeenNoah, Email: "noah@example.com", Phone: "+15555550178", Channels: domain.Channels{Email: true, SMS: true}, Relationship: domain.RelSelf}
	for _, tc := range []struct {
		name string
		teen notify.Recipient
		want []notify.Recipient
	}{
		{"own address", teen, []notify.Recipient{teen}},
		{"shared e-mail: text only", func() notify.Recipient { r := teen; r.Email = " Okafor.Family@example.com"; return r }(),
			[]notify.Recipient{func() notify.Recipient { r := teen; r.Email = ""; return r }()}},
		{"shared e-mail and phone: nothing", func() notify.Recipient { r := teen; r.Email, r.Phone = mom.Email, mom.Phone; return r }(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := notify.Audience(domain.AudienceConfidential, []notify.Recipient{mom, tc.teen})
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("recipients = %+v, want %+v", got, tc.want)
			}
		})
	}
	if got := notify.Audience(domain.AudienceFamily, []notify.Recipient{mom, teen}); len(got) != 2 {
		t.Fatalf("family conversation recipients = %+v, want both", got)
	}

	e.repo.family[seed.Noah] = []notify.Recipient{mom, teen}
	at := afternoon.Add(-time.Minute).UTC()
	if resp := e.stream(msgRecord(seed.Noah, seed.ConvNoahPrivate, "m1", domain.SideStaff, at)); len(resp.BatchItemFailures) != 0 {
		t.Fatalf("failures: %+v", resp.BatchItemFailures)
	}
	got := e.repo.addedCalls()
	if len(got) != 1 || got[0].Recipient.ID != seed.TeenNoah {
		t.Fatalf("AddPending calls = %+v, want the teen's only", got)
	}
}
