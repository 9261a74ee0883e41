package browsertest

import (
	"context"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/devstack"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/escalate"
	"github.com/pedsportal/messaging/internal/localdev/officeclock"
	"github.com/pedsportal/messaging/internal/seed"
)

// devStack adapts the in-process product stack to what the tests use.
type devStack struct{ *devstack.Stack }

func (s devStack) Site() string   { return s.SiteURL }
func (s devStack) API() string    { return s.APIURL }
func (s devStack) Issuer() string { return s.IssuerURL }

// startStack starts the whole product on loopback ports chosen by the
// kernel, with its own in-memory DynamoDB Local and the demo seed.
func startStack(ctx context.Context) (stack, error) {
	// Inside office hours: what the pages show must not depend on the
	// hour the tests run at.
	// Polling every 2 s, so news reaches an open page within a step.
	st, err := devstack.Start(ctx, devstack.Options{Now: officeclock.Open(), PollSeconds: 2})
	if err != nil {
		return nil, err
	}
	return devStack{st}, nil
}

// Overdue writes the conversation through the store and marks it with
// the escalator's own store call, so the page reads a real overdue header
// through the API. It waited a month, so it sorts first in Needs reply.
func (s devStack) Overdue(ctx context.Context) (string, error) {
	at := time.Now().UTC().AddDate(0, -1, 0)
	wei := domain.Party{ID: seed.ParentChen, Name: "Wei Chen", Role: "portal", Side: domain.SidePortal}
	c, m := app.NewConversation(ulid.Make().String(), ulid.Make().String(), domain.PatientRef{ID: seed.Lily, DisplayName: "Lily Chen"}, seed.PracticeID,
		domain.PoolRef{ID: seed.PoolBilling, Name: "Billing"}, domain.AudienceFamily, "A statement from last month", "Could you explain this charge?", wei, seed.ParentChen, at)
	rec := audit.Record{PatientID: seed.Lily, At: at, ActorID: seed.ParentChen, Action: audit.CreateConversation, Outcome: audit.Success, RequestID: ulid.Make().String()}
	if _, err := s.Store.CreateConversation(ctx, c, m, app.Write{Idem: app.Idempotency{CallerID: seed.ParentChen, Key: c.ID, Hash: "h"}, Audit: rec}); err != nil {
		return "", err
	}
	f, err := s.Store.LoadAccess(ctx, authz.Query{PatientID: seed.Lily, ConversationID: c.ID})
	if err != nil || f.Conversation == nil {
		return "", fmt.Errorf("read the header back: %v", err)
	}
	now := time.Now().UTC()
	e := domain.Entry{ID: ulid.Make().String(), ConversationID: c.ID, PatientID: seed.Lily, Kind: domain.EventOverdue, By: escalate.Actor, At: now}
	rec.Action, rec.At, rec.ActorID, rec.RequestID = audit.Escalate, now, escalate.Actor.ID, ulid.Make().String()
	return c.ID, s.Store.MarkOverdue(ctx, *f.Conversation, now, e, rec)
}
