package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
)

// Audit record fields of a notification.
const (
	ActorID        = "notifier"
	ActorSide      = "system"
	ActorRole      = "notifier"
	ChannelEmail   = "email"
	ChannelSMS     = "sms"
	statusSent     = 200
	statusNotSent  = 503
	recipientTag   = "recipient"
	recipientKind  = "kind"
	maxPagesAFlush = 1000 // a backstop; paging ends long before
)

// Result counts what one Flush did with the pending notifications it saw.
type Result struct {
	// Sent: delivered on at least one channel.
	Sent int
	// Deferred: due in the practice's quiet hours, moved to their end.
	Deferred int
	// Skipped: removed with nothing to send: the family read the
	// conversation in the app, staff read every conversation of a digest,
	// the recipient is no longer linked or active, or has no usable
	// channel left (unsubscribed, bounced).
	Skipped int
	// Failed: every channel failed, or the item could not be handled (a
	// read failed, the practice's settings are unusable). The item stays
	// pending, deferred by RetryDelay, until its last message is
	// GiveUpAfter old; then it is removed (with the failed sends' audit
	// records, when there were sends).
	Failed int
}

// Flusher sends the pending notifications that are due.
//
// # Order: send, then Finish
//
// For each due item the flusher checks (read in the app? quiet hours?),
// sends, and only then calls Finish with audit records saying what
// actually happened on each channel. Finishing first would mean writing
// "sent" before knowing it, or removing the item before a send that may
// fail; sending first means a crash between the send and Finish sends the
// same notification again on the next flush. A duplicate "a message is
// waiting" is harmless; a lost one, or an audit trail that lies, is not.
//
// Finish is conditional on the item's version. When it reports false, a
// new message was added to the item while this flush was sending. That is
// fine: the family was told a message is waiting, and the newer message
// gets at most one more notification, from the next flush (never from the
// same one: an item is handled at most once per Flush). The records of
// the send that did happen are then appended through Config's audit
// writer (see NewFlusher), because Finish wrote nothing.
//
// Two flushes running at once could both send one version; run the
// flusher with a reserved concurrency of one (the schedule fires once a
// minute and a flush is short).
type Flusher struct {
	repo  Repository
	mail  Mailer
	text  Texter
	audit audit.Writer
	cfg   Config
}

// NewFlusher returns a Flusher. text may be nil when text messages are not
// set up: text is then no usable channel. cfg.Unsubscribe is required.
// The records of a send whose Finish lost a race (see Flusher) are
// appended with repo's AppendAudit when repo is also an audit.Writer (the
// store is); otherwise they are logged, IDs only, as lost.
func NewFlusher(repo Repository, mail Mailer, text Texter, cfg Config) *Flusher {
	f := &Flusher{repo: repo, mail: mail, text: text, cfg: cfg.withDefaults()}
	f.audit, _ = repo.(audit.Writer)
	return f
}

// flush is one Flush call's state.
type flush struct {
	now       time.Time
	res       Result
	seen      map[string]bool
	practices map[string]*domain.Practice
}

// Flush sends what is due now, page by page (PageSize), until a page comes
// back short. An item is handled at most once per call, so items that stay
// due (a Defer failed too) or came back with a new version end the loop
// instead of repeating. It returns an error only when listing due items fails or
// ctx ends; a failure of one item is counted in Result.Failed and logged.
func (f *Flusher) Flush(ctx context.Context) (Result, error) {
	if f.cfg.Unsubscribe == nil {
		return Result{}, errors.New("notify: Config.Unsubscribe is not set")
	}
	r := &flush{now: f.cfg.Now(), seen: map[string]bool{}, practices: map[string]*domain.Practice{}}
	for page := 0; page < maxPagesAFlush; page++ {
		due, err := f.repo.Due(ctx, r.now, PageSize)
		if err != nil {
			return r.res, fmt.Errorf("notify: due: %w", err)
		}
		fresh := 0
		for _, p := range due {
			k := pendingKey(p)
			if r.seen[k] {
				continue
			}
			r.seen[k] = true
			fresh++
			if err := ctx.Err(); err != nil {
				return r.res, err
			}
			f.one(ctx, r, p)
		}
		if len(due) < PageSize || fresh == 0 {
			break
		}
	}
	f.cfg.Log.InfoContext(ctx, "notify: flushed", "sent", r.res.Sent, "deferred", r.res.Deferred, "skipped", r.res.Skipped, "failed", r.res.Failed)
	return r.res, nil
}

func pendingKey(p Pending) string {
	return string(p.Recipient.Kind) + "\x00" + p.Recipient.ID + "\x00" + p.PatientID + "\x00" + p.ConversationID + "\x00" + strconv.FormatBool(p.Overdue)
}

