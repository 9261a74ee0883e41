package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/domain"
)

func activitySK(t time.Time, convID string) string { return timeKey(t) + "#" + convID }

func inboxSK(t time.Time, patientID, convID string) string {
	return timeKey(t) + "#" + patientID + "#" + convID
}

// queue is where a conversation stands in its practice's and its pool's
// work queue: a partition per turn, ordered by when the turn began.
type queue struct{ pk, poolPK, sk string }

func queueOf(c domain.Conversation) queue {
	if !c.Awaiting.Valid() {
		return queue{} // a header from before turns were kept: not queued until migrated
	}
	turn := "#AWAIT#" + string(c.Awaiting)
	return queue{
		pk:     pfxPractice + c.PracticeID + turn,
		poolPK: pfxPractice + c.PracticeID + "#" + pfxPool + c.Pool.ID + turn,
		sk:     inboxSK(c.AwaitingSince, c.Patient.ID, c.ID),
	}
}

// set adds the queue keys, and the turn they come from, to an update.
func (q queue) set(update expression.UpdateBuilder, c domain.Conversation, b binder) expression.UpdateBuilder {
	if q.pk == "" {
		return update
	}
	update = update.
		Set(expression.Name(aAwaiting), b.val(sTurn, string(c.Awaiting))).
		Set(expression.Name(aAwaitingSince), b.val(sTurnSince, c.AwaitingSince)).
		Set(expression.Name(aQueuePK), b.val(sQueuePK, q.pk)).
		Set(expression.Name(aPoolQueuePK), b.val(sPoolQueuePK, q.poolPK)).
		Set(expression.Name(aQueueSK), b.val(sQueueSK, q.sk))
	// The mark goes only with the practice's turn: a change that read the
	// header before the escalator marked it must not clear the mark.
	if c.Awaiting != domain.AwaitingStaff {
		update = update.Remove(expression.Name(aOverdueAt))
	}
	return update
}

// turnIs is the condition that the header still shows the turn it was read
// with (none at all on a header from before turns were kept).
func turnIs(a domain.Awaiting, b binder) expression.ConditionBuilder {
	if a == "" {
		return expression.AttributeNotExists(expression.Name(aAwaiting))
	}
	return expression.Name(aAwaiting).Equal(b.val(sWasTurn, string(a)))
}

// waitIs is the condition that the header's queue keys still come from
// what c shows: the same turn, since the same moment, in the same pool. A
// reroute or a change of turn meanwhile fails it (domain.ErrStale), and
// the caller reads again rather than write stale queue keys.
func waitIs(c domain.Conversation, b binder) expression.ConditionBuilder {
	cond := turnIs(c.Awaiting, b).And(expression.Name(aPoolID).Equal(b.val(sWasPool, c.Pool.ID)))
	if c.Awaiting != "" {
		cond = cond.And(expression.Name(aAwaitingSince).Equal(b.val(sWasSince, c.AwaitingSince)))
	}
	return cond
}

func newConvItem(c domain.Conversation) convItem {
	q := queueOf(c)
	it := convItem{
		key:         convKey(c.Patient.ID, c.Audience, c.ID),
		ActivitySK:  activitySK(c.LastActivityAt, c.ID),
		InboxPK:     pfxPractice + c.PracticeID,
		InboxSK:     inboxSK(c.LastActivityAt, c.Patient.ID, c.ID),
		QueuePK:     q.pk,
		PoolQueuePK: q.poolPK,
		QueueSK:     q.sk,
		headerAttrs: headerOf(c),
	}
	if c.Status == domain.StatusOpen {
		it.OpenPK = it.InboxPK
	}
	return it
}

// Positions of the items of a message transaction.
const (
	txHeader = iota
	txMessage
	txIdem
	txAudit
	txCap // when capped; an acknowledgement comes after it
)

// CreateConversation stores a new conversation with its first message, the
// idempotency record and the audit record in one transaction. Errors:
// EIdemMismatch, EThrottled (daily limit), EConflict (ID collision).
func (s *Store) CreateConversation(ctx context.Context, c domain.Conversation, m domain.Message, w app.Write) (app.Written, error) {
	header, err := marshal(newConvItem(c))
	if err != nil {
		return app.Written{}, fmt.Errorf("encode conversation: %w", err)
	}
	put := types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(s.tables.Messages), Item: header, ConditionExpression: aws.String(notExists),
	}}
	return s.writeMessage(ctx, put, m, w)
}

