package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/schema"
)

// convItem is a conversation header. ActivitySK (LSI) orders one patient's
// conversations; InboxPK/InboxSK (GSI) order a practice's.
type convItem struct {
	key
	ActivitySK string `dynamodbav:"ActivitySK"`
	InboxPK    string `dynamodbav:"InboxPK"`
	InboxSK    string `dynamodbav:"InboxSK"`
	// OpenPK equals InboxPK while the conversation is open (Open index).
	OpenPK string `dynamodbav:"OpenPK,omitempty"`
	domain.Conversation
}

type msgItem struct {
	key
	domain.Message
}

// idemItem remembers the outcome of a creating request for a day, so that a
// retried request returns the first result instead of writing twice.
type idemItem struct {
	key
	RequestHash    string `dynamodbav:"requestHash"`
	ConversationID string `dynamodbav:"conversationId"`
	MessageID      string `dynamodbav:"messageId"`
	ExpiresAt      int64  `dynamodbav:"ExpiresAt"`
}

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 24 * time.Hour

// Idempotency identifies a creating request.
type Idempotency struct {
	CallerID string
	Key      string
	// Hash is a digest of the request (route and body).
	Hash string
}

// Written is the outcome of a message write.
type Written struct {
	ConversationID string
	MessageID      string
	// Replayed is true when an earlier request with the same key did the
	// write and nothing new was stored.
	Replayed bool
}

func activitySK(t time.Time, convID string) string { return timeKey(t) + "#" + convID }

func newConvItem(c domain.Conversation) convItem {
	it := convItem{
		key:          convKey(c.Patient.ID, c.ID),
		ActivitySK:   activitySK(c.LastActivityAt, c.ID),
		InboxPK:      pfxPractice + c.PracticeID,
		InboxSK:      timeKey(c.LastActivityAt) + "#" + c.Patient.ID + "#" + c.ID,
		Conversation: c,
	}
	if c.Status == domain.StatusOpen {
		it.OpenPK = it.InboxPK
	}
	return it
}

// CreateConversation stores a new conversation with its first message and
// the idempotency record in one transaction.
func (s *Store) CreateConversation(ctx context.Context, c domain.Conversation, m domain.Message, idem Idempotency) (Written, error) {
	header, err := marshal(newConvItem(c))
	if err != nil {
		return Written{}, fmt.Errorf("encode conversation: %w", err)
	}
	tx := []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(s.tables.Messages), Item: header,
			ConditionExpression: aws.String("attribute_not_exists(PK)"),
		}},
	}
	return s.writeMessage(ctx, tx, m, idem)
}

// AppendMessage adds a reply to an open conversation of the patient and
// updates the header's counts in the same transaction. Counts use ADD, so
// concurrent replies each count exactly once. Errors: ENotFound when the
// conversation is not the patient's, EConflict when it is closed.
func (s *Store) AppendMessage(ctx context.Context, m domain.Message, idem Idempotency) (Written, error) {
	w, err := s.writeMessage(ctx, s.appendTx(m, true), m, idem)
	if errors.Is(err, errNewerActivity) {
		// A reply written after this one committed first: count this one,
		// but leave the later last-activity time and preview in place.
		w, err = s.writeMessage(ctx, s.appendTx(m, false), m, idem)
	}
	return w, err
}

// errNewerActivity means the header already shows a later message.
var errNewerActivity = errors.New("conversation has newer activity")

