// Package app is the application core: every operation of the product
// (start a conversation, reply, list, read, mark read, manage, link and
// unlink, the inbox and the directory reads) and the rules that build a
// conversation, and a portal user's notification preferences, one-click
// unsubscribe included. It decides access through package authz, commits each
// change with its audit record in one transaction, and releases data only
// after its audit record is stored. It knows nothing of HTTP or DynamoDB:
// the repository and the audit writer are the narrow interfaces below,
// which package store implements and tests fake.
//
// Each method's doc comment names the error codes it returns (package
// domain); every method may also return EUnavailable or EThrottled when a
// dependency fails.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/linktoken"
)

// ChartReader reads conversations and messages. A patient's reads name the
// audiences whose partitions they may touch: a guardian's never name the
// confidential one.
type ChartReader interface {
	Conversations(ctx context.Context, patientID string, auds []domain.Audience, f ConversationFilter, limit int, start map[string]string) (Page[domain.Conversation], error)
	// ChartConversations is Conversations with no filter, for the
	// download: a method of its own, so that export-chart links no filter
	// code.
	ChartConversations(ctx context.Context, patientID string, auds []domain.Audience, limit int, start map[string]string) (Page[domain.Conversation], error)
	Chain(ctx context.Context, patientID string, auds []domain.Audience, convID string, limit int, start map[string]string) (*domain.Conversation, Page[domain.Message], error)
	Inbox(ctx context.Context, practiceID string, f ConversationFilter, limit int, start map[string]string) (Page[domain.Conversation], error)
	OpenSummary(ctx context.Context, practiceID, staffID string) (Summary, error)
	NewsReader
}

// ChartWriter commits changes to the chart, each with its audit record in
// the same transaction.
type ChartWriter interface {
	CreateConversation(ctx context.Context, c domain.Conversation, m domain.Message, w Write) (Written, error)
	AppendMessage(ctx context.Context, m domain.Message, w Write) (Written, error)
	Replay(ctx context.Context, patientID string, w Written) (*domain.Conversation, *domain.Message, error)
	MarkRead(ctx context.Context, c domain.Conversation, side domain.Side, at time.Time, rec audit.Record) error
	ChangeConversation(ctx context.Context, c domain.Conversation, ch domain.Change, entries []domain.Entry, rec audit.Record) error
	AddNote(ctx context.Context, e domain.Entry, rec audit.Record) error
}

// WorklogReader reads a conversation's staff-only notes and events.
type WorklogReader interface {
	Worklog(ctx context.Context, patientID, convID string, limit int, start map[string]string) (Page[domain.Entry], error)
}

// DirectoryReader reads the practice directory.
type DirectoryReader interface {
	PortalUserLinks(ctx context.Context, portalUserID string) ([]domain.Link, error)
	PatientLinks(ctx context.Context, patientID string) ([]domain.Link, error)
	Pools(ctx context.Context, practiceID string) ([]domain.Pool, error)
	StaffMembers(ctx context.Context, practiceID string) ([]domain.StaffMember, error)
	SearchPatients(ctx context.Context, practiceID string, q domain.SearchQuery, limit int) ([]domain.Patient, error)
	// SearchPortalUsers returns the IDs of a practice's portal users that
	// match q; PortalUsers reads accounts by ID (missing ones left out).
	SearchPortalUsers(ctx context.Context, practiceID string, q domain.SearchQuery, limit int) ([]string, error)
	PortalUsers(ctx context.Context, ids []string) ([]domain.PortalUser, error)
}

// LinkWriter changes who may act for a patient, each change with its
// audit record in the same transaction.
type LinkWriter interface {
	PutLink(ctx context.Context, practiceID string, l domain.Link, rec audit.Record) error
	DeleteLink(ctx context.Context, patientID, portalUserID string, rec audit.Record) error
}

// Repository is everything the operations read and write. A function gets
// only the tables its operations need (package compose), so a method it
// should never call fails there rather than silently work.
type Repository interface {
	authz.Loader
	ChartReader
	ChartWriter
	ChartMover
	WorklogReader
	DirectoryReader
	LinkWriter
	PreferenceWriter
	SettingsReader
	TemplateRepository
}

// App runs the operations.
type App struct {
	repo  Repository
	audit audit.Writer
	log   *slog.Logger
	now   func() time.Time
	newID func(time.Time) string
	// links verifies one-click unsubscribe links; nil in functions that
	// serve none.
	links *linktoken.Signer
	// dailyLimit caps the messages one portal user writes about one
	// patient in a day.
	dailyLimit int
	// exportBudget bounds one part of a download (ExportBudget).
	exportBudget int
	// files and blobs serve attachments; nil in functions that serve none.
	files AttachmentRepository
	blobs Blobs

	// practices remembers which practice a staff member belongs to. A staff
	// record never changes practice (the directory refuses it), so this
	// only chooses which partition to read alongside the access read; the
	// decision always comes from the fresh directory record.
	practices sync.Map
	// ownAccounts remembers the portal callers last decided to be the
	// patient they act on (principal and patient ID), so that their next
	// read names the confidential partition alongside the access read
	// instead of after it. It grants nothing: every request decides from
	// the fresh link, and data of an audience the decision does not grant
	// is read again without it. A guardian's account is never in it.
	ownAccounts sync.Map
	ownStores   atomic.Int64 // stores since ownAccounts was last cleared
	// linkedPatients remembers the patients linked to a portal user on
	// their last summary, so a poll reads their news beside the links; the
	// fresh links decide what goes out.
	linkedPatients sync.Map
	// practiceSettings caches office hours and response targets (they
	// grant nothing) for the family's status lines.
	practiceSettings settingsCache
}

