package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
)

// NewConversation is the one rule that builds a conversation and its first
// message: the other side starts with it unread, the author's side has read
// it, and a staff member who starts a conversation owns it until
// reassigned. The API and the demo seed both build conversations here.
func NewConversation(id, msgID string, patient domain.PatientRef, practiceID string, pool domain.PoolRef, aud domain.Audience, subject, body string, author domain.Party, portalUserID string, at time.Time) (domain.Conversation, domain.Message) {
	conv := domain.Conversation{
		ID: id, Patient: patient, PracticeID: practiceID, Subject: subject, Pool: pool, Audience: aud.OrFamily(),
		Status: domain.StatusOpen, StartedBy: author, PortalUserID: portalUserID,
		CreatedAt: at, LastActivityAt: at, MessageCount: 1, Preview: domain.Preview(body), Version: 1,
		Awaiting: domain.TurnAfter(author.Side), AwaitingSince: at,
	}
	if author.Side == domain.SidePortal {
		conv.StaffUnread, conv.PortalReadAt = 1, &at
	} else {
		conv.PortalUnread, conv.StaffReadAt = 1, &at
		me := author
		conv.Assignee, conv.AssignedAt = &me, &at
	}
	return conv, NewMessage(msgID, conv, body, author, at)
}

// NewMessage is a message by author in conv, kept with it.
func NewMessage(id string, conv domain.Conversation, body string, author domain.Party, at time.Time) domain.Message {
	return domain.Message{ID: id, ConversationID: conv.ID, PatientID: conv.Patient.ID, Audience: conv.Audience.OrFamily(), Body: body, Author: author, CreatedAt: at}
}

// StartRequest is Write Message.
type StartRequest struct {
	PatientID    string
	PortalUserID string // staff only: the portal user written to
	PoolID       string
	// Audience is AudienceFamily when empty. A confidential conversation
	// is started by the patient's own account, or by staff writing to it.
	Audience domain.Audience
	Subject  string
	Body     string
	// AttachmentIDs are the caller's ready uploads the message carries.
	AttachmentIDs []string
	Idem          Idempotency
}

// WriteResult is what a message write returns.
type WriteResult struct {
	Conversation *domain.Conversation // new conversations only
	Message      *domain.Message
	// Acknowledgement is the automatic after-hours reply stored after it.
	Acknowledgement *domain.Message
	Replayed        bool
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
	aud := in.Audience.OrFamily()
	if !aud.Valid() {
		return nil, domain.Invalid("audience", "audience must be family or confidential")
	}
	files := a.prefetchAttachments(ctx, in.PatientID, in.AttachmentIDs, p.ID)
	g, err := a.grant(ctx, c, in.PatientID, authz.Extra{PoolID: in.PoolID, PortalUserID: in.PortalUserID})
	if err != nil {
		files()
		return nil, err
	}
	if aud == domain.AudienceConfidential {
		if err := a.mayBeConfidential(ctx, c, g, g.Pool.ID); err != nil {
			return nil, err
		}
	}
	conv, msg := NewConversation(a.newID(c.At), a.newID(c.At), g.Patient, g.PracticeID,
		domain.PoolRef{ID: g.Pool.ID, Name: g.Pool.Name}, aud, in.Subject, in.Body, g.Actor, g.Link.PortalUserID, c.At)
	if msg.Attachments, err = files(); err != nil {
		return nil, err
	}
	return a.write(ctx, c, msg, &conv, nil, in.Idem)
}

// mayBeConfidential decides whether g's conversation in pool may be one
// only the patient and the care team see: the family side of it must be
// the patient's own account (the caller, or the one staff write to), and
// the practice's age (and, for the patient writing, its pools) must allow
// it today.
func (a *App) mayBeConfidential(ctx context.Context, c *Call, g *authz.Grant, poolID string) error {
	if g.Link == nil || g.Link.Relationship != domain.RelSelf {
		if c.Principal.Side == domain.SidePortal {
			return domain.Invalid("audience", "only the patient can start a conversation only the care team sees")
		}
		return domain.Invalid("portalUserId", "a conversation only the care team sees goes to the patient's own portal account")
	}
	s, err := a.settings(ctx, g.PracticeID)
	if err != nil {
		return err
	}
	if g.Record != nil {
		// Staff: the care team decides the pool.
		return domain.ConfidentialAgeRule(s.Practice, s.Calendar.Zone(), g.Record.DateOfBirth, c.At)
	}
	return domain.ConfidentialRule(s.Practice, s.Calendar.Zone(), g.Link.PatientDOB, poolID, c.At)
}

