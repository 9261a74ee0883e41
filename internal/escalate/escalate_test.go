package escalate

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/notify"
)

// fakeRepo holds practices with one nurse-line pool ("4h") each and the
// conversations waiting on it, oldest first.
type fakeRepo struct {
	practices []string
	broken    string // a practice whose settings fail
	waiting   map[string][]domain.Conversation
	stale     map[string]bool // conversations that moved on before the mark
	marked    []string
	records   []audit.Record
	alerts    []notify.Pending
	read      int  // conversations read from the queues
	failAlert bool // AddPending fails
}

func (f *fakeRepo) Practices(context.Context) ([]string, error) { return f.practices, nil }

func (f *fakeRepo) PracticeSettings(_ context.Context, id string) (domain.Practice, []domain.Pool, error) {
	if id == f.broken {
		return domain.Practice{}, nil, errors.New("down")
	}
	return domain.Practice{ID: id, TimeZone: "America/New_York"}, []domain.Pool{{ID: "nurse", PracticeID: id, Name: "Nurse line", ResponseTarget: "4h"}}, nil
}

func (f *fakeRepo) Inbox(_ context.Context, practiceID string, fl app.ConversationFilter, limit int, start map[string]string) (app.Page[domain.Conversation], error) {
	if fl.Awaiting != domain.AwaitingStaff || fl.PoolID != "nurse" {
		return app.Page[domain.Conversation]{}, errors.New("not the needs-reply queue of the pool")
	}
	all := f.waiting[practiceID]
	from := 0
	if start != nil {
		for i, c := range all {
			if c.ID == start["id"] {
				from = i + 1
			}
		}
	}
	to := min(from+2, len(all)) // pages of two, to cross pages
	f.read += to - from
	page := app.Page[domain.Conversation]{Items: all[from:to]}
	if to < len(all) {
		page.LastKey = map[string]string{"id": all[to-1].ID}
	}
	return page, nil
}

func (f *fakeRepo) MarkOverdue(_ context.Context, c domain.Conversation, _ time.Time, e domain.Entry, rec audit.Record) error {
	if f.stale[c.ID] {
		return domain.ErrStale
	}
	f.marked = append(f.marked, c.ID)
	f.records = append(f.records, rec)
	return nil
}

func (f *fakeRepo) StaffRecipients(context.Context, string, string) ([]notify.Recipient, error) {
	return []notify.Recipient{{ID: "kim", Email: "kim@example.com"}, {ID: "nomail"}}, nil
}

func (f *fakeRepo) AddPending(_ context.Context, p notify.Pending) error {
	if f.failAlert {
		return errors.New("throttled")
	}
	f.alerts = append(f.alerts, p)
	return nil
}

func TestRunMarksWhatIsDueAndStops(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	wed := func(h, m int) time.Time { return time.Date(2026, 12, 2, h, m, 0, 0, ny) }
	waiting := func(id string, since time.Time, overdue bool) domain.Conversation {
		c := domain.Conversation{ID: id, PracticeID: "p1", Patient: domain.PatientRef{ID: "pt"}, Pool: domain.PoolRef{ID: "nurse"}, Awaiting: domain.AwaitingStaff, AwaitingSince: since}
		if overdue {
			at := since.Add(5 * time.Hour)
			c.OverdueAt = &at
		}
		return c
	}
	f := &fakeRepo{
		practices: []string{"p1", "broken", "p2"},
		broken:    "broken",
		waiting: map[string][]domain.Conversation{
			"p1": {
				waiting("old", wed(8, 0), true),     // marked by an earlier run
				waiting("a", wed(9, 0), false),      // due 13:00
				waiting("moved", wed(9, 30), false), // answered meanwhile
				waiting("b", wed(10, 0), false),     // due 14:00
				waiting("c", wed(11, 0), false),     // due 15:00: not yet
				waiting("d", wed(12, 0), false),     // on c's page: read, not marked
				waiting("x", wed(13, 0), false),     // never read: the walk stopped
				waiting("y", wed(14, 0), false),
			},
			"p2": {waiting("e", wed(9, 0), false)},
		},
		stale: map[string]bool{"moved": true},
	}
	e := New(f, func() time.Time { return wed(14, 30) }, nil)
	res, err := e.Run(t.Context())
	if err == nil {
		t.Fatal("a failing practice must fail the run (after the others ran)")
	}
	if got, want := f.marked, []string{"a", "b", "e"}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("marked %v, want %v", got, want)
	}
	// The alert is recorded before the mark, so the one that moved on
	// has one too: the flusher drops it, finding the conversation
	// answered.
	if res.Overdue != 3 || res.Alerts != 3 || len(f.alerts) != 4 {
		t.Fatalf("result %+v, alerts %d: want 3 marked and 3 counted alerts, 4 recorded (the staff member without an address gets none)", res, len(f.alerts))
	}
	if f.read != 7 {
		t.Fatalf("read %d waiting conversations, want 6 of p1's 8 and p2's one: the walk stops at the first not yet due", f.read)
	}
	for _, p := range f.alerts {
		if !p.Overdue || p.Recipient.Kind != notify.Staff || p.Recipient.ID != "kim" || len(p.Conversations) != 1 || p.MessageID == "" {
			t.Errorf("alert %+v", p)
		}
	}
	for _, r := range f.records {
		if r.Action != audit.Escalate || r.PatientID != "pt" || r.ConversationID == "" || len(r.Events) != 1 {
			t.Errorf("audit record %+v", r)
		}
	}
}

// GIVEN the alert cannot be recorded WHEN a run meets a due conversation
// THEN it does not mark it either, so the next run alerts and marks it:
// no overdue conversation is ever marked without its alert.
func TestAFailedAlertLeavesTheConversationForTheNextRun(t *testing.T) {
	since := time.Date(2026, 12, 2, 14, 0, 0, 0, time.UTC) // 9:00 in New York
	f := &fakeRepo{practices: []string{"p1"}, failAlert: true, waiting: map[string][]domain.Conversation{
		"p1": {{ID: "a", PracticeID: "p1", Patient: domain.PatientRef{ID: "pt"}, Pool: domain.PoolRef{ID: "nurse"}, Awaiting: domain.AwaitingStaff, AwaitingSince: since}},
	}}
	e := New(f, func() time.Time { return since.Add(6 * time.Hour) }, nil)
	if _, err := e.Run(t.Context()); err == nil || len(f.marked) != 0 {
		t.Fatalf("with alerts failing: err %v, marked %v; want an error and nothing marked", err, f.marked)
	}
	f.failAlert = false
	if res, err := e.Run(t.Context()); err != nil || res.Overdue != 1 || len(f.alerts) != 1 || !f.alerts[0].DueAt.After(since.Add(6*time.Hour)) {
		t.Fatalf("the next run: %+v, %v, alerts %+v; want it marked and alerted, due after the mark", res, err, f.alerts)
	}
}
