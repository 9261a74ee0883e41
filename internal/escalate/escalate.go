// Package escalate is the scheduled check of response targets: it finds
// conversations that have waited on the practice longer than their pool's
// target (in business hours, on the practice's calendar), marks them
// overdue with a history entry and an audit record, and alerts the pool's
// opted-in staff through the notification path. It runs every few
// minutes; a run repeats no work of an earlier one.
package escalate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/notify"
)

// Repository is what a run reads and writes.
type Repository interface {
	app.SettingsReader
	// Practices lists every practice.
	Practices(ctx context.Context) ([]string, error)
	// Inbox pages a queue; the escalator reads each pool's needs-reply
	// queue, oldest wait first.
	Inbox(ctx context.Context, practiceID string, f app.ConversationFilter, limit int, start map[string]string) (app.Page[domain.Conversation], error)
	// MarkOverdue marks a conversation overdue with its entry and record;
	// domain.ErrStale when it moved on meanwhile.
	MarkOverdue(ctx context.Context, c domain.Conversation, at time.Time, e domain.Entry, rec audit.Record) error
	StaffRecipients(ctx context.Context, practiceID, poolID string) ([]notify.Recipient, error)
	AddPending(ctx context.Context, p notify.Pending) error
}

// Actor is who the history and the audit trail name for an escalation.
var Actor = domain.Party{ID: "escalator", Name: "Response target", Role: "system", Side: domain.SideStaff}

// Escalator runs the check.
type Escalator struct {
	repo  Repository
	now   func() time.Time
	log   *slog.Logger
	newID func(time.Time) string
}

// New returns an escalator; now and log default to the clock and slog's
// default logger.
func New(repo Repository, now func() time.Time, log *slog.Logger) *Escalator {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Escalator{repo: repo, now: now, log: log, newID: func(t time.Time) string {
		return ulid.MustNew(ulid.Timestamp(t), ulid.DefaultEntropy()).String()
	}}
}

// Result counts what a run did.
type Result struct {
	Checked int // waiting conversations looked at
	Overdue int // newly marked overdue
	Alerts  int // staff alerts recorded
}

// alertDelay puts an alert's send after the mark it is recorded before.
const alertDelay = time.Minute

// pageSize is how many waiting conversations one read takes.
const pageSize = 100

// Run checks every practice's pools once. A practice that fails is
// logged and the others still run; the error says how many failed.
func (e *Escalator) Run(ctx context.Context) (Result, error) {
	var res Result
	ids, err := e.repo.Practices(ctx)
	if err != nil {
		return res, fmt.Errorf("list practices: %w", err)
	}
	failed := 0
	for _, id := range ids {
		if err := e.practice(ctx, id, &res); err != nil {
			failed++
			e.log.ErrorContext(ctx, "escalate: practice failed", "practice", id, "error", err)
		}
	}
	e.log.InfoContext(ctx, "escalate: run", "practices", len(ids), "checked", res.Checked, "overdue", res.Overdue, "alerts", res.Alerts)
	if failed > 0 {
		return res, fmt.Errorf("escalate: %d of %d practices failed", failed, len(ids))
	}
	return res, nil
}

func (e *Escalator) practice(ctx context.Context, practiceID string, res *Result) error {
	p, pools, err := e.repo.PracticeSettings(ctx, practiceID)
	if err != nil {
		return err
	}
	s := app.NewSettings(p, pools)
	now := e.now().UTC()
	for _, pool := range pools {
		if err := e.pool(ctx, s, practiceID, pool.ID, now, res); err != nil {
			return fmt.Errorf("pool %s: %w", pool.ID, err)
		}
	}
	return nil
}

// pool walks one pool's needs-reply queue from the longest wait and stops
// at the first conversation not yet due: the queue is ordered by when the
// wait began, and a later start is never due sooner.
func (e *Escalator) pool(ctx context.Context, s app.Settings, practiceID, poolID string, now time.Time, res *Result) error {
	var start map[string]string
	var recipients []notify.Recipient
	loaded := false
	for {
		page, err := e.repo.Inbox(ctx, practiceID, app.ConversationFilter{Awaiting: domain.AwaitingStaff, PoolID: poolID}, pageSize, start)
		if err != nil {
			return err
		}
		for _, c := range page.Items {
			res.Checked++
			if s.Due(poolID, c.AwaitingSince).After(now) {
				return nil
			}
			if c.OverdueAt != nil {
				continue
			}
			// The alert first, then the mark: a run that fails between the
			// two is made good by the next, which finds the conversation
			// unmarked and records the same alert again, which adds nothing
			// (its message ID names the wait). The alert is due a minute
			// later, after the mark; the flusher sends it only while the
			// conversation is still overdue and waiting.
			if !loaded {
				var err error
				if recipients, err = e.repo.StaffRecipients(ctx, practiceID, poolID); err != nil {
					return err
				}
				loaded = true
			}
			n, err := e.alert(ctx, c, recipients, now)
			if err != nil {
				return err
			}
			marked, err := e.mark(ctx, c, now)
			if err != nil {
				return err
			}
			if !marked {
				continue // moved on meanwhile: the alert finds it answered and is dropped
			}
			res.Overdue++
			res.Alerts += n
		}
		if start = page.LastKey; start == nil {
			return nil
		}
	}
}

// mark records c as overdue; false when it moved on meanwhile (a reply,
// a reroute), which a later run sees afresh.
func (e *Escalator) mark(ctx context.Context, c domain.Conversation, now time.Time) (bool, error) {
	entry := domain.Entry{ID: e.newID(now), ConversationID: c.ID, PatientID: c.Patient.ID, Kind: domain.EventOverdue, By: Actor, At: now}
	rec := audit.Record{
		PatientID: c.Patient.ID, ConversationID: c.ID, At: now, ActorID: Actor.ID, ActorSide: "system", ActorRole: Actor.ID,
		Action: audit.Escalate, Outcome: audit.Success, Status: 200, RequestID: e.newID(now),
		Events: []string{string(entry.Kind) + ":" + entry.ID},
	}
	err := e.repo.MarkOverdue(ctx, c, now, entry, rec)
	if errors.Is(err, domain.ErrStale) {
		return false, nil
	}
	return err == nil, err
}

// alert adds c to the overdue alert of each opted-in staff member with an
// address. The message ID names the conversation and its wait, so a rerun
// of the same escalation adds nothing twice.
func (e *Escalator) alert(ctx context.Context, c domain.Conversation, recipients []notify.Recipient, now time.Time) (int, error) {
	n := 0
	for _, r := range recipients {
		r.Kind = notify.Staff
		if !r.CanEmail() {
			continue
		}
		err := e.repo.AddPending(ctx, notify.Pending{
			Recipient: r, PracticeID: c.PracticeID, Overdue: true,
			Conversations: []notify.ConversationRef{{PatientID: c.Patient.ID, ConversationID: c.ID}},
			MessageID:     "overdue#" + c.ID + "#" + c.AwaitingSince.UTC().Format(time.RFC3339Nano),
			FirstAt:       now, LastAt: now, DueAt: now.Add(alertDelay),
		})
		if err != nil {
			return n, fmt.Errorf("alert staff %s: %w", r.ID, err)
		}
		n++
	}
	return n, nil
}