// ReplyRequest is a reply to a conversation.
type ReplyRequest struct {
	PatientID, ConversationID string
	Body                      string
	AttachmentIDs             []string
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
	msgID := a.newID(c.At)
	files := a.prefetchAttachments(ctx, in.PatientID, in.AttachmentIDs, c.Principal.ID)
	for attempt := 1; ; attempt++ {
		// The access read also reads the header: whose turn it is next
		// follows from it, and the write is conditional on it.
		g, err := a.grant(ctx, c, in.PatientID, authz.Extra{ConversationID: in.ConversationID})
		if err != nil {
			files()
			return nil, err
		}
		msg := NewMessage(msgID, *g.Conversation, in.Body, g.Actor, c.At)
		if msg.Attachments, err = files(); err != nil {
			return nil, err
		}
		res, err := a.write(ctx, c, msg, nil, g.Conversation, in.Idem)
		if !errors.Is(err, domain.ErrStale) || attempt == staleRetries {
			return res, err
		}
	}
}

// write commits a message (and a new conversation's header) with its
// idempotency record, audit record and, for portal authors, the daily
// counter: one transaction after the access read.
func (a *App) write(ctx context.Context, c *Call, msg domain.Message, conv, before *domain.Conversation, idem Idempotency) (*WriteResult, error) {
	rec := c.record(audit.Success, 201)
	rec.ConversationID, rec.MessageID = msg.ConversationID, msg.ID
	w := Write{Idem: idem, Audit: rec, Before: before}
	if c.Principal.Side == domain.SidePortal {
		day := c.At.Truncate(24 * time.Hour)
		w.Cap = &DailyCap{CallerID: c.Principal.ID, Day: day.Format(time.DateOnly), Limit: a.dailyLimit, ResetAt: day.Add(24 * time.Hour)}
		a.acknowledge(ctx, &w, msg, conv, before)
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
	if errors.Is(err, domain.ErrStale) {
		return nil, err // nothing written: the caller reads again
	}
	if err != nil {
		a.committed(ctx, c, rec, err)
		return nil, err
	}
	if !written.Replayed {
		c.recorded = true
		return &WriteResult{Conversation: conv, Message: &msg, Acknowledgement: w.Ack}, nil
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

// acknowledge adds the automatic after-hours acknowledgement to a family
// message's write, when the office is closed and the chain has none for
// this window. Without the practice's settings the message goes through
// unacknowledged: the acknowledgement is a courtesy, the message is not.
func (a *App) acknowledge(ctx context.Context, w *Write, msg domain.Message, conv, before *domain.Conversation) {
	h := before
	if conv != nil {
		h = conv
	}
	if h == nil {
		return
	}
	s, err := a.settings(ctx, h.PracticeID)
	if err != nil {
		a.log.WarnContext(ctx, "after-hours acknowledgement skipped: practice settings unavailable", "practiceId", h.PracticeID, "error", err)
		return
	}
	ack, window := acknowledgement(s, a.newID(msg.CreatedAt.Add(time.Millisecond)), *h, msg.CreatedAt, h.AckedWindow)
	if ack == nil {
		return
	}
	w.Ack, w.AckWindow = ack, window
	if conv != nil {
		conv.MessageCount++
		conv.AckedWindow = &window
	}
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
	return a.changeHeader(ctx, c, patientID, authz.Extra{ConversationID: convID}, 0, func(g *authz.Grant, rec audit.Record) (domain.Conversation, *audit.Record, error) {
		side := c.Principal.Side
		return g.Conversation.MarkedRead(side, c.At), &rec, a.repo.MarkRead(ctx, *g.Conversation, side, c.At, rec)
	})
}

// ManageRequest is a staff change to a conversation.
type ManageRequest struct {
	PatientID, ConversationID string
	Status                    *domain.Status
	// AssigneeID assigns the conversation; "" clears the assignment. A
	// staff member claiming a conversation someone else holds must say
	// TakeOver.
	AssigneeID *string
	TakeOver   bool
	// PoolID reroutes the conversation to another pool, for Reason.
	PoolID string
	Reason string
	// Awaiting is "none" (no reply needed) or "staff" (needs reply).
	Awaiting *domain.Awaiting
	// Version, when non-zero, must match the conversation's current version.
	Version int
}

// MaxReasonLen bounds a reroute's reason, in characters.
const MaxReasonLen = 500

func (in ManageRequest) validate() error {
	if in.Status == nil && in.AssigneeID == nil && in.PoolID == "" && in.Awaiting == nil {
		return domain.Invalid("status", "give status, assigneeId, poolId or awaiting")
	}
	if in.Status != nil && *in.Status != domain.StatusOpen && *in.Status != domain.StatusClosed {
		return domain.Invalid("status", "status must be open or closed")
	}
	if in.Awaiting != nil && *in.Awaiting != domain.AwaitingNone && *in.Awaiting != domain.AwaitingStaff {
		return domain.Invalid("awaiting", `awaiting must be "none" (no reply needed) or "staff" (needs reply)`)
	}
	if in.Awaiting != nil && in.Status != nil {
		return domain.Invalid("awaiting", "give status or awaiting, not both")
	}
	if in.PoolID == "" && in.Reason != "" {
		return domain.Invalid("reason", "a reason goes with a reroute (poolId)")
	}
	if in.PoolID != "" && strings.TrimSpace(in.Reason) == "" {
		return domain.Invalid("reason", "say why the conversation moves to another pool")
	}
	if in.PoolID != "" {
		// The reason stays in the append-only log for good: the same text
		// rules as a message.
		if err := domain.ValidateText("reason", in.Reason, MaxReasonLen); err != nil {
			return err
		}
	}
	if in.PoolID != "" && in.AssigneeID != nil && *in.AssigneeID != "" {
		return domain.Invalid("assigneeId", "a reroute clears the assignment; assign after it")
	}
	return nil
}

// Manage lets staff close, reopen, assign or claim, reroute, and mark a
// conversation "no reply needed" or "needs reply". Each change commits
// with its history entries and its audit record. Errors: EInvalid,
// ENotFound, EConflict (version mismatch, or a claim on a conversation
// someone else holds).
func (a *App) Manage(ctx context.Context, c *Call, in ManageRequest) (*domain.Conversation, error) {
	c.begin(audit.UpdateConversation, in.PatientID, in.ConversationID)
	if err := in.validate(); err != nil {
		return nil, err
	}
	extra := authz.Extra{ConversationID: in.ConversationID, PoolID: in.PoolID}
	if in.AssigneeID != nil {
		extra.AssigneeID = *in.AssigneeID
	}
	return a.changeHeader(ctx, c, in.PatientID, extra, in.Version, func(g *authz.Grant, rec audit.Record) (domain.Conversation, *audit.Record, error) {
		conv := *g.Conversation
		ch := domain.Change{Status: in.Status, Awaiting: in.Awaiting, At: c.At}
		if in.Awaiting != nil && conv.Status != domain.StatusOpen {
			return conv, nil, domain.Errorf(domain.EConflict, "the conversation is closed; reopen it first")
		}
		if in.AssigneeID != nil {
			ch.Assignee = &domain.Party{}
			if s := g.Assignee; s != nil {
				ch.Assignee = &domain.Party{ID: s.ID, Name: s.DisplayName, Role: string(s.Role), Side: domain.SideStaff}
				rec.TargetID = s.ID
				if err := claimable(conv, s.ID, c.Principal.ID, in.TakeOver); err != nil {
					return conv, nil, err
				}
			}
		}
		if p := g.Pool; p != nil && p.ID != conv.Pool.ID {
			ch.Pool = &domain.PoolRef{ID: p.ID, Name: p.Name}
			rec.TargetID = p.ID
		}
		entries := domain.Events(conv, ch, g.Actor, strings.TrimSpace(in.Reason))
		for i := range entries {
			entries[i].ID = a.newID(c.At)
			rec.Events = append(rec.Events, string(entries[i].Kind)+":"+entries[i].ID)
		}
		return conv.Changed(ch), &rec, a.repo.ChangeConversation(ctx, conv, ch, entries, rec)
	})
}

// claimable refuses a staff member's claim of a conversation someone else
// holds, unless they say they take it over: 409 naming who holds it and
// since when, so the page can offer "take over".
func claimable(conv domain.Conversation, assigneeID, callerID string, takeOver bool) error {
	held := conv.Assignee
	if assigneeID != callerID || held == nil || held.ID == callerID || takeOver {
		return nil
	}
	ext := map[string]any{"assignee": held}
	msg := fmt.Sprintf("%s already took this conversation", held.Name)
	if at := conv.AssignedAt; at != nil {
		ext["assignedAt"] = at.UTC()
		msg = fmt.Sprintf("%s took this conversation at %s", held.Name, at.UTC().Format(time.RFC3339))
	}
	return &domain.Error{Code: domain.EConflict, Message: msg + `; send "takeOver": true to take it over`, Field: "assigneeId", Extensions: ext}
}

// NoteRequest is an internal note on a conversation.
type NoteRequest struct {
	PatientID, ConversationID string
	Text                      string
}

// AddNote stores a staff-only note in the conversation's log, with its
// audit record in the same transaction. Notes live apart from the chain:
// no portal read or notification can return them. Errors: EInvalid,
// ENotFound, EForbidden (portal callers).
func (a *App) AddNote(ctx context.Context, c *Call, in NoteRequest) (*domain.Entry, error) {
	c.begin(audit.AddNote, in.PatientID, in.ConversationID)
	if c.Principal.Side != domain.SideStaff {
		return nil, domain.Errorf(domain.EForbidden, "staff only")
	}
	if err := domain.ValidateText("text", in.Text, domain.BodyMax); err != nil {
		return nil, err
	}
	g, err := a.grant(ctx, c, in.PatientID, authz.Extra{ConversationID: in.ConversationID})
	if err != nil {
		return nil, err
	}
	e := domain.Entry{ID: a.newID(c.At), ConversationID: in.ConversationID, PatientID: in.PatientID, Kind: domain.EventNote, By: g.Actor, At: c.At, Text: in.Text}
	rec := c.record(audit.Success, 201)
	rec.Events = []string{string(e.Kind) + ":" + e.ID}
	err = a.repo.AddNote(ctx, e, rec)
	a.committed(ctx, c, rec, err)
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// ReadWorklog returns one page of a conversation's staff-only log (notes
// and events), oldest first. Errors: ENotFound, EForbidden (portal
// callers).
func (a *App) ReadWorklog(ctx context.Context, c *Call, patientID, convID string, limit int, start map[string]string) (Page[domain.Entry], error) {
	c.begin(audit.ReadWorklog, patientID, convID)
	if c.Principal.Side != domain.SideStaff {
		return Page[domain.Entry]{}, domain.Errorf(domain.EForbidden, "staff only")
	}
	if !domain.ValidConversationID(convID) {
		return Page[domain.Entry]{}, domain.ErrNotFound
	}
	page, g, err := readPatient(ctx, a, c, patientID, authz.Extra{ConversationID: convID}, false, func(ctx context.Context, _ []domain.Audience) (Page[domain.Entry], error) {
		return a.repo.Worklog(ctx, patientID, convID, limit, start)
	})
	if err != nil {
		return page, err
	}
	if start == nil && g.Conversation != nil {
		// The log starts with the conversation's creation, from its header.
		h := g.Conversation
		created := domain.Entry{ConversationID: h.ID, PatientID: h.Patient.ID, Kind: domain.EventCreated, By: h.StartedBy, At: h.CreatedAt}
		page.Items = append([]domain.Entry{created}, page.Items...)
	}
	return page, nil
}

// changeHeader reads access and the header in one round trip, then commits
// change conditional on the header's version with the audit record in one
// transaction. A concurrent write retries from the read, unless the
// caller named the version it saw (ifVersion), which then answers 409.
func (a *App) changeHeader(ctx context.Context, c *Call, patientID string, extra authz.Extra, ifVersion int, change func(*authz.Grant, audit.Record) (domain.Conversation, *audit.Record, error)) (*domain.Conversation, error) {
	for attempt := 1; ; attempt++ {
		g, err := a.grant(ctx, c, patientID, extra)
		if err != nil {
			return nil, err
		}
		if ifVersion != 0 && g.Conversation.Version != ifVersion {
			return nil, domain.ErrStale
		}
		after, rec, err := change(g, c.record(audit.Success, 200))
		if err == nil {
			c.recorded = true
			return &after, nil
		}
		if rec == nil {
			return nil, err // refused before anything was written
		}
		if !errors.Is(err, domain.ErrStale) || ifVersion != 0 || attempt == staleRetries {
			a.committed(ctx, c, *rec, err)
			return nil, err
		}
	}
}

// grant reads and decides access to a patient (one round trip) and notes
// the role used.
func (a *App) grant(ctx context.Context, c *Call, patientID string, extra authz.Extra) (*authz.Grant, error) {
	g, _, err, _ := grantAlongside(ctx, a, c, patientID, extra, func(context.Context, []domain.Audience) (struct{}, error) { return struct{}{}, nil })
	return g, err
}

// grantAlongside is grant with data read concurrently with the access
// read, naming the audiences authz.PreAudiences allows before the
// decision; when the grant reaches other audiences, the data is read again
// with exactly those, so what it returns is always the grant's. err is the
// access error, dataErr the data's.
func grantAlongside[T any](ctx context.Context, a *App, c *Call, patientID string, extra authz.Extra, data func(context.Context, []domain.Audience) (T, error)) (g *authz.Grant, val T, err, dataErr error) {
	q, err := authz.PatientQuery(c.Principal, patientID, extra)
	if err != nil {
		return nil, val, err, nil
	}
	pre := a.preAudiences(c.Principal, patientID)
	q.Reach(pre)
	f, val, err, dataErr := both(ctx, func(ctx context.Context) (*authz.Facts, error) { return a.repo.LoadAccess(ctx, q) },
		func(ctx context.Context) (T, error) { return data(ctx, pre) })
	if err != nil {
		return nil, val, err, dataErr
	}
	if g, err = a.decide(ctx, c, patientID, extra, f); err != nil {
		return nil, val, err, dataErr
	}
	if !slices.Equal(g.Audiences, pre) {
		// The decision reaches other audiences than the data read could
		// name (the patient's own account, on its first request here):
		// read again, naming exactly those.
		val, dataErr = data(ctx, g.Audiences)
	}
	return g, val, nil, dataErr
}

// decide decides access from the facts f of the access read.
func (a *App) decide(ctx context.Context, c *Call, patientID string, extra authz.Extra, f *authz.Facts) (*authz.Grant, error) {
	c.read(f)
	g, err := authz.DecidePatient(c.Principal, patientID, extra, f)
	a.rememberAccount(c.Principal, patientID, g)
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
	if g.ConversationPending {
		// The patient's own account: the header may be confidential, which
		// the first read could not name. One more round trip, for their
		// first request to this container only.
		if err := a.admitConfidential(ctx, g, extra.ConversationID); err != nil {
			c.granted(g)
			return nil, err
		}
	}
	c.granted(g)
	return g, nil
}

func (a *App) admitConfidential(ctx context.Context, g *authz.Grant, convID string) error {
	q, err := authz.ConfidentialQuery(g, convID)
	if err != nil {
		return err
	}
	f, err := a.repo.LoadAccess(ctx, q)
	if err != nil {
		return err
	}
	return g.Admit(f.Conversation)
}
