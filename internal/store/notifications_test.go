package store_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/notify"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

// GIVEN three messages for one parent and conversation WHEN each is added
// THEN one pending notification covers them, due when the first one's
// window closes; a redelivered message changes nothing, even after the
// notification was sent.
func TestPendingCoalescesAndForgetsNothingTwice(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	t0 := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	parent := notify.Recipient{Kind: notify.Family, ID: seed.ParentRivera}
	add := func(msg string, at time.Time) {
		t.Helper()
		err := s.AddPending(ctx, notify.Pending{Recipient: parent, PracticeID: seed.PracticeID, PatientID: seed.Mateo,
			ConversationID: seed.ConvRash, MessageID: msg, FirstAt: at, LastAt: at, DueAt: at.Add(10 * time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
	}
	add("m1", t0)
	add("m2", t0.Add(2*time.Minute))
	add("m2", t0.Add(2*time.Minute)) // redelivered
	add("m3", t0.Add(4*time.Minute))
	if due, err := s.Due(ctx, t0.Add(9*time.Minute), 10); err != nil || len(due) != 0 {
		t.Fatalf("due before the window closed: %+v, %v", due, err)
	}
	due, err := s.Due(ctx, t0.Add(10*time.Minute), 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("due = %+v, %v; want one pending notification", due, err)
	}
	p := due[0]
	if !p.FirstAt.Equal(t0) || !p.LastAt.Equal(t0.Add(4*time.Minute)) || p.Version != 3 || p.ConversationID != seed.ConvRash {
		t.Fatalf("pending = %+v; want first %s, last +4m, version 3", p, t0)
	}
	// The recipient is read fresh from the directory.
	if p.Recipient.ID != seed.ParentRivera || p.Recipient.Kind != notify.Family {
		t.Fatalf("recipient = %+v", p.Recipient)
	}
	// A stale version finishes nothing; the current one removes it and
	// writes its audit record in the same transaction.
	stale := p
	stale.Version = 2
	if ok, err := s.Finish(ctx, stale, nil); ok || err != nil {
		t.Fatalf("finish of a stale version: %v, %v", ok, err)
	}
	rec := audit.Record{PatientID: seed.Mateo, At: t0, ActorID: "notifier", Action: audit.Notify, RecipientID: seed.ParentRivera, Channel: "email", Outcome: audit.Success, RequestID: "n1"}
	if ok, err := s.Finish(ctx, p, []audit.Record{rec}); !ok || err != nil {
		t.Fatalf("finish: %v, %v", ok, err)
	}
	if due, _ := s.Due(ctx, t0.Add(time.Hour), 10); len(due) != 0 {
		t.Fatalf("still due after finish: %+v", due)
	}
	trail, _ := s.AuditTrail(ctx, seed.Mateo)
	found := false
	for _, r := range trail {
		found = found || (r.RequestID == "n1" && r.Channel == "email" && r.RecipientID == seed.ParentRivera)
	}
	if !found {
		t.Fatal("the notification's audit record was not stored")
	}
	// A redelivery of an old record after the send creates nothing.
	add("m3", t0.Add(4*time.Minute))
	if due, _ := s.Due(ctx, t0.Add(time.Hour), 10); len(due) != 0 {
		t.Fatalf("a redelivered message was notified again: %+v", due)
	}
}

// Deferring moves the due time; a stale defer changes nothing.
func TestDeferPending(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	t0 := time.Date(2026, 12, 2, 2, 30, 0, 0, time.UTC)
	if err := s.AddPending(ctx, notify.Pending{Recipient: notify.Recipient{Kind: notify.Staff, ID: seed.NurseKim}, PracticeID: seed.PracticeID,
		Conversations: []notify.ConversationRef{{PatientID: seed.Lily, ConversationID: seed.ConvBilling}}, MessageID: "d1",
		FirstAt: t0, LastAt: t0, DueAt: t0.Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	due, err := s.Due(ctx, t0.Add(time.Hour), 10)
	if err != nil || len(due) != 1 || len(due[0].Conversations) != 1 || due[0].Recipient.Email != "" && due[0].Recipient.Kind != notify.Staff {
		t.Fatalf("due = %+v, %v", due, err)
	}
	later := t0.Add(5 * time.Hour)
	if err := s.Defer(ctx, due[0], later); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Due(ctx, later.Add(-time.Minute), 10); len(d) != 0 {
		t.Fatalf("deferred item still due early: %+v", d)
	}
	if d, _ := s.Due(ctx, later, 10); len(d) != 1 || !d[0].DueAt.Equal(later) {
		t.Fatalf("deferred item at %+v, want due %s", d, later)
	}
}

// The directory's recipients: linked, active families with their choice;
// staff who opted in for a pool and have an address.
func TestRecipientsAndPreferences(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	// A new account takes the file's choice.
	if err := s.PutPortalUser(ctx, domain.PortalUser{ID: "new-parent", PracticeID: seed.PracticeID, DisplayName: "New",
		Active: true, Email: "new@example.com", Notify: domain.Channels{Email: true}}); err != nil {
		t.Fatal(err)
	}
	if r, err := s.StaffRecipient(ctx, "new-parent"); err != nil || r != nil {
		t.Fatalf("a portal user read as staff: %+v, %v", r, err)
	}
	if err := s.PutPortalUser(ctx, domain.PortalUser{ID: seed.ParentRivera, PracticeID: seed.PracticeID, DisplayName: "Ana Rivera",
		Active: true, Email: "ana@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetNotifyAudited(ctx, seed.ParentRivera, domain.Channels{Email: true}, rec()); err != nil {
		t.Fatal(err)
	}
	ana := func() notify.Recipient {
		t.Helper()
		rs, err := s.FamilyRecipients(ctx, seed.Mateo)
		if err != nil || len(rs) != 2 {
			t.Fatalf("Mateo's family = %+v, %v; want his two guardians", rs, err)
		}
		for _, r := range rs {
			if r.ID == seed.ParentRivera {
				return r
			}
		}
		t.Fatalf("Ana is not among %+v", rs)
		return notify.Recipient{}
	}
	if r := ana(); r.Email != "ana@example.com" || !r.Channels.Email {
		t.Fatalf("Ana = %+v", r)
	}
	// The family's own choice survives a reload of the directory file.
	if err := s.SetNotifyAudited(ctx, seed.ParentRivera, domain.Channels{}, rec()); err != nil {
		t.Fatal(err)
	}
	if err := s.PutPortalUser(ctx, domain.PortalUser{ID: seed.ParentRivera, PracticeID: seed.PracticeID, DisplayName: "Ana Rivera",
		Active: true, Email: "ana@example.com", Notify: domain.Channels{Email: true}}); err != nil {
		t.Fatal(err)
	}
	if ana().Channels.Email {
		t.Fatal("a directory reload overwrote the family's choice")
	}
	// A bounce marks the address; a new address is reachable again.
	if err := s.MarkEmailUnreachable(ctx, seed.ParentRivera, "ana@example.com"); err != nil {
		t.Fatal(err)
	}
	if !ana().EmailUnreachable {
		t.Fatal("bounced address not marked")
	}
	// Staff see it on each of the family's links.
	for _, pid := range []string{seed.Mateo, seed.Sofia} {
		links, err := s.PatientLinks(ctx, pid)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range links {
			if (l.PortalUserID == seed.ParentRivera) != l.EmailUnreachable {
				t.Fatalf("%s: link %s shows unreachable=%v", pid, l.PortalUserID, l.EmailUnreachable)
			}
		}
	}
	if err := s.PutPortalUser(ctx, domain.PortalUser{ID: seed.ParentRivera, PracticeID: seed.PracticeID, DisplayName: "Ana Rivera",
		Active: true, Email: "ana.new@example.com"}); err != nil {
		t.Fatal(err)
	}
	if r := ana(); r.EmailUnreachable || r.Email != "ana.new@example.com" {
		t.Fatalf("after a new address: %+v", r)
	}
	if err := s.SetNotifyAudited(ctx, "nobody", domain.Channels{}, rec()); domain.ErrorCode(err) != domain.ENotFound {
		t.Fatalf("SetNotify of a missing account: %v", err)
	}
	if err := s.PutStaff(ctx, domain.StaffMember{ID: seed.NurseKim, PracticeID: seed.PracticeID, DisplayName: "Jordan Kim, RN", Role: domain.RoleNurse,
		Active: true, Email: "kim@example.com", NotifyPools: []string{seed.PoolNurse}}); err != nil {
		t.Fatal(err)
	}
	staff, err := s.StaffRecipients(ctx, seed.PracticeID, seed.PoolNurse)
	if err != nil || len(staff) != 1 || staff[0].ID != seed.NurseKim {
		t.Fatalf("nurse line recipients = %+v, %v", staff, err)
	}
	if staff, _ := s.StaffRecipients(ctx, seed.PracticeID, seed.PoolBilling); len(staff) != 1 || staff[0].ID != seed.DeskLee {
		t.Fatalf("billing recipients = %+v, want only the front desk, who opted in", staff)
	}
}

// A stream NewImage of a message decodes to the message; a header's does
// not.
func TestMessageFromStream(t *testing.T) {
	client, prefix := dynamotest.New(t)
	s := store.New(client, store.TablesWithPrefix(prefix))
	if err := seed.Directory(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if err := seed.Conversations(t.Context(), s, time.Now()); err != nil {
		t.Fatal(err)
	}
	out, err := client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(prefix + "Messages")})
	if err != nil {
		t.Fatal(err)
	}
	msgs, headers := 0, 0
	for _, it := range out.Items {
		// Round-trip through the Lambda event's JSON, as the stream
		// delivers the image.
		var plain map[string]any
		if err := attributevalue.UnmarshalMap(it, &plain); err != nil {
			t.Fatal(err)
		}
		image := map[string]events.DynamoDBAttributeValue{}
		raw, _ := json.Marshal(toStreamJSON(t, it))
		if err := json.Unmarshal(raw, &image); err != nil {
			t.Fatal(err)
		}
		m, ok, err := store.MessageFromStream(image)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			headers++
			continue
		}
		msgs++
		if m.PatientID == "" || m.ConversationID == "" || m.MessageID == "" || m.AuthorSide == "" || m.At.IsZero() {
			t.Fatalf("decoded %+v from %v", m, plain)
		}
	}
	if msgs < 7 || headers != 7 {
		t.Fatalf("decoded %d messages and skipped %d headers; want the demo's messages and its 7 headers", msgs, headers)
	}
}

// toStreamJSON renders an item as DynamoDB's JSON, which is what a stream
// record's NewImage holds.
func toStreamJSON(t *testing.T, item map[string]types.AttributeValue) map[string]any {
	t.Helper()
	out := map[string]any{}
	for k, v := range item {
		out[k] = streamJSON(v)
	}
	return out
}

func streamJSON(v types.AttributeValue) any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": true}
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}
	case *types.AttributeValueMemberM:
		m := map[string]any{}
		for k, e := range v.Value {
			m[k] = streamJSON(e)
		}
		return map[string]any{"M": m}
	case *types.AttributeValueMemberL:
		var l []any
		for _, e := range v.Value {
			l = append(l, streamJSON(e))
		}
		return map[string]any{"L": l}
	}
	panic(fmt.Sprintf("unexpected attribute %T", v))
}
