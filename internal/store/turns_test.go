package store_test

import (
	"errors"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

func waiting(c domain.Conversation, at time.Time) domain.Conversation {
	c.Awaiting, c.AwaitingSince = domain.AwaitingStaff, at
	return c
}

func inQueue(t *testing.T, s *store.Store, pool, id string) bool {
	t.Helper()
	page, err := s.Inbox(t.Context(), seed.PracticeID, app.ConversationFilter{Awaiting: domain.AwaitingStaff, PoolID: pool}, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range page.Items {
		if c.ID == id {
			return true
		}
	}
	return false
}

// GIVEN a reply that read the header before a reroute committed WHEN it
// writes THEN it is refused as stale (the caller reads again), so it never
// puts the conversation back in the old pool's queue.
func TestReplyAfterARerouteIsStale(t *testing.T) {
	s := newStore(t)
	at := time.Now().UTC()
	c := newConversationWaiting(t, s, at)
	read := header(t, s, seed.Mateo, c.ID)
	desk := domain.PoolRef{ID: seed.PoolFrontDesk, Name: "Front desk"}
	if err := s.ChangeConversation(t.Context(), read, domain.Change{Pool: &desk, At: at}, nil, rec()); err != nil {
		t.Fatal(err)
	}
	m := reply(domain.SidePortal, c, "one more thing", at.Add(time.Second))
	w := wr(app.Idempotency{CallerID: "x", Key: ulid.Make().String(), Hash: "h"})
	w.Before = &read
	if _, err := s.AppendMessage(t.Context(), m, w); !errors.Is(err, domain.ErrStale) {
		t.Fatalf("reply on the pre-reroute header: %v, want stale", err)
	}
	fresh := header(t, s, seed.Mateo, c.ID)
	w.Before = &fresh
	if _, err := s.AppendMessage(t.Context(), m, w); err != nil {
		t.Fatal(err)
	}
	if !inQueue(t, s, seed.PoolFrontDesk, c.ID) || inQueue(t, s, seed.PoolNurse, c.ID) {
		t.Fatal("after the reroute and the reply the conversation is not (only) in the front desk's queue")
	}
}

// GIVEN a claim that read the header before the escalator marked it
// overdue WHEN the claim commits THEN the mark stays: only the end of the
// practice's turn clears it.
func TestAClaimKeepsTheOverdueMark(t *testing.T) {
	s := newStore(t)
	at := time.Now().UTC()
	c := newConversationWaiting(t, s, at)
	read := header(t, s, seed.Mateo, c.ID)
	e := domain.Entry{ID: ulid.Make().String(), ConversationID: c.ID, PatientID: seed.Mateo, Kind: domain.EventOverdue, At: at}
	if err := s.MarkOverdue(t.Context(), read, at, e, rec()); err != nil {
		t.Fatal(err)
	}
	me := domain.Party{ID: seed.NurseKim, Name: "Jordan Kim, RN", Side: domain.SideStaff}
	if err := s.ChangeConversation(t.Context(), read, domain.Change{Assignee: &me, At: at}, nil, rec()); err != nil {
		t.Fatal(err)
	}
	if h := header(t, s, seed.Mateo, c.ID); h.OverdueAt == nil || h.Assignee == nil {
		t.Fatalf("after the claim: overdue %v, assignee %v", h.OverdueAt, h.Assignee)
	}
	// A second mark of the same wait is refused: one entry, one record.
	if err := s.MarkOverdue(t.Context(), read, at, e, rec()); !errors.Is(err, domain.ErrStale) {
		t.Fatalf("second mark: %v, want stale", err)
	}
	// A staff reply ends the turn and clears the mark.
	h := header(t, s, seed.Mateo, c.ID)
	w := wr(app.Idempotency{CallerID: "x", Key: ulid.Make().String(), Hash: "h"})
	w.Before = &h
	if _, err := s.AppendMessage(t.Context(), reply(domain.SideStaff, c, "answered", at.Add(time.Second)), w); err != nil {
		t.Fatal(err)
	}
	if h := header(t, s, seed.Mateo, c.ID); h.OverdueAt != nil || h.Awaiting != domain.AwaitingFamily {
		t.Fatalf("after the reply: overdue %v, awaiting %s", h.OverdueAt, h.Awaiting)
	}
}

func newConversationWaiting(t *testing.T, s *store.Store, at time.Time) domain.Conversation {
	t.Helper()
	c := domain.Conversation{
		ID: ulid.Make().String(), Patient: domain.PatientRef{ID: seed.Mateo, DisplayName: "P"},
		PracticeID: seed.PracticeID, Subject: "s", Pool: domain.PoolRef{ID: seed.PoolNurse, Name: "Nurse line"},
		Status: domain.StatusOpen, CreatedAt: at, LastActivityAt: at, MessageCount: 1, StaffUnread: 1, Version: 1,
		StartedBy: domain.Party{ID: seed.ParentRivera, Side: domain.SidePortal},
	}
	c = waiting(c, at)
	m := domain.Message{ID: ulid.Make().String(), ConversationID: c.ID, PatientID: seed.Mateo, Body: "first", Author: c.StartedBy, CreatedAt: at}
	if _, err := s.CreateConversation(t.Context(), c, m, wr(app.Idempotency{CallerID: "x", Key: ulid.Make().String(), Hash: "h"})); err != nil {
		t.Fatal(err)
	}
	return c
}