func (f *Flusher) one(ctx context.Context, r *flush, p Pending) {
	log := f.cfg.Log.With("recipient", p.Recipient.ID, "practice", p.PracticeID)
	var err error
	if p.ConversationID == "" {
		err = f.digest(ctx, r, log, p)
	} else {
		log = log.With("patient", p.PatientID, "conversation", p.ConversationID)
		err = f.family(ctx, r, log, p)
	}
	if err == nil {
		return
	}
	// The item could not be handled (a read failed, the practice's
	// settings are unusable). It is retried like a failed send, and moved
	// out of the way meanwhile, so that one broken item (or a practice
	// with a bad portal URL) cannot hold up the rest of the queue.
	r.res.Failed++
	if r.now.Sub(p.LastAt) >= f.cfg.GiveUpAfter {
		ok, ferr := f.repo.Finish(ctx, p, nil)
		log.ErrorContext(ctx, "notify: pending notification failed; gave up, nothing sent", "err", err, "finished", ok, "finish_err", ferr)
		return
	}
	until := r.now.Add(f.cfg.RetryDelay)
	if derr := f.repo.Defer(ctx, p, until); derr != nil {
		log.ErrorContext(ctx, "notify: pending notification failed; it stays due", "err", err, "defer_err", derr)
		return
	}
	log.ErrorContext(ctx, "notify: pending notification failed; retrying", "err", err, "retry_at", until.UTC())
}

// family handles a notification to a portal user about one conversation.
func (f *Flusher) family(ctx context.Context, r *flush, log *slog.Logger, p Pending) error {
	h, err := f.repo.Conversation(ctx, p.PatientID, p.ConversationID)
	if err != nil {
		return fmt.Errorf("conversation: %w", err)
	}
	if h == nil {
		return f.skip(ctx, r, log, p, "conversation not found")
	}
	if h.PortalReadAt != nil && !h.PortalReadAt.Before(p.LastAt) {
		return f.skip(ctx, r, log, p, "read in the app")
	}
	// The recipient as it is now, not as it was when the message came:
	// an unlink, an unsubscribe, a bounce or a move of the conversation to
	// the care team only since then takes effect.
	rcpt, err := f.familyRecipient(ctx, p, h.Audience)
	if err != nil {
		return err
	}
	if rcpt == nil {
		return f.skip(ctx, r, log, p, "no longer linked")
	}
	email, text := rcpt.CanEmail(), rcpt.CanText() && f.text != nil
	if !email && !text {
		return f.skip(ctx, r, log, p, "no usable channel")
	}
	practiceID := p.PracticeID
	if practiceID == "" {
		practiceID = h.PracticeID
	}
	pr, err := r.practice(ctx, f.repo, practiceID)
	if err != nil {
		return err
	}
	loc, err := Zone(*pr)
	if err != nil {
		return err
	}
	if until, quiet := QuietUntil(r.now, loc, f.cfg.QuietStart, f.cfg.QuietEnd); quiet {
		if err := f.repo.Defer(ctx, p, until); err != nil {
			return fmt.Errorf("defer: %w", err)
		}
		r.res.Deferred++
		log.InfoContext(ctx, "notify: quiet hours; deferred", "until", until.UTC())
		return nil
	}
	link, err := FamilyLink(*pr, p.PatientID, p.ConversationID)
	if err != nil {
		return err
	}

	reqID := f.cfg.NewID(r.now)
	log = log.With("request_id", reqID)
	var recs []audit.Record
	var errs []error
	note := func(channel string, err error) {
		recs = append(recs, f.record(p.PatientID, p.ConversationID, rcpt.ID, channel, reqID, err))
		errs = append(errs, err)
		if err != nil {
			log.WarnContext(ctx, "notify: send failed", "channel", channel, "err", errClass(err))
		}
	}
	if email {
		note(ChannelEmail, f.sendFamilyEmail(ctx, *pr, *rcpt, link))
	}
	if text {
		note(ChannelSMS, f.sendText(ctx, *pr, *rcpt, link))
	}
	return f.finish(ctx, r, log, p, recs, errs)
}

func (f *Flusher) sendFamilyEmail(ctx context.Context, pr domain.Practice, rcpt Recipient, link string) error {
	unsub := f.cfg.Unsubscribe(rcpt)
	if unsub == "" {
		return errNoUnsubscribe // RFC 8058: never send without one
	}
	settings, err := SettingsLink(pr)
	if err != nil {
		return err
	}
	e, err := FamilyEmail(pr.Name, link, settings, unsub)
	if err != nil {
		return err
	}
	e.To = rcpt.Email
	e.Tags = map[string]string{recipientTag: rcpt.ID, recipientKind: string(Family)}
	return f.mail.SendEmail(ctx, e)
}