// preAudiences are the audiences a read of patientID may name before the
// access decision (authz.PreAudiences).
func (a *App) preAudiences(p authz.Principal, patientID string) []domain.Audience {
	_, was := a.ownAccounts.Load(p.ID + "\x00" + patientID)
	return authz.PreAudiences(p, was && p.Side == domain.SidePortal)
}

// rememberAccount notes whether the decision g found the portal caller to
// be the patient; a nil g (access refused) forgets it. The memory is
// cleared now and then so that it stays small: forgetting costs a teen one
// round trip, nothing more.
func (a *App) rememberAccount(p authz.Principal, patientID string, g *authz.Grant) {
	if p.Side != domain.SidePortal {
		return
	}
	k := p.ID + "\x00" + patientID
	if g == nil || !g.Sees(domain.AudienceConfidential) {
		a.ownAccounts.Delete(k)
		return
	}
	if a.ownStores.Add(1) > maxOwnAccounts {
		a.ownAccounts.Clear()
		a.ownStores.Store(0)
	}
	a.ownAccounts.Store(k, true)
}

// maxOwnAccounts bounds ownAccounts: a container serves far fewer teens.
const maxOwnAccounts = 10_000

// DefaultDailyWriteLimit is generous for a worried parent and small next to
// what would flood a chart.
const DefaultDailyWriteLimit = 50

// Options configures New. Zero values are production defaults.
type Options struct {
	Log             *slog.Logger
	Now             func() time.Time
	DailyWriteLimit int
	// ExportBudget bounds one part of a download (0: ExportBudget); tests
	// make it small to see a chart in parts.
	ExportBudget int
	// Links verifies the signed links of e-mails (Unsubscribe); nil
	// where no operation needs it.
	Links *linktoken.Signer
	// Attachments and Blobs serve uploaded files; nil where no operation
	// needs them.
	Attachments AttachmentRepository
	Blobs       Blobs
}

// New returns the application over repo and w.
func New(repo Repository, w audit.Writer, o Options) *App {
	a := &App{repo: repo, audit: w, log: o.Log, now: o.Now, dailyLimit: o.DailyWriteLimit, exportBudget: o.ExportBudget, links: o.Links, files: o.Attachments, blobs: o.Blobs}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.dailyLimit == 0 {
		a.dailyLimit = DefaultDailyWriteLimit
	}
	if a.exportBudget == 0 {
		a.exportBudget = ExportBudget
	}
	a.newID = func(t time.Time) string { return ulid.MustNew(ulid.Timestamp(t), ulid.DefaultEntropy()).String() }
	return a
}

// Call is one request in flight: who asks, and the audit record the
// operation builds as it learns more.
type Call struct {
	Principal authz.Principal
	RequestID string
	SourceIP  string
	At        time.Time

	// rec is the record of the attempt. Its patient and conversation are
	// set only once access to them was decided (granted, found), so that a
	// record never names, or is filed under, an ID nobody checked.
	rec audit.Record
	// wantPatient and wantConversation are what the request names.
	wantPatient, wantConversation string
	// recorded is set once the operation stored its records, with its
	// change or before releasing its data.
	recorded bool
}

// NewCall starts a call for p.
func (a *App) NewCall(p authz.Principal, requestID, sourceIP string) *Call {
	at := a.now().UTC()
	return &Call{Principal: p, RequestID: requestID, SourceIP: sourceIP, At: at, rec: audit.Record{
		At: at, ActorID: p.ID, ActorSide: string(p.Side), ActorRole: string(p.Side), RequestID: requestID, SourceIP: sourceIP,
	}}
}

// begin names what the call is about; it is audited from here on.
func (c *Call) begin(action audit.Action, patientID, conversationID string) {
	c.rec.Action, c.wantPatient, c.wantConversation = action, patientID, conversationID
}

// read notes what the access read found: a staff member's role is the
// directory's, whether or not access is then granted.
func (c *Call) read(f *authz.Facts) {
	if f != nil && f.Staff != nil && c.Principal.Side == domain.SideStaff {
		c.rec.ActorRole = string(f.Staff.Role)
	}
}

// granted notes the decided access: the patient, the role the decision
// used, and the conversation when the access read found it.
func (c *Call) granted(g *authz.Grant) {
	c.rec.ActorRole, c.rec.PatientID = g.Actor.Role, c.wantPatient
	if g.Conversation != nil {
		c.found()
	}
}

// found notes that the conversation the request names exists under the
// granted patient.
func (c *Call) found() {
	if c.rec.PatientID != "" {
		c.rec.ConversationID = c.wantConversation
	}
}

