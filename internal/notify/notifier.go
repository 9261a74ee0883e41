package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/domain"
)

// Notifier turns new messages from the Messages table's stream into
// pending notifications. It sends nothing itself: the Flusher does, when
// the window closes.
type Notifier struct {
	repo Repository
	cfg  Config
}

// NewNotifier returns a Notifier. cfg.Decode is required.
func NewNotifier(repo Repository, cfg Config) *Notifier {
	return &Notifier{repo: repo, cfg: cfg.withDefaults()}
}

// HandleStream handles one batch of the event source mapping. Each INSERT
// of a message becomes AddPending calls; every other record is skipped. A
// record that fails is reported by its sequence number in
// BatchItemFailures (the mapping must set ReportBatchItemFailures) and the
// others still succeed. The mapping then retries from the lowest failed
// sequence number, so records after a failed one come again: that is
// harmless, because a record always yields the same AddPending calls (all
// fields come from the record and the directory, none from the clock) and
// AddPending applies one message at most once.
//
// HandleStream returns an error, failing the whole batch, only when it is
// misconfigured (no Decode).
func (n *Notifier) HandleStream(ctx context.Context, ev events.DynamoDBEvent) (events.DynamoDBEventResponse, error) {
	var resp events.DynamoDBEventResponse
	if n.cfg.Decode == nil {
		return resp, errors.New("notify: Config.Decode is not set")
	}
	for _, rec := range ev.Records {
		seq := rec.Change.SequenceNumber
		err := ctx.Err()
		if err == nil {
			err = n.record(ctx, rec)
		}
		if err != nil {
			// The error names IDs only: the repository's and Decode's
			// errors must not carry item contents.
			n.cfg.Log.ErrorContext(ctx, "notify: stream record failed", "seq", seq, "event_id", rec.EventID, "err", err)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.DynamoDBBatchItemFailure{ItemIdentifier: seq})
		}
	}
	return resp, nil
}

func (n *Notifier) record(ctx context.Context, rec events.DynamoDBEventRecord) error {
	if rec.EventName != string(events.DynamoDBOperationTypeInsert) {
		return nil // messages are never changed; a header update is no new message
	}
	m, ok, err := n.cfg.Decode(rec.Change.NewImage)
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if !ok {
		return nil
	}
	return n.Message(ctx, m)
}

// Message records the pending notifications one new message causes. It is
// what HandleStream does for each message, exported for callers that learn
// of messages another way.
func (n *Notifier) Message(ctx context.Context, m Message) error {
	log := n.cfg.Log.With("patient", m.PatientID, "conversation", m.ConversationID, "message", m.MessageID)
	h, err := n.repo.Conversation(ctx, m.PatientID, m.ConversationID)
	if err != nil {
		return fmt.Errorf("conversation %s: %w", m.ConversationID, err)
	}
	if h == nil {
		// The message and its header are written in one transaction, so
		// this is a bug: fail the record so it retries and, in the end,
		// lands in the dead-letter queue where someone looks at it.
		return fmt.Errorf("conversation %s of patient %s: no header", m.ConversationID, m.PatientID)
	}
	switch m.AuthorSide {
	case domain.SideStaff:
		return n.toFamily(ctx, log, m, h)
	case domain.SidePortal:
		return n.toStaff(ctx, log, m, h)
	}
	log.WarnContext(ctx, "notify: message from an unknown side; nobody notified", "side", string(m.AuthorSide))
	return nil
}

// toFamily adds a pending notification for every portal user linked to the
// patient who has a usable channel.
func (n *Notifier) toFamily(ctx context.Context, log *slog.Logger, m Message, h *domain.Conversation) error {
	rs, err := n.repo.FamilyRecipients(ctx, m.PatientID)
	if err != nil {
		return fmt.Errorf("family of patient %s: %w", m.PatientID, err)
	}
	added := 0
	for _, r := range Audience(h.Audience, rs) {
		r.Kind = Family
		if !r.CanEmail() && !r.CanText() {
			continue
		}
		p := Pending{
			Recipient:      r,
			PracticeID:     h.PracticeID,
			PatientID:      m.PatientID,
			ConversationID: m.ConversationID,
			MessageID:      m.MessageID,
			FirstAt:        m.At,
			LastAt:         m.At,
			DueAt:          m.At.Add(n.cfg.Window),
		}
		if err := n.repo.AddPending(ctx, p); err != nil {
			return fmt.Errorf("pending for portal user %s: %w", r.ID, err)
		}
		added++
	}
	log.InfoContext(ctx, "notify: family notifications pending", "recipients", added)
	return nil
}

// Audience is who of the patient's family may hear of a conversation of
// audience a: everyone linked for the family's, and for a confidential one
// the patient's own account only, unless a guardian shares its e-mail
// address or phone number, in which case that channel is not used: a
// parent reading a shared inbox must not learn that a confidential reply
// exists.
func Audience(a domain.Audience, rs []Recipient) []Recipient {
	if a.OrFamily() == domain.AudienceFamily {
		return rs
	}
	var guardianEmails, guardianPhones []string
	for _, r := range rs {
		if r.Relationship != domain.RelSelf {
			guardianEmails = append(guardianEmails, strings.ToLower(strings.TrimSpace(r.Email)))
			guardianPhones = append(guardianPhones, r.Phone)
		}
	}
	var out []Recipient
	for _, r := range rs {
		if r.Relationship != domain.RelSelf {
			continue
		}
		if r.Email != "" && slices.Contains(guardianEmails, strings.ToLower(strings.TrimSpace(r.Email))) {
			r.Email = ""
		}
		if r.Phone != "" && slices.Contains(guardianPhones, r.Phone) {
			r.Phone = ""
		}
		if r.Email != "" || r.Phone != "" {
			out = append(out, r)
		}
	}
	return out
}

// toStaff adds the message's conversation to the digest of the assignee,
// or, when nobody is assigned (or the assignee is gone), of every staff
// member who opted in for the conversation's pool.
func (n *Notifier) toStaff(ctx context.Context, log *slog.Logger, m Message, h *domain.Conversation) error {
	var rs []Recipient
	if h.Assignee != nil && h.Assignee.ID != "" {
		r, err := n.repo.StaffRecipient(ctx, h.Assignee.ID)
		if err != nil {
			return fmt.Errorf("assignee %s: %w", h.Assignee.ID, err)
		}
		if r != nil {
			rs = []Recipient{*r}
		}
	}
	if rs == nil {
		var err error
		if rs, err = n.repo.StaffRecipients(ctx, h.PracticeID, h.Pool.ID); err != nil {
			return fmt.Errorf("staff of pool %s: %w", h.Pool.ID, err)
		}
	}
	added := 0
	for _, r := range rs {
		r.Kind = Staff
		if !r.CanEmail() {
			continue
		}
		p := Pending{
			Recipient:     r,
			PracticeID:    h.PracticeID,
			Conversations: []ConversationRef{{PatientID: m.PatientID, ConversationID: m.ConversationID}},
			MessageID:     m.MessageID,
			FirstAt:       m.At,
			LastAt:        m.At,
			DueAt:         m.At.Add(n.cfg.Window),
		}
		if err := n.repo.AddPending(ctx, p); err != nil {
			return fmt.Errorf("digest for staff %s: %w", r.ID, err)
		}
		added++
	}
	log.InfoContext(ctx, "notify: staff digests pending", "recipients", added, "pool", h.Pool.ID)
	return nil
}