func (f *Flusher) sendText(ctx context.Context, pr domain.Practice, rcpt Recipient, link string) error {
	body, err := FamilyText(pr.Name, link)
	if err != nil {
		return err
	}
	return f.text.SendText(ctx, Text{To: rcpt.Phone, Body: body})
}

// familyRecipient finds p's portal user among the patient's current
// family; nil when the link is gone.
func (f *Flusher) familyRecipient(ctx context.Context, p Pending, a domain.Audience) (*Recipient, error) {
	rs, err := f.repo.FamilyRecipients(ctx, p.PatientID)
	if err != nil {
		return nil, fmt.Errorf("family: %w", err)
	}
	for _, x := range Audience(a, rs) {
		if x.ID == p.Recipient.ID {
			x.Kind = Family
			return &x, nil
		}
	}
	return nil, nil
}

// digest handles a staff member's digest: one e-mail for every
// conversation in it that staff have not read since.
func (f *Flusher) digest(ctx context.Context, r *flush, log *slog.Logger, p Pending) error {
	rcpt, err := f.repo.StaffRecipient(ctx, p.Recipient.ID)
	if err != nil {
		return fmt.Errorf("staff: %w", err)
	}
	if rcpt == nil {
		return f.skip(ctx, r, log, p, "staff member gone or inactive")
	}
	rcpt.Kind = Staff
	if !rcpt.CanEmail() {
		return f.skip(ctx, r, log, p, "no usable address")
	}
	// Only conversations still waiting for staff: one a colleague already
	// read is no news, and an overdue alert only of those still unanswered
	// and overdue. A header of another practice is never counted.
	var live []ConversationRef
	seen := map[ConversationRef]bool{}
	for _, c := range p.Conversations {
		if seen[c] {
			continue
		}
		seen[c] = true
		h, err := f.repo.Conversation(ctx, c.PatientID, c.ConversationID)
		if err != nil {
			return fmt.Errorf("conversation %s: %w", c.ConversationID, err)
		}
		if h == nil || h.PracticeID != p.PracticeID {
			continue
		}
		if p.Overdue && h.Awaiting == domain.AwaitingStaff && h.OverdueAt != nil || !p.Overdue && h.StaffUnread > 0 {
			live = append(live, c)
		}
	}
	if len(live) == 0 {
		return f.skip(ctx, r, log, p, "read in the inbox")
	}
	pr, err := r.practice(ctx, f.repo, p.PracticeID)
	if err != nil {
		return err
	}
	link, err := StaffLink(*pr)
	if err != nil {
		return err
	}
	reqID := f.cfg.NewID(r.now)
	log = log.With("request_id", reqID)
	e, err := StaffEmail(pr.Name, link, len(live), p.Overdue)
	if err == nil {
		e.To = rcpt.Email
		e.Tags = map[string]string{recipientTag: rcpt.ID, recipientKind: string(Staff)}
		err = f.mail.SendEmail(ctx, e)
	}
	if err != nil {
		log.WarnContext(ctx, "notify: send failed", "channel", ChannelEmail, "err", errClass(err))
	}
	// One record per patient the digest was about; the conversation is
	// named when it is that patient's only one in the digest.
	var recs []audit.Record
	byPatient := map[string][]string{}
	var order []string
	for _, c := range live {
		if byPatient[c.PatientID] == nil {
			order = append(order, c.PatientID)
		}
		byPatient[c.PatientID] = append(byPatient[c.PatientID], c.ConversationID)
	}
	for _, pid := range order {
		conv := ""
		if cs := byPatient[pid]; len(cs) == 1 {
			conv = cs[0]
		}
		recs = append(recs, f.record(pid, conv, rcpt.ID, ChannelEmail, reqID, err))
	}
	return f.finish(ctx, r, log, p, recs, []error{err})
}