// appendTx is the header update of a reply. With activity, it also moves
// last activity, sort keys and preview forward, on condition that they are
// older than this message, so that concurrent replies never move them back.
func (s *Store) appendTx(m domain.Message, activity bool) []types.TransactWriteItem {
	own, other := "staff", "portal"
	if m.Author.Side == domain.SidePortal {
		own, other = "portal", "staff"
	}
	act := activitySK(m.CreatedAt, m.ConversationID)
	update := expression.
		Set(expression.Name(own+"Unread"), expression.Value(0)).
		Add(expression.Name(other+"Unread"), expression.Value(1)).
		Add(expression.Name("messageCount"), expression.Value(1)).
		Add(expression.Name("version"), expression.Value(1))
	// messageCount exists only on headers: a key that reached any other
	// item fails the condition instead of writing to it.
	cond := expression.AttributeExists(expression.Name("messageCount")).
		And(expression.Name("status").Equal(expression.Value(domain.StatusOpen)))
	if activity {
		update = update.
			Set(expression.Name("lastActivityAt"), expression.Value(m.CreatedAt)).
			Set(expression.Name(schema.AttrActivitySK), expression.Value(act)).
			Set(expression.Name(schema.AttrInboxSK), expression.Value(timeKey(m.CreatedAt)+"#"+m.PatientID+"#"+m.ConversationID)).
			Set(expression.Name("preview"), expression.Value(domain.Preview(m.Body))).
			Set(expression.Name(own+"ReadAt"), expression.Value(m.CreatedAt))
		cond = cond.And(expression.Name(schema.AttrActivitySK).LessThan(expression.Value(act)))
	}
	// The builder cannot fail for these fixed names and values.
	expr, _ := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	return []types.TransactWriteItem{{Update: &types.Update{
		TableName:                           aws.String(s.tables.Messages),
		Key:                                 convKey(m.PatientID, m.ConversationID).av(),
		UpdateExpression:                    expr.Update(),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}}
}

// writeMessage runs tx (whose first item is the header write) together with
// the message put and the idempotency record, retrying transaction
// conflicts with jittered backoff.
func (s *Store) writeMessage(ctx context.Context, tx []types.TransactWriteItem, m domain.Message, idem Idempotency) (Written, error) {
	msg, err := marshal(msgItem{msgKey(m.PatientID, m.ConversationID, m.ID), m})
	if err != nil {
		return Written{}, fmt.Errorf("encode message: %w", err)
	}
	rec, err := marshal(idemItem{
		key:            idemKey(m.PatientID, idem.CallerID, idem.Key),
		RequestHash:    idem.Hash,
		ConversationID: m.ConversationID,
		MessageID:      m.ID,
		ExpiresAt:      m.CreatedAt.Add(IdempotencyTTL).Unix(),
	})
	if err != nil {
		return Written{}, fmt.Errorf("encode idempotency record: %w", err)
	}
	notExists := aws.String("attribute_not_exists(PK)")
	tx = append(tx,
		types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.tables.Messages), Item: msg, ConditionExpression: notExists}},
		types.TransactWriteItem{Put: &types.Put{
			TableName: aws.String(s.tables.Messages), Item: rec, ConditionExpression: notExists,
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
	)
	const idemIdx = 2
	for attempt := 0; ; attempt++ {
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: tx})
		if err == nil {
			return Written{ConversationID: m.ConversationID, MessageID: m.ID}, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return Written{}, classify("write message", err)
		}
		reasons := tce.CancellationReasons
		code := func(i int) string {
			if i < len(reasons) && reasons[i].Code != nil {
				return *reasons[i].Code
			}
			return ""
		}
		// A known key decides the outcome before anything else: same
		// request, same answer; other request, refused.
		if code(idemIdx) == "ConditionalCheckFailed" {
			var prev idemItem
			if err := attributevalue.UnmarshalMap(reasons[idemIdx].Item, &prev); err != nil {
				return Written{}, fmt.Errorf("decode idempotency record: %w", err)
			}
			if prev.RequestHash != idem.Hash {
				return Written{}, domain.Errorf(domain.EIdemMismatch, "this Idempotency-Key was already used with a different request")
			}
			return Written{ConversationID: prev.ConversationID, MessageID: prev.MessageID, Replayed: true}, nil
		}
		if code(0) == "ConditionalCheckFailed" {
			if tx[0].Update == nil {
				// A new conversation ID collided: practically impossible
				// with ULIDs, and never silently overwritten.
				return Written{}, domain.Errorf(domain.EConflict, "conversation already exists")
			}
			var h convItem
			if err := attributevalue.UnmarshalMap(reasons[0].Item, &h); err != nil {
				return Written{}, fmt.Errorf("decode conversation: %w", err)
			}
			switch {
			case len(reasons[0].Item) == 0 || h.MessageCount == 0:
				return Written{}, domain.ErrNotFound
			case h.Status != domain.StatusOpen:
				return Written{}, domain.Errorf(domain.EConflict, "the conversation is closed; start a new message instead")
			default:
				return Written{}, errNewerActivity
			}
		}
		conflict := false
		for i := range reasons {
			if c := code(i); c == "TransactionConflict" {
				conflict = true
			}
		}
		if !conflict || attempt >= 12 {
			return Written{}, classify("write message", err)
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return Written{}, err
		}
	}
}

