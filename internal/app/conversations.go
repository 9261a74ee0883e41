package app

import (
	"context"
	"errors"
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
)

// NewConversation is the one rule that builds a conversation and its first
// message: the other side starts with it unread, the author's side has read
// it, and a staff member who starts a conversation owns it until
// reassigned. The API and the demo seed both build conversations here.
func NewConversation(id, msgID string, patient domain.PatientRef, practiceID string, pool domain.PoolRef, subject, body string, author domain.Party, portalUserID string, at time.Time) (domain.Conversation, domain.Message) {
	conv := domain.Conversation{
		ID: id, Patient: patient, PracticeID: practiceID, Subject: subject, Pool: pool,
		Status: domain.StatusOpen, StartedBy: author, PortalUserID: portalUserID,
		CreatedAt: at, LastActivityAt: at, MessageCount: 1, Preview: domain.Preview(body), Version: 1,
	}
	if author.Side == domain.SidePortal {
		conv.StaffUnread, conv.PortalReadAt = 1, &at
	} else {
		conv.PortalUnread, conv.StaffReadAt = 1, &at
		me := author
		conv.Assignee = &me
	}
	return conv, domain.Message{ID: msgID, ConversationID: id, PatientID: patient.ID, Body: body, Author: author, CreatedAt: at}
}

// NewMessage is a reply by author.
func NewMessage(id, convID, patientID, body string, author domain.Party, at time.Time) domain.Message {
	return domain.Message{ID: id, ConversationID: convID, PatientID: patientID, Body: body, Author: author, CreatedAt: at}
}

// StartRequest is Write Message.
type StartRequest struct {
	PatientID    string
	PortalUserID string // staff only: the portal user written to
	PoolID       string
	Subject      string
	Body         string
	Idem         Idempotency
}

// WriteResult is what a message write returns.
type WriteResult struct {
	Conversation *domain.Conversation // new conversations only
	Message      *domain.Message
	Replayed     bool
}

// StartConversation starts a conversation with its first message. Errors:
// EInvalid, ENotFound, EIdemMismatch, EThrottled (daily limit), EConflict.
func (a *App) StartConversation(ctx context.Context, c *Call, in StartRequest) (*WriteResult, error) {
	c.begin(audit.CreateConversation, in.PatientID, "")
	p := c.Principal
	if p.Side == domain.SideStaff && in.PortalUserID == "" {
		return nil, domain.Invalid("portalUserId", "portalUserId is required")
	}
	if in.PoolID == "" {
		return nil, domain.Invalid("poolId", "poolId is required")
	}
	if err := domain.ValidateSubject(in.Subject); err != nil {
		return nil, err
	}
	if err := domain.ValidateBody(in.Body); err != nil {
		return nil, err
	}
	g, err := a.grant(ctx, c, in.PatientID, authz.Extra{PoolID: in.PoolID, PortalUserID: in.PortalUserID})
	if err != nil {
		return nil, err
	}
	conv, msg := NewConversation(a.newID(c.At), a.newID(c.At), g.Patient, g.PracticeID,
		domain.PoolRef{ID: g.Pool.ID, Name: g.Pool.Name}, in.Subject, in.Body, g.Actor, g.Link.PortalUserID, c.At)
	return a.write(ctx, c, msg, &conv, in.Idem)
}

// ReplyRequest is a reply to a conversation.
type ReplyRequest struct {
	PatientID, ConversationID string
	Body                      string
	Idem                      Idempotency
}

// Reply adds a message to an open conversation. Errors: EInvalid,
// ENotFound (also for a conversation of another patient), EConflict
// (closed), EIdemMismatch, EThrottled (daily limit).
func (a *App) Reply(ctx context.Context, c *Call, in ReplyRequest) (*WriteResult, error) {
	c.begin(audit.Reply, in.PatientID, in.ConversationID)
	if err := domain.ValidateBody(in.Body); err != nil {
		return nil, err
	}
	g, err := a.grant(ctx, c, in.PatientID, authz.Extra{})
	if err != nil {
		return nil, err
	}
	msg := NewMessage(a.newID(c.At), in.ConversationID, in.PatientID, in.Body, g.Actor, c.At)
	return a.write(ctx, c, msg, nil, in.Idem)
}

// write commits a message (and a new conversation's header) with its
// idempotency record, audit record and, for portal authors, the daily
// counter: one transaction after the access read.
func (a *App) write(ctx context.Context, c *Call, msg domain.Message, conv *domain.Conversation, idem Idempotency) (*WriteResult, error) {
	rec := c.record(audit.Success, 201)
	rec.ConversationID, rec.MessageID = msg.ConversationID, msg.ID
	w := Write{Idem: idem, Audit: rec}
	if c.Principal.Side == domain.SidePortal {
		day := c.At.Truncate(24 * time.Hour)
		w.Cap = &DailyCap{CallerID: c.Principal.ID, Day: day.Format(time.DateOnly), Limit: a.dailyLimit, ResetAt: day.Add(24 * time.Hour)}
	}
	var (
		written Written
		err     error
	)
	if conv != nil {
		written, err = a.repo.CreateConversation(ctx, *conv, msg, w)
	} else {
		written, err = a.repo.AppendMessage(ctx, msg, w)
	}
	if errors.Is(err, domain.ErrDailyLimit) {
		// The alarm on unusual per-patient growth counts this line.
		a.log.WarnContext(ctx, WriteCapLog, "patientId", msg.PatientID, "actor", c.Principal.ID, "limit", a.dailyLimit)
	}
	if domain.ErrorCode(err) == domain.EConflict {
		c.found() // a closed conversation exists
	}
	if err != nil {
		a.committed(ctx, c, rec, err)
		return nil, err
	}
	if !written.Replayed {
		c.recorded = true
		return &WriteResult{Conversation: conv, Message: &msg}, nil
	}
	// A retry: answer with what the first request stored, audited as a
	// replay before it goes out.
	c.rec.ConversationID, c.rec.MessageID = written.ConversationID, written.MessageID
	stored, m, err := a.repo.Replay(ctx, msg.PatientID, written)
	if err != nil {
		return nil, err
	}
	if err := a.release(ctx, c, c.record(audit.Replayed, 201)); err != nil {
		return nil, err
	}
	res := &WriteResult{Message: m, Replayed: true}
	if conv != nil {
		res.Conversation = stored
	}
	return res, nil
}

