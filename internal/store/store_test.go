package store_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

func newStore(t *testing.T) *store.Store {
	t.Helper()
	client, prefix := dynamotest.New(t)
	s := store.New(client, store.TablesWithPrefix(prefix))
	if err := seed.Directory(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	return s
}

func newConversation(t *testing.T, s *store.Store, patientID string, at time.Time) domain.Conversation {
	t.Helper()
	c := domain.Conversation{
		ID: ulid.Make().String(), Patient: domain.PatientRef{ID: patientID, DisplayName: "P"},
		PracticeID: seed.PracticeID, Subject: "s", Pool: domain.PoolRef{ID: seed.PoolNurse, Name: "Nurse line"},
		Status: domain.StatusOpen, CreatedAt: at, LastActivityAt: at, MessageCount: 1, StaffUnread: 1, Version: 1,
		StartedBy: domain.Party{ID: seed.ParentRivera, Side: domain.SidePortal},
	}
	m := domain.Message{ID: ulid.Make().String(), ConversationID: c.ID, PatientID: patientID, Body: "first", Author: c.StartedBy, CreatedAt: at}
	if _, err := s.CreateConversation(t.Context(), c, m, wr(app.Idempotency{CallerID: "x", Key: ulid.Make().String(), Hash: "h"})); err != nil {
		t.Fatal(err)
	}
	return c
}

// wr is what commits with a test message: its idempotency record and an
// audit record.
func wr(idem app.Idempotency) app.Write { return app.Write{Idem: idem, Audit: rec()} }

func rec() audit.Record {
	return audit.Record{PatientID: "test", At: time.Now().UTC(), ActorID: "test", Action: audit.Reply, Outcome: audit.Success, RequestID: ulid.Make().String()}
}

// header reads a conversation's current header through the access read.
func header(t *testing.T, s *store.Store, patientID, convID string) domain.Conversation {
	t.Helper()
	f, err := s.LoadAccess(t.Context(), authz.Query{PatientID: patientID, ConversationID: convID})
	if err != nil || f.Conversation == nil {
		t.Fatalf("read header %s: %+v, %v", convID, f, err)
	}
	return *f.Conversation
}

func reply(side domain.Side, c domain.Conversation, body string, at time.Time) domain.Message {
	return domain.Message{
		ID: ulid.Make().String(), ConversationID: c.ID, PatientID: c.Patient.ID, Body: body,
		Author: domain.Party{ID: "author", Side: side}, CreatedAt: at,
	}
}

// GIVEN one conversation WHEN 50 replies race THEN all 50 are stored and the
// header counts them exactly.
func TestConcurrentRepliesAllCount(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	c := newConversation(t, s, seed.Mateo, time.Now().UTC())
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			m := reply(domain.SideStaff, c, fmt.Sprintf("reply %d", i), time.Now().UTC())
			if _, err := s.AppendMessage(ctx, m, wr(app.Idempotency{CallerID: "nurse", Key: fmt.Sprintf("k%d", i), Hash: "h"})); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("reply failed: %v", err)
	}
	conv, page, err := s.Chain(ctx, seed.Mateo, []domain.Audience{domain.AudienceFamily}, c.ID, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(page.Items), n+1; got != want {
		t.Errorf("stored messages = %d, want %d", got, want)
	}
	if got, want := conv.MessageCount, n+1; got != want {
		t.Errorf("messageCount = %d, want %d", got, want)
	}
	if got, want := conv.PortalUnread, n; got != want {
		t.Errorf("portalUnread = %d, want %d", got, want)
	}
	if got, want := conv.Version, n+1; got != want {
		t.Errorf("version = %d, want %d", got, want)
	}
}

func TestIdempotency(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	c := newConversation(t, s, seed.Mateo, time.Now().UTC())
	idem := wr(app.Idempotency{CallerID: seed.ParentRivera, Key: "same", Hash: "h1"})
	first, err := s.AppendMessage(ctx, reply(domain.SidePortal, c, "once", time.Now().UTC()), idem)
	if err != nil || first.Replayed {
		t.Fatalf("first write: %+v, %v", first, err)
	}
	again, err := s.AppendMessage(ctx, reply(domain.SidePortal, c, "once", time.Now().UTC()), idem)
	if err != nil || !again.Replayed || again.MessageID != first.MessageID {
		t.Fatalf("retry = %+v, %v; want replay of %s", again, err, first.MessageID)
	}
	idem.Idem.Hash = "h2"
	if _, err := s.AppendMessage(ctx, reply(domain.SidePortal, c, "other", time.Now().UTC()), idem); domain.ErrorCode(err) != domain.EIdemMismatch {
		t.Fatalf("reused key with another body: err = %v, want %s", err, domain.EIdemMismatch)
	}
	conv, page, err := s.Chain(ctx, seed.Mateo, []domain.Audience{domain.AudienceFamily}, c.ID, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 2 || conv.MessageCount != 2 {
		t.Fatalf("messages = %d, count = %d; want 2 and 2", len(page.Items), conv.MessageCount)
	}
}

func TestReplyRules(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	c := newConversation(t, s, seed.Mateo, time.Now().UTC())
	// Same conversation ID under another patient: not found.
	m := reply(domain.SidePortal, c, "x", time.Now().UTC())
	m.PatientID = seed.Sofia
	if _, err := s.AppendMessage(ctx, m, wr(app.Idempotency{CallerID: "a", Key: "1", Hash: "h"})); domain.ErrorCode(err) != domain.ENotFound {
		t.Fatalf("cross-patient reply: %v, want not found", err)
	}
	closed := domain.StatusClosed
	if err := s.ChangeConversation(ctx, header(t, s, seed.Mateo, c.ID), domain.Change{Status: &closed}, nil, rec()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendMessage(ctx, reply(domain.SidePortal, c, "x", time.Now().UTC()), wr(app.Idempotency{CallerID: "a", Key: "2", Hash: "h"})); domain.ErrorCode(err) != domain.EConflict {
		t.Fatalf("reply to closed: %v, want conflict", err)
	}
	if err := s.ChangeConversation(ctx, c, domain.Change{Status: &closed}, nil, rec()); !errors.Is(err, domain.ErrStale) {
		t.Fatalf("stale version: %v, want %v", err, domain.ErrStale)
	}
}

func TestListNewestFirstAndPaged(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 5 {
		ids = append(ids, newConversation(t, s, seed.Lily, base.Add(time.Duration(i)*time.Hour)).ID)
	}
	var got []string
	var start map[string]string
	for pages := 0; ; pages++ {
		page, err := s.Conversations(ctx, seed.Lily, []domain.Audience{domain.AudienceFamily}, app.ConversationFilter{}, 2, start)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Items {
			got = append(got, c.ID)
		}
		if start = page.LastKey; start == nil || pages > 5 {
			break
		}
	}
	want := []string{ids[4], ids[3], ids[2], ids[1], ids[0]}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("order = %v, want %v", got, want)
	}
	// Messages of a conversation never show up as conversations.
	if _, err := s.AppendMessage(ctx, reply(domain.SideStaff, domain.Conversation{ID: ids[0], Patient: domain.PatientRef{ID: seed.Lily}}, "r", base.Add(10*time.Hour)), wr(app.Idempotency{CallerID: "n", Key: "r", Hash: "h"})); err != nil {
		t.Fatal(err)
	}
	page, err := s.Conversations(ctx, seed.Lily, []domain.Audience{domain.AudienceFamily}, app.ConversationFilter{}, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 5 || page.Items[0].ID != ids[0] {
		t.Fatalf("after a reply the oldest conversation should lead: got %d items, first %s", len(page.Items), page.Items[0].ID)
	}
}

// GIVEN a reply at t2 committed WHEN a reply stamped t1 < t2 commits later
// THEN it is counted, but last activity and preview stay at t2.
func TestLateReplyKeepsNewerActivity(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	t0 := time.Now().UTC().Add(-time.Hour)
	c := newConversation(t, s, seed.Mateo, t0)
	t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	for i, m := range []domain.Message{reply(domain.SideStaff, c, "newer", t2), reply(domain.SideStaff, c, "older", t1)} {
		if _, err := s.AppendMessage(ctx, m, wr(app.Idempotency{CallerID: "n", Key: fmt.Sprint(i), Hash: "h"})); err != nil {
			t.Fatal(err)
		}
	}
	conv, page, err := s.Chain(ctx, seed.Mateo, []domain.Audience{domain.AudienceFamily}, c.ID, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if conv.MessageCount != 3 || len(page.Items) != 3 || conv.PortalUnread != 2 {
		t.Fatalf("count %d, stored %d, unread %d; want 3, 3, 2", conv.MessageCount, len(page.Items), conv.PortalUnread)
	}
	if conv.Preview != "newer" || !conv.LastActivityAt.Equal(t2) {
		t.Fatalf("header moved back: preview %q at %s, want %q at %s", conv.Preview, conv.LastActivityAt, "newer", t2)
	}
}

// A key built from a message's ID never reaches the message: updates need
// a conversation header.
func TestUpdatesOnlyTouchHeaders(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	c := newConversation(t, s, seed.Mateo, time.Now().UTC())
	_, page, err := s.Chain(ctx, seed.Mateo, []domain.Audience{domain.AudienceFamily}, c.ID, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	msgAsConv := c.ID + "#MSG#" + page.Items[0].ID
	f, err := s.LoadAccess(ctx, authz.Query{PatientID: seed.Mateo, ConversationID: msgAsConv})
	if err != nil || f.Conversation != nil {
		t.Fatalf("access read of a message key as a conversation: %+v, %v; want no conversation", f.Conversation, err)
	}
	fake := c
	fake.ID = msgAsConv
	if err := s.MarkRead(ctx, fake, domain.SidePortal, time.Now(), rec()); !errors.Is(err, domain.ErrStale) {
		t.Fatalf("MarkRead on a message item: %v, want %v", err, domain.ErrStale)
	}
	m := reply(domain.SideStaff, domain.Conversation{ID: msgAsConv, Patient: c.Patient}, "x", time.Now().UTC())
	if _, err := s.AppendMessage(ctx, m, wr(app.Idempotency{CallerID: "n", Key: "k", Hash: "h"})); domain.ErrorCode(err) != domain.ENotFound {
		t.Fatalf("reply under a message item: %v, want not found", err)
	}
}