// finish ends p after its sends, whose outcomes recs hold (errs are the
// sends' errors, one per channel tried). When at least one channel worked,
// p is finished with recs. When every channel failed, p stays pending and
// is retried after RetryDelay (deferred, so the rest of the queue is not
// stuck behind it) until its last message is older than GiveUpAfter, or at
// once when every error is permanent (see Permanent): then it is finished
// with the failed records.
func (f *Flusher) finish(ctx context.Context, r *flush, log *slog.Logger, p Pending, recs []audit.Record, errs []error) error {
	sent, permanent := false, len(errs) > 0
	for _, rec := range recs {
		sent = sent || rec.Outcome == audit.Success
	}
	for _, err := range errs {
		permanent = permanent && err != nil && Permanent(err)
	}
	if !sent {
		r.res.Failed++
		if !permanent && r.now.Sub(p.LastAt) < f.cfg.GiveUpAfter {
			until := r.now.Add(f.cfg.RetryDelay)
			if err := f.repo.Defer(ctx, p, until); err != nil {
				log.ErrorContext(ctx, "notify: every channel failed and the retry could not be scheduled; it stays due", "err", err)
				return nil
			}
			log.WarnContext(ctx, "notify: every channel failed; retrying", "retry_at", until.UTC())
			return nil
		}
		ok, err := f.repo.Finish(ctx, p, recs)
		if err != nil {
			log.ErrorContext(ctx, "notify: giving up failed too; it stays due", "err", err)
			return nil
		}
		log.ErrorContext(ctx, "notify: every channel failed; gave up", "permanent", permanent, "finished", ok)
		return nil
	}
	r.res.Sent++
	ok, err := f.repo.Finish(ctx, p, recs)
	switch {
	case err != nil:
		// The item stays and the next flush sends again: a duplicate
		// notification, but the record of this send must not be lost.
		log.ErrorContext(ctx, "notify: sent, but finishing failed; the next flush may send again", "err", err)
		f.appendLate(ctx, log, recs)
	case !ok:
		log.InfoContext(ctx, "notify: sent; a newer message arrived meanwhile and is notified by the next flush")
		f.appendLate(ctx, log, recs)
	default:
		log.InfoContext(ctx, "notify: sent", "channels", len(recs))
	}
	return nil
}

// appendLate stores the records of a send that Finish did not store.
func (f *Flusher) appendLate(ctx context.Context, log *slog.Logger, recs []audit.Record) {
	if f.audit == nil {
		log.ErrorContext(ctx, "notify: audit records of a sent notification not stored: no audit writer")
		return
	}
	if err := f.audit.AppendAudit(ctx, recs...); err != nil {
		log.ErrorContext(ctx, "notify: audit records of a sent notification not stored", "err", err)
	}
}

// skip finishes p with nothing sent and no record: nothing left the
// system, so there is nothing to audit.
func (f *Flusher) skip(ctx context.Context, r *flush, log *slog.Logger, p Pending, why string) error {
	ok, err := f.repo.Finish(ctx, p, nil)
	if err != nil {
		return fmt.Errorf("finish: %w", err)
	}
	if ok {
		r.res.Skipped++
		log.InfoContext(ctx, "notify: nothing to send", "why", why)
	}
	// !ok: a new message arrived; the next flush looks again.
	return nil
}

func (f *Flusher) record(patientID, convID, recipientID, channel, reqID string, err error) audit.Record {
	rec := audit.Record{
		PatientID:      patientID,
		At:             f.cfg.Now(),
		ActorID:        ActorID,
		ActorSide:      ActorSide,
		ActorRole:      ActorRole,
		Action:         audit.Notify,
		ConversationID: convID,
		Outcome:        audit.Success,
		Status:         statusSent,
		RequestID:      reqID,
		RecipientID:    recipientID,
		Channel:        channel,
	}
	if err != nil {
		rec.Outcome, rec.Status = audit.Failed, statusNotSent
	}
	return rec
}

func (r *flush) practice(ctx context.Context, repo Repository, id string) (*domain.Practice, error) {
	if p, ok := r.practices[id]; ok {
		return p, nil
	}
	p, err := repo.Practice(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("practice %s: %w", id, err)
	}
	if p == nil {
		return nil, fmt.Errorf("practice %s: not found", id)
	}
	r.practices[id] = p
	return p, nil
}

// Permanent reports whether a send error says that retrying can never
// work for this recipient on this channel (an opted-out number, a refused
// address, a malformed request): err, or an error it wraps, has a method
// Permanent() bool that returns true. A Mailer or Texter opts in by giving
// its errors that method; every other error counts as transient, so the
// notification is retried until GiveUpAfter. A misconfigured account is
// not permanent: it is fixed, and the retries then deliver.
func Permanent(err error) bool {
	var p interface{ Permanent() bool }
	return errors.As(err, &p) && p.Permanent()
}

// errNoUnsubscribe fails a family e-mail whose unsubscribe URL is empty.
var errNoUnsubscribe = codedError("NoUnsubscribeURL")

// codedError is an error that is its own code.
type codedError string

func (e codedError) Error() string     { return string(e) }
func (e codedError) ErrorCode() string { return string(e) }

// errClass names a send error without its message: the providers' messages
// may quote the address ("the following identities failed the check:
// parent@example.com"), and logs carry IDs only.
func errClass(err error) string {
	var coded interface{ ErrorCode() string }
	switch {
	case errors.As(err, &coded):
		return coded.ErrorCode()
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline exceeded"
	}
	return fmt.Sprintf("%T", err)
}