// backoff is exponential with full jitter, capped at about a second.
func backoff(attempt int) time.Duration {
	d := 10 * time.Millisecond << min(attempt, 7)
	return time.Duration(rand.Int64N(int64(d))) + time.Millisecond
}

// Replay loads the conversation and message an earlier request wrote.
func (s *Store) Replay(ctx context.Context, patientID string, w Written) (*domain.Conversation, *domain.Message, error) {
	items, err := s.batchGet(ctx, s.tables.Messages, []map[string]types.AttributeValue{
		convKey(patientID, w.ConversationID).av(),
		msgKey(patientID, w.ConversationID, w.MessageID).av(),
	})
	if err != nil {
		return nil, nil, err
	}
	var c *domain.Conversation
	var m *domain.Message
	for _, it := range items {
		var k key
		if err := attributevalue.UnmarshalMap(it, &k); err != nil {
			return nil, nil, fmt.Errorf("decode key: %w", err)
		}
		if k.SK == pfxConv+w.ConversationID {
			var v convItem
			if err := attributevalue.UnmarshalMap(it, &v); err != nil {
				return nil, nil, fmt.Errorf("decode conversation: %w", err)
			}
			c = &v.Conversation
		} else {
			var v msgItem
			if err := attributevalue.UnmarshalMap(it, &v); err != nil {
				return nil, nil, fmt.Errorf("decode message: %w", err)
			}
			m = &v.Message
		}
	}
	if c == nil || m == nil {
		return nil, nil, domain.Unavailable(errors.New("replay: idempotency record points at missing items"))
	}
	return c, m, nil
}

// Page is one page of a list: the items and the key to continue from.
type Page[T any] struct {
	Items   []T
	LastKey map[string]string // nil on the last page
}

// ConversationFilter narrows a list.
type ConversationFilter struct {
	Status     domain.Status // "" for any
	PoolID     string
	AssigneeID string
	UnreadOnly bool // staff side unread
}

func (f ConversationFilter) condition() (expression.ConditionBuilder, bool) {
	var conds []expression.ConditionBuilder
	if f.Status != "" {
		conds = append(conds, expression.Name("status").Equal(expression.Value(f.Status)))
	}
	if f.PoolID != "" {
		conds = append(conds, expression.Name("pool.id").Equal(expression.Value(f.PoolID)))
	}
	if f.AssigneeID != "" {
		conds = append(conds, expression.Name("assignee.id").Equal(expression.Value(f.AssigneeID)))
	}
	if f.UnreadOnly {
		conds = append(conds, expression.Name("staffUnread").GreaterThan(expression.Value(0)))
	}
	switch len(conds) {
	case 0:
		return expression.ConditionBuilder{}, false
	case 1:
		return conds[0], true
	default:
		return expression.And(conds[0], conds[1], conds[2:]...), true
	}
}

// Conversations lists a patient's conversations, newest activity first, from
// the ByActivity LSI with strong consistency: one Query per page.
func (s *Store) Conversations(ctx context.Context, patientID string, f ConversationFilter, limit int, start map[string]string) (Page[domain.Conversation], error) {
	kc := expression.Key("PK").Equal(expression.Value(patientID))
	return s.queryConversations(ctx, &dynamodb.QueryInput{
		TableName:      aws.String(s.tables.Messages),
		IndexName:      aws.String(schema.IndexByActivity),
		ConsistentRead: aws.Bool(true),
	}, kc, f, limit, start)
}

// Inbox lists a practice's conversations across patients, newest activity
// first, from the Inbox GSI.
func (s *Store) Inbox(ctx context.Context, practiceID string, f ConversationFilter, limit int, start map[string]string) (Page[domain.Conversation], error) {
	kc := expression.Key(schema.AttrInboxPK).Equal(expression.Value(pfxPractice + practiceID))
	return s.queryConversations(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.tables.Messages),
		IndexName: aws.String(schema.IndexInbox),
	}, kc, f, limit, start)
}

// maxFilteredReads bounds the Queries one filtered page may take: DynamoDB
// applies Limit before the filter, so a selective filter can need several.
const maxFilteredReads = 4