// WriteCapLog is the log message of a write refused by the daily limit;
// infra's alarm on unusual per-patient growth counts it.
const WriteCapLog = "write cap reached"

// staleRetries bounds how often a header change is retried when a
// concurrent write moved the version it read.
const staleRetries = 3

// MarkRead marks a conversation read for the caller's side. Errors:
// ENotFound.
func (a *App) MarkRead(ctx context.Context, c *Call, patientID, convID string) (*domain.Conversation, error) {
	c.begin(audit.MarkRead, patientID, convID)
	return a.changeHeader(ctx, c, patientID, authz.Extra{ConversationID: convID}, 0, func(g *authz.Grant, rec audit.Record) (domain.Conversation, error) {
		side := c.Principal.Side
		return g.Conversation.MarkedRead(side, c.At), a.repo.MarkRead(ctx, *g.Conversation, side, c.At, rec)
	})
}

// ManageRequest is a staff change to a conversation.
type ManageRequest struct {
	PatientID, ConversationID string
	Status                    *domain.Status
	// AssigneeID assigns the conversation; "" clears the assignment.
	AssigneeID *string
	// Version, when non-zero, must match the conversation's current version.
	Version int
}

// Manage lets staff close, reopen and assign a conversation. Errors:
// EInvalid, ENotFound, EConflict (version mismatch).
func (a *App) Manage(ctx context.Context, c *Call, in ManageRequest) (*domain.Conversation, error) {
	c.begin(audit.UpdateConversation, in.PatientID, in.ConversationID)
	if in.Status == nil && in.AssigneeID == nil {
		return nil, domain.Invalid("status", "give status, assigneeId, or both")
	}
	if in.Status != nil && *in.Status != domain.StatusOpen && *in.Status != domain.StatusClosed {
		return nil, domain.Invalid("status", "status must be open or closed")
	}
	extra := authz.Extra{ConversationID: in.ConversationID}
	if in.AssigneeID != nil {
		extra.AssigneeID = *in.AssigneeID
	}
	return a.changeHeader(ctx, c, in.PatientID, extra, in.Version, func(g *authz.Grant, rec audit.Record) (domain.Conversation, error) {
		ch := domain.Change{Status: in.Status}
		if in.AssigneeID != nil {
			ch.Assignee = &domain.Party{}
			if s := g.Assignee; s != nil {
				ch.Assignee = &domain.Party{ID: s.ID, Name: s.DisplayName, Role: string(s.Role), Side: domain.SideStaff}
				rec.TargetID = s.ID
			}
		}
		return g.Conversation.Changed(ch), a.repo.ChangeConversation(ctx, *g.Conversation, ch, rec)
	})
}

// changeHeader reads access and the header in one round trip, then commits
// change conditional on the header's version with the audit record in one
// transaction. A concurrent write retries from the read, unless the
// caller named the version it saw (ifVersion), which then answers 409.
func (a *App) changeHeader(ctx context.Context, c *Call, patientID string, extra authz.Extra, ifVersion int, change func(*authz.Grant, audit.Record) (domain.Conversation, error)) (*domain.Conversation, error) {
	for attempt := 1; ; attempt++ {
		g, err := a.grant(ctx, c, patientID, extra)
		if err != nil {
			return nil, err
		}
		if ifVersion != 0 && g.Conversation.Version != ifVersion {
			return nil, domain.ErrStale
		}
		rec := c.record(audit.Success, 200)
		after, err := change(g, rec)
		if err == nil {
			c.recorded = true
			return &after, nil
		}
		if !errors.Is(err, domain.ErrStale) || ifVersion != 0 || attempt == staleRetries {
			a.committed(ctx, c, rec, err)
			return nil, err
		}
	}
}

// grant reads and decides access to a patient (one round trip) and notes
// the role used.
func (a *App) grant(ctx context.Context, c *Call, patientID string, extra authz.Extra) (*authz.Grant, error) {
	q, err := authz.PatientQuery(c.Principal, patientID, extra)
	if err != nil {
		return nil, err
	}
	f, err := a.repo.LoadAccess(ctx, q)
	if err != nil {
		return nil, err
	}
	c.read(f)
	g, err := authz.DecidePatient(c.Principal, patientID, extra, f)
	if err != nil {
		// A missing conversation of the caller's own patient is an attempt
		// on that patient's chart: file it there.
		if extra.ConversationID != "" {
			patientOnly := extra
			patientOnly.ConversationID = ""
			if g, perr := authz.DecidePatient(c.Principal, patientID, patientOnly, f); perr == nil {
				c.granted(g)
			}
		}
		return nil, err
	}
	c.granted(g)
	return g, nil
}
