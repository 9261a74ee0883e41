package app

import (
	"context"
	"slices"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
)

// ListConversations lists a patient's conversations, newest activity first:
// the portal's Messages screen and the staff chart history. Errors:
// ENotFound, EForbidden.
func (a *App) ListConversations(ctx context.Context, c *Call, patientID string, f ConversationFilter, limit int, start map[string]string) (Page[domain.Conversation], error) {
	c.begin(audit.ListConversations, patientID, "")
	page, _, err := readPatient(ctx, a, c, patientID, authz.Extra{}, false, func(ctx context.Context, auds []domain.Audience) (Page[domain.Conversation], error) {
		return a.repo.Conversations(ctx, patientID, auds, f, limit, start)
	})
	return page, err
}

// Chain is one page of a conversation: the header on the first page.
type Chain struct {
	Conversation *domain.Conversation
	Messages     Page[domain.Message]
	// Statuses, for a family reading the first page, say where each of
	// their messages stands, by message ID.
	Statuses map[string]MessageStatus
}

// ReadConversation returns one page of a conversation's chain, oldest
// first: Details / Read More. Errors: ENotFound (also when the conversation
// belongs to another patient), EForbidden.
func (a *App) ReadConversation(ctx context.Context, c *Call, patientID, convID string, limit int, start map[string]string) (Chain, error) {
	c.begin(audit.ReadConversation, patientID, convID)
	if !domain.ValidConversationID(convID) {
		return Chain{}, domain.ErrNotFound
	}
	chain, g, err := readPatient(ctx, a, c, patientID, authz.Extra{}, true, func(ctx context.Context, auds []domain.Audience) (Chain, error) {
		conv, page, err := a.repo.Chain(ctx, patientID, auds, convID, limit, start)
		return Chain{Conversation: conv, Messages: page}, err
	})
	if err != nil || c.Principal.Side != domain.SidePortal || chain.Conversation == nil {
		return chain, err
	}
	// The status line is a courtesy: without the practice's settings the
	// family still gets their messages.
	if s, serr := a.settings(ctx, g.PracticeID); serr == nil {
		chain.Statuses = familyStatuses(s, *chain.Conversation, chain.Messages.Items, chain.Messages.LastKey != nil, c.At)
	} else {
		a.log.WarnContext(ctx, "status line: practice settings unavailable", "practiceId", g.PracticeID, "error", serr)
	}
	return chain, nil
}

// readPatient reads the access facts and the data concurrently, decides,
// and releases the data only after its audit record is stored: two
// sequential round trips. extra names further items the access read
// checks (a conversation whose staff log is read, say). conversation says the data read found the
// conversation the call names when it succeeded.
//
// data reads the partitions of the audiences it is given. Before the
// decision those are authz.PreAudiences: a portal caller's read names the
// family's partition only, since whether the caller is the patient is
// known only from the link, unless this container decided so before.
// When the decision grants other audiences than were read, the data is
// read again naming exactly those (with a confidential header the first
// read could not name): one more round trip, for the patient's own
// account's first request to a container only.
func readPatient[T any](ctx context.Context, a *App, c *Call, patientID string, extra authz.Extra, conversation bool, data func(context.Context, []domain.Audience) (T, error)) (T, *authz.Grant, error) {
	var zero T
	g, val, err, dataErr := grantAlongside(ctx, a, c, patientID, extra, data)
	if err != nil {
		return zero, nil, err
	}
	if dataErr != nil {
		return zero, nil, dataErr
	}
	if conversation {
		c.found()
	}
	if err := a.release(ctx, c, c.record(audit.Success, 200)); err != nil {
		return zero, nil, err
	}
	return val, g, nil
}

// Inbox lists the practice's conversations across patients, newest
// activity first. The page holds previews of several patients' messages,
// so each patient on it gets an audit record. Errors: EForbidden.
func (a *App) Inbox(ctx context.Context, c *Call, f ConversationFilter, limit int, start map[string]string) (Page[domain.Conversation], error) {
	c.begin(audit.ListInbox, "", "")
	me, page, err := staffRead(ctx, a, c, func(ctx context.Context, practiceID string) (Page[domain.Conversation], error) {
		return a.repo.Inbox(ctx, practiceID, f, limit, start)
	})
	if err != nil {
		return page, err
	}
	var recs []audit.Record
	for _, conv := range page.Items {
		if !slices.ContainsFunc(recs, func(r audit.Record) bool { return r.PatientID == conv.Patient.ID }) {
			r := c.record(audit.Success, 200)
			r.PatientID, r.ActorRole = conv.Patient.ID, string(me.Role)
			recs = append(recs, r)
		}
	}
	if err := a.release(ctx, c, recs...); err != nil {
		return Page[domain.Conversation]{}, err
	}
	return page, nil
}

// InboxSummary counts the practice's open conversations for the badge and
// filters. It shows no message content, so it is polled freely and not
// audited. Errors: EForbidden.
func (a *App) InboxSummary(ctx context.Context, c *Call) (Summary, error) {
	_, sum, err := staffRead(ctx, a, c, func(ctx context.Context, practiceID string) (Summary, error) {
		return a.repo.OpenSummary(ctx, practiceID, c.Principal.ID)
	})
	return sum, err
}

// staffRead reads the caller's staff record and data of their practice.
// When the practice is known from an earlier request, the two reads run
// concurrently; the first request of a staff member to this container
// reads them one after the other. Data of a practice the fresh record does
// not name is discarded.
func staffRead[T any](ctx context.Context, a *App, c *Call, data func(context.Context, string) (T, error)) (*domain.StaffMember, T, error) {
	var zero T
	access := func(ctx context.Context) (*authz.Facts, error) {
		return a.repo.LoadAccess(ctx, authz.StaffQuery(c.Principal))
	}
	if practiceID, ok := a.practices.Load(c.Principal.ID); ok {
		facts, val, accErr, dataErr := both(ctx, access, func(ctx context.Context) (T, error) { return data(ctx, practiceID.(string)) })
		if accErr != nil {
			return nil, zero, accErr
		}
		c.read(facts)
		me, err := authz.DecideStaff(c.Principal, facts)
		if err != nil {
			return nil, zero, err
		}
		if me.PracticeID == practiceID {
			c.rec.ActorRole = string(me.Role)
			return me, val, dataErr
		}
		a.practices.Delete(c.Principal.ID)
	}
	facts, err := access(ctx)
	if err != nil {
		return nil, zero, err
	}
	c.read(facts)
	me, err := authz.DecideStaff(c.Principal, facts)
	if err != nil {
		return nil, zero, err
	}
	a.practices.Store(c.Principal.ID, me.PracticeID)
	c.rec.ActorRole = string(me.Role)
	val, err := data(ctx, me.PracticeID)
	return me, val, err
}