func (s *Store) queryConversations(ctx context.Context, in *dynamodb.QueryInput, kc expression.KeyConditionBuilder, f ConversationFilter, limit int, start map[string]string) (Page[domain.Conversation], error) {
	b := expression.NewBuilder().WithKeyCondition(kc)
	cond, filtered := f.condition()
	if filtered {
		b = b.WithFilter(cond)
	}
	expr, err := b.Build()
	if err != nil {
		return Page[domain.Conversation]{}, fmt.Errorf("build query: %w", err)
	}
	in.KeyConditionExpression = expr.KeyCondition()
	in.FilterExpression = expr.Filter()
	in.ExpressionAttributeNames = expr.Names()
	in.ExpressionAttributeValues = expr.Values()
	in.ScanIndexForward = aws.Bool(false)
	in.ExclusiveStartKey = toAV(start)

	var page Page[domain.Conversation]
	for reads := 0; ; reads++ {
		in.Limit = aws.Int32(int32(limit - len(page.Items)))
		res, err := s.db.Query(ctx, in)
		if err != nil {
			return page, classify("query conversations", err)
		}
		var items []convItem
		if err := attributevalue.UnmarshalListOfMaps(res.Items, &items); err != nil {
			return page, fmt.Errorf("decode conversations: %w", err)
		}
		for _, it := range items {
			page.Items = append(page.Items, it.Conversation)
		}
		page.LastKey = fromAV(res.LastEvaluatedKey)
		if page.LastKey == nil || len(page.Items) >= limit || !filtered || reads+1 >= maxFilteredReads {
			return page, nil
		}
		in.ExclusiveStartKey = res.LastEvaluatedKey
	}
}

// Chain reads one page of a conversation, oldest first. The first page
// (start nil) also returns the header, which sorts before its messages, so a
// whole short conversation is one Query. Errors: ENotFound when the
// conversation is not the patient's.
func (s *Store) Chain(ctx context.Context, patientID, convID string, limit int, start map[string]string) (*domain.Conversation, Page[domain.Message], error) {
	var page Page[domain.Message]
	kc := expression.Key("PK").Equal(expression.Value(patientID)).
		And(expression.Key("SK").BeginsWith(pfxConv + convID))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, page, fmt.Errorf("build query: %w", err)
	}
	n := int32(limit)
	if start == nil {
		n++ // the header
	}
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Messages),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ExclusiveStartKey:         toAV(start),
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(n),
	})
	if err != nil {
		return nil, page, classify("query chain", err)
	}
	items := res.Items
	var conv *domain.Conversation
	if start == nil {
		if len(items) == 0 {
			return nil, page, domain.ErrNotFound
		}
		var h convItem
		if err := attributevalue.UnmarshalMap(items[0], &h); err != nil {
			return nil, page, fmt.Errorf("decode conversation: %w", err)
		}
		if h.SK != pfxConv+convID {
			return nil, page, domain.ErrNotFound
		}
		conv, items = &h.Conversation, items[1:]
	}
	var msgs []msgItem
	if err := attributevalue.UnmarshalListOfMaps(items, &msgs); err != nil {
		return nil, page, fmt.Errorf("decode messages: %w", err)
	}
	for _, m := range msgs {
		page.Items = append(page.Items, m.Message)
	}
	page.LastKey = fromAV(res.LastEvaluatedKey)
	return conv, page, nil
}

// MarkRead clears side's unread count and stamps when it read the
// conversation. Errors: ENotFound.
func (s *Store) MarkRead(ctx context.Context, patientID, convID string, side domain.Side, at time.Time) (*domain.Conversation, error) {
	update := expression.
		Set(expression.Name(string(side)+"Unread"), expression.Value(0)).
		Set(expression.Name(string(side)+"ReadAt"), expression.Value(at)).
		Add(expression.Name("version"), expression.Value(1))
	return s.updateConversation(ctx, patientID, convID, update, nil)
}

// ConversationChange is a staff change to a conversation header. Nil fields
// are left alone; an Assignee with an empty ID clears the assignment.
type ConversationChange struct {
	Status   *domain.Status
	Assignee *domain.Party
	// IfVersion, when non-zero, makes the change conditional on the version
	// the caller saw (optimistic concurrency).
	IfVersion int
}