// AppendMessage adds a reply to an open conversation of the patient and
// updates the header's counts in the same transaction, with the
// idempotency and audit records. Counts use ADD, so concurrent replies each
// count exactly once. Errors: ENotFound when the conversation is not the
// patient's, EConflict when it is closed, EIdemMismatch, EThrottled.
//
// w.Before, the header as the access read saw it, decides whose turn it
// is next; the update is conditional on that turn, so a concurrent change
// of turn gives domain.ErrStale and the caller reads again.
func (s *Store) AppendMessage(ctx context.Context, m domain.Message, w app.Write) (app.Written, error) {
	res, err := s.writeMessage(ctx, appendUpdate(s.tables.Messages, m, w, true), m, w)
	if errors.Is(err, errNewerActivity) {
		// A reply written after this one committed first: count this one,
		// but leave the later last-activity time, preview and turn in place
		// (and no acknowledgement: the later message had its chance).
		w.Before, w.Ack = nil, nil
		res, err = s.writeMessage(ctx, appendUpdate(s.tables.Messages, m, w, false), m, w)
	}
	return res, err
}

// errNewerActivity means the header already shows a later message.
var errNewerActivity = errors.New("conversation has newer activity")

// The slots of a reply's header update, and of the queue helpers that
// other updates share (set, turnIs, waitIs).
const (
	sZero slot = iota
	sOne
	sCount
	sOpen
	sAt
	sActivity
	sInboxSK
	sPreview
	sTurn
	sTurnSince
	sQueuePK
	sPoolQueuePK
	sQueueSK
	sWasTurn
	sWasPool
	sWasSince
	sAckWindow
	sWasAckWindow
	replySlots
)

// replyShape is what decides the text of a reply's header update; every
// value it uses fills a slot.
type replyShape struct {
	own         domain.Side
	activity    bool
	before      bool // the header as read is known: the turn moves
	wasTurn     bool // ... and shows a turn (not a header from before turns)
	queued      bool // the turn after the reply is a valid one
	staffTurn   bool // ... and it is the practice's
	acked       bool // an acknowledgement goes with the reply
	wasAckedWin bool // ... and the header had acknowledged a window before
}

var replyExprs shapes // by replyShape

// appendUpdate is the header update of a reply. With activity, it also
// moves last activity, sort keys and preview forward, on condition that
// they are older than this message, so that concurrent replies never move
// them back.
func appendUpdate(table string, m domain.Message, w app.Write, activity bool) types.TransactWriteItem {
	fill := newFilling(replySlots)
	sh, b := replyUpdate(m, w, activity, fill)
	// The builder cannot fail for these fixed names and slots; the tests
	// build every shape.
	x, err := replyExprs.get(sh, b)
	if err != nil {
		panic(err)
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                           aws.String(table),
		Key:                                 convKey(m.PatientID, m.Audience, m.ConversationID).av(),
		UpdateExpression:                    x.update,
		ConditionExpression:                 x.cond,
		ExpressionAttributeNames:            x.names,
		ExpressionAttributeValues:           x.values(fill),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}
}

// replyUpdate assembles a reply's header update with values from b, and
// says its shape.
func replyUpdate(m domain.Message, w app.Write, activity bool, b binder) (replyShape, expression.Builder) {
	before := w.Before
	own, other := m.Author.Side, domain.SideStaff
	if own == domain.SideStaff {
		other = domain.SidePortal
	}
	sh := replyShape{own: own, activity: activity, acked: w.Ack != nil && before != nil}
	act := activitySK(m.CreatedAt, m.ConversationID)
	count := 1
	if sh.acked {
		count = 2 // the acknowledgement is a message of the chain too
	}
	update := expression.
		Set(expression.Name(unreadAttr(own)), b.val(sZero, 0)).
		Add(expression.Name(unreadAttr(other)), b.val(sOne, 1)).
		Add(expression.Name(aMessageCount), b.val(sCount, count)).
		Add(expression.Name(aVersion), b.val(sOne, 1))
	// messageCount exists only on headers: a key that reached any other
	// item fails the condition instead of writing to it.
	cond := expression.AttributeExists(expression.Name(aMessageCount)).
		And(expression.Name(aStatus).Equal(b.val(sOpen, string(domain.StatusOpen))))
	if activity {
		update = update.
			Set(expression.Name(aLastActivityAt), b.val(sAt, m.CreatedAt)).
			Set(expression.Name(aActivitySK), b.val(sActivity, act)).
			Set(expression.Name(aInboxSK), b.val(sInboxSK, inboxSK(m.CreatedAt, m.PatientID, m.ConversationID))).
			Set(expression.Name(aPreview), b.val(sPreview, domain.Preview(m.Body))).
			Set(expression.Name(readAtAttr(own)), b.val(sAt, m.CreatedAt))
		cond = cond.And(expression.Name(aActivitySK).LessThan(b.val(sActivity, act)))
	}
	if before != nil {
		after := before.Replied(own, m.CreatedAt)
		sh.before, sh.wasTurn = true, before.Awaiting != ""
		sh.queued, sh.staffTurn = after.Awaiting.Valid(), after.Awaiting == domain.AwaitingStaff
		update = queueOf(after).set(update, after, b)
		cond = cond.And(waitIs(*before, b))
	}
	if sh.acked {
		// The family has read the acknowledgement as they wrote.
		// Conditional on the window the read saw, so two messages at once
		// in one window get one acknowledgement.
		update = update.Set(expression.Name(aAckedWindow), b.val(sAckWindow, w.AckWindow))
		if before.AckedWindow == nil {
			cond = cond.And(expression.AttributeNotExists(expression.Name(aAckedWindow)))
		} else {
			sh.wasAckedWin = true
			cond = cond.And(expression.Name(aAckedWindow).Equal(b.val(sWasAckWindow, *before.AckedWindow)))
		}
	}
	return sh, expression.NewBuilder().WithUpdate(update).WithCondition(cond)
}