// record returns the call's record with outcome and status.
func (c *Call) record(o audit.Outcome, status int) audit.Record {
	r := c.rec
	r.Outcome, r.Status = o, status
	return r
}

// Finish audits a call that ended without storing its records: denied,
// refused or failed (a panic included), with the HTTP status it got. An
// attempt whose patient was never granted is filed under its actor, with
// the IDs it asked for apart, so that nobody can write into a chart, or
// create a trail for an ID, by asking for it. A record that fails to store
// is logged whole (IDs only) so that no attempt is invisible. Content-free
// operations leave no record.
func (a *App) Finish(ctx context.Context, c *Call, status int) {
	if c.recorded || c.rec.Action == "" {
		return
	}
	c.recorded = true
	outcome := audit.Failed
	switch {
	case status == 404 || status == 403:
		outcome = audit.Denied
	case status < 500 && status != 429:
		outcome = audit.Rejected
	}
	r := c.record(outcome, status)
	if r.PatientID == "" {
		r.RequestedPatientID = c.wantPatient
	}
	if r.ConversationID == "" {
		r.RequestedConversationID = c.wantConversation
	}
	// The request's own deadline may be what failed: give the record a
	// moment of its own, not forever.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finishTimeout)
	defer cancel()
	a.store(ctx, r)
}

// finishTimeout bounds the audit write of a failed attempt.
const finishTimeout = time.Second

// store appends records that commit with no change, logging each one that
// could not be stored. It returns the error so reads can fail closed.
func (a *App) store(ctx context.Context, recs ...audit.Record) error {
	if len(recs) == 0 {
		return nil
	}
	err := a.audit.AppendAudit(ctx, recs...)
	if err != nil {
		for _, r := range recs {
			a.logLost(ctx, r, err)
		}
	}
	return err
}

// logLost writes an audit record that could not be stored to the log, so
// that it can be recovered from there. It holds IDs only. For a change,
// the record is the one its transaction carried: the change did not
// commit (or its outcome is unknown), whatever the record's outcome says.
func (a *App) logLost(ctx context.Context, r audit.Record, err error) {
	a.log.ErrorContext(ctx, "audit write failed", "error", err, slog.Group("audit",
		"patientId", r.PatientID, "at", r.At, "actorId", r.ActorID, "actorSide", r.ActorSide, "actorRole", r.ActorRole,
		"action", string(r.Action), "conversationId", r.ConversationID, "messageId", r.MessageID, "targetId", r.TargetID,
		"requestedPatientId", r.RequestedPatientID, "requestedConversationId", r.RequestedConversationID,
		"outcome", string(r.Outcome), "status", r.Status, "requestId", r.RequestID, "sourceIp", r.SourceIP,
		"recipientId", r.RecipientID, "channel", r.Channel, "events", r.Events, "disclosed", r.Disclosed))
}

// committed notes that rec was stored with the change, or logs it whole
// when the transaction that carried it failed.
func (a *App) committed(ctx context.Context, c *Call, rec audit.Record, err error) {
	if err == nil {
		c.recorded = true
		return
	}
	// A refusal (not found, conflict, the daily limit) wrote nothing and is
	// audited by Finish; a failure may have lost the record with the change.
	code := domain.ErrorCode(err)
	if code == domain.EUnavailable || code == domain.EInternal || (code == domain.EThrottled && !errors.Is(err, domain.ErrDailyLimit)) {
		a.logLost(ctx, rec, err)
	}
}

// release stores the success records of a read before its data goes out.
// Errors: EUnavailable when the audit table cannot take them.
func (a *App) release(ctx context.Context, c *Call, recs ...audit.Record) error {
	if err := a.store(ctx, recs...); err != nil {
		// Fail closed: no data without its record. The attempt itself is
		// then recorded as failed, if the table takes that.
		return domain.Unavailable(err)
	}
	c.recorded = true
	return nil
}

// both runs the access read and the data read concurrently, so a read
// costs one round trip before its audit record. The data is returned only
// when decide allows; a denied request discards what it read.
func both[T any](ctx context.Context, access func(context.Context) (*authz.Facts, error), data func(context.Context) (T, error)) (*authz.Facts, T, error, error) {
	var (
		facts   *authz.Facts
		val     T
		accErr  error
		dataErr error
		wg      sync.WaitGroup
	)
	wg.Go(func() {
		defer recovered(&accErr)
		facts, accErr = access(ctx)
	})
	// The data read runs on the request's own goroutine: one goroutine
	// fewer to start and wake per read.
	func() {
		defer recovered(&dataErr)
		val, dataErr = data(ctx)
	}()
	wg.Wait()
	return facts, val, accErr, dataErr
}

// recovered turns a panic of a helper goroutine into an error, which the
// request then answers with 500 and audits, instead of crashing the
// process. Use it deferred.
func recovered(err *error) {
	if v := recover(); v != nil {
		*err = &domain.Error{Code: domain.EInternal, Err: fmt.Errorf("panic: %v", v)}
	}
}