// UpdateConversation applies c. Errors: ENotFound, EConflict on a version
// mismatch.
func (s *Store) UpdateConversation(ctx context.Context, patientID, convID string, c ConversationChange) (*domain.Conversation, error) {
	update := expression.Add(expression.Name("version"), expression.Value(1))
	if c.Status != nil {
		update = update.Set(expression.Name("status"), expression.Value(*c.Status))
		if *c.Status == domain.StatusOpen {
			update = update.Set(expression.Name(schema.AttrOpenPK), expression.Name(schema.AttrInboxPK))
		} else {
			update = update.Remove(expression.Name(schema.AttrOpenPK))
		}
	}
	if c.Assignee != nil {
		if c.Assignee.ID == "" {
			update = update.Remove(expression.Name("assignee"))
		} else {
			update = update.Set(expression.Name("assignee"), expression.Value(*c.Assignee))
		}
	}
	var extra *expression.ConditionBuilder
	if c.IfVersion != 0 {
		v := expression.Name("version").Equal(expression.Value(c.IfVersion))
		extra = &v
	}
	return s.updateConversation(ctx, patientID, convID, update, extra)
}

func (s *Store) updateConversation(ctx context.Context, patientID, convID string, update expression.UpdateBuilder, extra *expression.ConditionBuilder) (*domain.Conversation, error) {
	// messageCount exists only on conversation headers.
	cond := expression.AttributeExists(expression.Name("messageCount"))
	if extra != nil {
		cond = cond.And(*extra)
	}
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("build update: %w", err)
	}
	res, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.tables.Messages),
		Key:                                 convKey(patientID, convID).av(),
		UpdateExpression:                    expr.Update(),
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if err != nil {
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			if len(ccf.Item) == 0 || ccf.Item["messageCount"] == nil {
				return nil, domain.ErrNotFound
			}
			return nil, domain.Errorf(domain.EConflict, "the conversation changed since you loaded it; reload and try again")
		}
		return nil, classify("update conversation", err)
	}
	var v convItem
	if err := attributevalue.UnmarshalMap(res.Attributes, &v); err != nil {
		return nil, fmt.Errorf("decode conversation: %w", err)
	}
	return &v.Conversation, nil
}

// Every key attribute in this product is a string, so a page key travels as
// a map of strings, which the cursor package signs.
func fromAV(m map[string]types.AttributeValue) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			out[k] = s.Value
		}
	}
	return out
}

func toAV(m map[string]string) map[string]types.AttributeValue {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		out[k] = &types.AttributeValueMemberS{Value: v}
	}
	return out
}

// Summary counts a practice's open conversations for the inbox badge and
// filters. It carries no message content.
type Summary struct {
	Open             int           `json:"open"`
	Unread           int           `json:"unread"`
	AssignedToMe     int           `json:"assignedToMe"`
	Pools            []PoolSummary `json:"pools"`
	LatestActivityAt *time.Time    `json:"latestActivityAt"`
}

// PoolSummary counts one pool's open conversations.
type PoolSummary struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Open   int    `json:"open"`
	Unread int    `json:"unread"`
}

// OpenSummary reads the practice's open conversations from the sparse Open
// index, projecting only what the counts need.
func (s *Store) OpenSummary(ctx context.Context, practiceID, staffID string) (Summary, error) {
	kc := expression.Key(schema.AttrOpenPK).Equal(expression.Value(pfxPractice + practiceID))
	proj := expression.NamesList(expression.Name("staffUnread"), expression.Name("pool"), expression.Name("assignee.id"), expression.Name("lastActivityAt"))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).WithProjection(proj).Build()
	if err != nil {
		return Summary{}, fmt.Errorf("build query: %w", err)
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Messages),
		IndexName:                 aws.String(schema.IndexOpen),
		KeyConditionExpression:    expr.KeyCondition(),
		ProjectionExpression:      expr.Projection(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	sum := Summary{Pools: []PoolSummary{}}
	pools := map[string]int{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Summary{}, classify("query open conversations", err)
		}
		var items []domain.Conversation
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return Summary{}, fmt.Errorf("decode conversations: %w", err)
		}
		for _, c := range items {
			i, ok := pools[c.Pool.ID]
			if !ok {
				i = len(sum.Pools)
				pools[c.Pool.ID] = i
				sum.Pools = append(sum.Pools, PoolSummary{ID: c.Pool.ID, Name: c.Pool.Name})
			}
			sum.Open++
			sum.Pools[i].Open++
			if c.StaffUnread > 0 {
				sum.Unread++
				sum.Pools[i].Unread++
			}
			if c.Assignee != nil && c.Assignee.ID == staffID {
				sum.AssignedToMe++
			}
			if t := c.LastActivityAt; sum.LatestActivityAt == nil || t.After(*sum.LatestActivityAt) {
				sum.LatestActivityAt = &t
			}
		}
	}
	return sum, nil
}