// writeMessage commits header (the header's put or update) with the
// message put, the idempotency record, the audit record and, when capped,
// the daily counter, in one transaction.
func (s *Store) writeMessage(ctx context.Context, header types.TransactWriteItem, m domain.Message, w app.Write) (app.Written, error) {
	msg, err := marshal(newMsgItem(m))
	if err != nil {
		return app.Written{}, fmt.Errorf("encode message: %w", err)
	}
	idem, err := s.idemPut(m, w.Idem)
	if err != nil {
		return app.Written{}, err
	}
	rec, err := s.auditPut(w.Audit)
	if err != nil {
		return app.Written{}, err
	}
	tx := []types.TransactWriteItem{
		header,
		{Put: &types.Put{TableName: aws.String(s.tables.Messages), Item: msg, ConditionExpression: aws.String(notExists)}},
		idem, rec,
	}
	if w.Cap != nil {
		c, err := s.capUpdate(m.PatientID, *w.Cap)
		if err != nil {
			return app.Written{}, err
		}
		tx = append(tx, c)
	}
	if w.Ack != nil && (header.Put != nil || w.Before != nil) {
		ack, err := marshal(newMsgItem(*w.Ack))
		if err != nil {
			return app.Written{}, fmt.Errorf("encode acknowledgement: %w", err)
		}
		tx = append(tx, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.tables.Messages), Item: ack, ConditionExpression: aws.String(notExists)}})
	}
	// The message's files, each claimed in the same transaction.
	firstAtt := len(tx)
	for _, ref := range m.Attachments {
		tx = append(tx, s.claimAttachment(m, ref, header.Put != nil))
	}
	reasons, err := s.transact(ctx, "write message", tx)
	if i := firstFailed(reasons, firstAtt); i >= 0 && !failed(reasons, txIdem) {
		return app.Written{}, domain.Invalid("attachmentIds", "attachment %s is not ready to send, was sent already, or is not yours", m.Attachments[i-firstAtt].ID)
	}
	switch {
	case err == nil:
		return app.Written{ConversationID: m.ConversationID, MessageID: m.ID, Audience: m.Audience.OrFamily()}, nil
	// A known key decides the outcome before anything else: same request,
	// same answer; other request, refused.
	case failed(reasons, txIdem):
		return replayed(reasons[txIdem], w.Idem)
	case w.Cap != nil && failed(reasons, txCap):
		return app.Written{}, capReached(*w.Cap, m.CreatedAt)
	case failed(reasons, txHeader):
		return app.Written{}, headerRefusal(header, m, reasons[txHeader])
	}
	return app.Written{}, err
}

// headerRefusal explains why the header write of a message failed its
// condition.
func headerRefusal(header types.TransactWriteItem, m domain.Message, reason types.CancellationReason) error {
	if header.Update == nil {
		// A new conversation ID collided: practically impossible with
		// ULIDs, and never silently overwritten.
		return domain.Errorf(domain.EConflict, "conversation already exists")
	}
	var h convItem
	if err := attributevalue.UnmarshalMap(reason.Item, &h); err != nil {
		return fmt.Errorf("decode conversation: %w", err)
	}
	switch {
	case len(reason.Item) == 0 || h.MessageCount == 0:
		return domain.ErrNotFound
	case h.Status != domain.StatusOpen:
		return domain.Errorf(domain.EConflict, "the conversation is closed; start a new message instead")
	case h.ActivitySK < activitySK(m.CreatedAt, m.ConversationID):
		return domain.ErrStale // the turn changed since the access read
	default:
		return errNewerActivity
	}
}
