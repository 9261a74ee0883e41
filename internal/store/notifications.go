package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/notify/outbox"
	"github.com/pedsportal/messaging/internal/schema"
)

var _ outbox.Repository = (*Store)(nil)

// pendingItem is a notification waiting for its window to close, in the
// Notifications table: PK "RECIPIENT#<kind>#<id>", SK "CONV#<patient>#<conv>"
// for a family notification or "DIGEST" for a staff digest. DuePK/DueSK
// place it in the Due index until it is sent.
type pendingItem struct {
	key
	DuePK          string      `dynamodbav:"DuePK"`
	DueSK          string      `dynamodbav:"DueSK"`
	Kind           outbox.Kind `dynamodbav:"kind"`
	RecipientID    string      `dynamodbav:"recipientId"`
	PracticeID     string      `dynamodbav:"practiceId"`
	PatientID      string      `dynamodbav:"patientId,omitempty"`
	ConversationID string      `dynamodbav:"conversationId,omitempty"`
	Conversations  []string    `dynamodbav:"conversations,stringset,omitempty"`
	FirstAt        time.Time   `dynamodbav:"firstAt"`
	LastAt         time.Time   `dynamodbav:"lastAt"`
	DueAt          time.Time   `dynamodbav:"dueAt"`
	Version        int         `dynamodbav:"version"`
	ExpiresAt      int64       `dynamodbav:"ExpiresAt"`
	Overdue        bool        `dynamodbav:"overdue,omitempty"`
}

// seenItem remembers, for a day, that a message was applied to a
// recipient's pending notification, so a redelivered stream record adds
// nothing even after that notification was sent.
type seenItem struct {
	key
	ExpiresAt int64 `dynamodbav:"ExpiresAt"`
}

const (
	pfxRecipient = "RECIPIENT#"
	skDigest     = "DIGEST"
	skOverdue    = "OVERDUE" // a staff alert of conversations past their target
	pfxSeen      = "SEEN#"
	// duePartition holds every pending item in the Due index. A practice
	// has a few dozen pending at a time; thousands of practices in one
	// stack would shard it by due minute.
	duePartition = "DUE"
	// pendingTTL removes an item nobody sent within a week (a bug, or a
	// recipient gone): notifications are a courtesy, not chart content.
	pendingTTL = 7 * 24 * time.Hour
)

var (
	aDuePK         = attr(pendingItem{}, "DuePK")
	aDueSK         = attr(pendingItem{}, "DueSK")
	aDueAt         = attr(pendingItem{}, "DueAt")
	aFirstAt       = attr(pendingItem{}, "FirstAt")
	aLastAt        = attr(pendingItem{}, "LastAt")
	aConversations = attr(pendingItem{}, "Conversations")
	aPVersion      = attr(pendingItem{}, "Version")
)

func pendingKey(p outbox.Pending) key {
	sk := skDigest
	if p.Overdue {
		sk = skOverdue
	}
	if p.ConversationID != "" {
		sk = pfxConv + p.PatientID + "#" + p.ConversationID
	}
	return key{pfxRecipient + string(p.Recipient.Kind) + "#" + p.Recipient.ID, sk}
}

func dueSK(due time.Time, k key) string { return timeKey(due) + "#" + k.PK + "#" + k.SK }

// AddPending records p or adds its message to the recipient's pending
// notification, without moving its due time, and notes the message as
// seen, in one transaction; a message seen before changes nothing.
func (s *Store) AddPending(ctx context.Context, p outbox.Pending) error {
	k := pendingKey(p)
	exp := p.DueAt.Add(pendingTTL).Unix()
	update := expression.
		Set(expression.Name(attr(pendingItem{}, "Kind")), expression.Value(p.Recipient.Kind)).
		Set(expression.Name(attr(pendingItem{}, "RecipientID")), expression.Value(p.Recipient.ID)).
		Set(expression.Name(attr(pendingItem{}, "PracticeID")), expression.Value(p.PracticeID)).
		Set(expression.Name(aFirstAt), expression.IfNotExists(expression.Name(aFirstAt), expression.Value(p.FirstAt))).
		Set(expression.Name(aLastAt), expression.Value(p.LastAt)).
		Set(expression.Name(aDueAt), expression.IfNotExists(expression.Name(aDueAt), expression.Value(p.DueAt))).
		Set(expression.Name(aDuePK), expression.Value(duePartition)).
		Set(expression.Name(aDueSK), expression.IfNotExists(expression.Name(aDueSK), expression.Value(dueSK(p.DueAt, k)))).
		Set(expression.Name(aExpiresAt), expression.Value(exp)).
		Add(expression.Name(aPVersion), expression.Value(1))
	if p.Overdue {
		update = update.Set(expression.Name(attr(pendingItem{}, "Overdue")), expression.Value(true))
	}
	if p.ConversationID != "" {
		update = update.
			Set(expression.Name(attr(pendingItem{}, "PatientID")), expression.Value(p.PatientID)).
			Set(expression.Name(attr(pendingItem{}, "ConversationID")), expression.Value(p.ConversationID))
	}
	if len(p.Conversations) > 0 {
		refs := make([]string, len(p.Conversations))
		for i, c := range p.Conversations {
			refs[i] = c.PatientID + "/" + c.ConversationID
		}
		update = update.Add(expression.Name(aConversations), expression.Value(&types.AttributeValueMemberSS{Value: refs}))
	}
	expr, err := expression.NewBuilder().WithUpdate(update).Build()
	if err != nil {
		return fmt.Errorf("build pending update: %w", err)
	}
	seen, err := marshal(seenItem{key{pfxSeen + p.MessageID, k.PK}, p.LastAt.Add(24 * time.Hour).Unix()})
	if err != nil {
		return fmt.Errorf("encode seen marker: %w", err)
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.tables.Notifications), Item: seen, ConditionExpression: aws.String(notExists)}},
		{Update: &types.Update{
			TableName: aws.String(s.tables.Notifications), Key: k.av(),
			UpdateExpression: expr.Update(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		}},
	}})
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) && len(tce.CancellationReasons) > 0 && aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		return nil // this message was applied before: a redelivered record
	}
	return classify("add pending notification", err)
}

// Due lists pending notifications due at or before now, oldest first, with
// each recipient as the directory has them now: a preference changed or
// an address that bounced since the message arrived counts.
func (s *Store) Due(ctx context.Context, now time.Time, limit int) ([]outbox.Pending, error) {
	kc := expression.Key(aDuePK).Equal(expression.Value(duePartition)).
		And(expression.Key(aDueSK).LessThanEqual(expression.Value(timeKey(now) + "~")))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, fmt.Errorf("build due query: %w", err)
	}
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.tables.Notifications), IndexName: aws.String(schema.IndexDue),
		KeyConditionExpression: expr.KeyCondition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		Limit: aws.Int32(int32(limit)),
	})
	if err != nil {
		return nil, classify("query due notifications", err)
	}
	var items []pendingItem
	if err := attributevalue.UnmarshalListOfMaps(res.Items, &items); err != nil {
		return nil, fmt.Errorf("decode pending notifications: %w", err)
	}
	// The index is eventually consistent; read each item itself.
	var keys []map[string]types.AttributeValue
	for _, it := range items {
		keys = append(keys, it.key.av())
	}
	if len(keys) == 0 {
		return nil, nil
	}
	got, err := s.batchGet(ctx, map[string][]map[string]types.AttributeValue{s.tables.Notifications: keys})
	if err != nil {
		return nil, err
	}
	items = nil
	if err := attributevalue.UnmarshalListOfMaps(got[s.tables.Notifications], &items); err != nil {
		return nil, fmt.Errorf("decode pending notifications: %w", err)
	}
	slices.SortFunc(items, func(a, b pendingItem) int { return strings.Compare(a.DueSK, b.DueSK) })
	var out []outbox.Pending
	for _, it := range items {
		if it.DueAt.After(now) {
			continue // deferred meanwhile
		}
		r, err := s.recipient(ctx, it.Kind, it.RecipientID)
		if err != nil {
			return nil, err
		}
		p := outbox.Pending{
			PracticeID: it.PracticeID, PatientID: it.PatientID, ConversationID: it.ConversationID,
			FirstAt: it.FirstAt, LastAt: it.LastAt, DueAt: it.DueAt, Version: it.Version, Overdue: it.Overdue,
			Recipient: outbox.Recipient{Kind: it.Kind, ID: it.RecipientID},
		}
		if r != nil {
			p.Recipient = *r
		}
		for _, ref := range it.Conversations {
			pid, cid, _ := strings.Cut(ref, "/")
			p.Conversations = append(p.Conversations, outbox.ConversationRef{PatientID: pid, ConversationID: cid})
		}
		slices.SortFunc(p.Conversations, func(a, b outbox.ConversationRef) int {
			return strings.Compare(a.PatientID+a.ConversationID, b.PatientID+b.ConversationID)
		})
		out = append(out, p)
	}
	return out, nil
}

// pendingCondition holds when p is still the version that was read.
func pendingCondition(p outbox.Pending) (expression.ConditionBuilder, key) {
	return expression.Name(aPVersion).Equal(expression.Value(p.Version)), pendingKey(p)
}

// Defer moves p's due time to until, if p is unchanged since read.
func (s *Store) Defer(ctx context.Context, p outbox.Pending, until time.Time) error {
	cond, k := pendingCondition(p)
	update := expression.Set(expression.Name(aDueAt), expression.Value(until)).
		Set(expression.Name(aDueSK), expression.Value(dueSK(until, k))).
		Set(expression.Name(aExpiresAt), expression.Value(until.Add(pendingTTL).Unix()))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build defer: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.tables.Notifications), Key: k.av(),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // changed meanwhile: the next flush sees the new version
	}
	return classify("defer notification", err)
}

// Finish removes p, if unchanged since read, and appends recs, in one
// transaction. It reports false, writing nothing, when p changed or is gone.
func (s *Store) Finish(ctx context.Context, p outbox.Pending, recs []audit.Record) (bool, error) {
	cond, k := pendingCondition(p)
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return false, fmt.Errorf("build finish: %w", err)
	}
	tx := []types.TransactWriteItem{{Delete: &types.Delete{
		TableName: aws.String(s.tables.Notifications), Key: k.av(),
		ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}}
	for _, r := range recs {
		a, err := s.auditPut(r)
		if err != nil {
			return false, err
		}
		tx = append(tx, a)
	}
	reasons, err := s.transact(ctx, "finish notification", tx)
	if failed(reasons, 0) {
		return false, nil
	}
	return err == nil, err
}

// Conversation reads a conversation header; nil when absent.
func (s *Store) Conversation(ctx context.Context, patientID, convID string) (*domain.Conversation, error) {
	// Of either audience: the notifier serves no caller, and decides who
	// hears of a confidential conversation from the header it reads here.
	f, err := s.LoadAccess(ctx, authz.Query{PatientID: patientID, ConversationID: convID, Confidential: true})
	if err != nil {
		return nil, err
	}
	return f.Conversation, nil
}

// Practice reads a practice; nil when absent.
func (s *Store) Practice(ctx context.Context, practiceID string) (*domain.Practice, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.tables.Directory), Key: practiceKey(practiceID).av(), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, classify("get practice", err)
	}
	if res.Item == nil {
		return nil, nil
	}
	var v practiceItem
	if err := attributevalue.UnmarshalMap(res.Item, &v); err != nil {
		return nil, fmt.Errorf("decode practice: %w", err)
	}
	p := v.practice()
	return &p, nil
}

// FamilyRecipients lists the active portal users linked to a patient.
func (s *Store) FamilyRecipients(ctx context.Context, patientID string) ([]outbox.Recipient, error) {
	links, err := s.PatientLinks(ctx, patientID)
	if err != nil {
		return nil, err
	}
	var out []outbox.Recipient
	for _, l := range links {
		r, err := s.recipient(ctx, outbox.Family, l.PortalUserID)
		if err != nil {
			return nil, err
		}
		if r != nil {
			r.Relationship = l.Relationship
			out = append(out, *r)
		}
	}
	return out, nil
}

// StaffRecipients lists the active staff of a practice who opted in for
// poolID and have an e-mail address.
func (s *Store) StaffRecipients(ctx context.Context, practiceID, poolID string) ([]outbox.Recipient, error) {
	staff, err := s.StaffMembers(ctx, practiceID)
	if err != nil {
		return nil, err
	}
	var out []outbox.Recipient
	for _, m := range staff {
		if slices.Contains(m.NotifyPools, poolID) && m.Email != "" {
			out = append(out, staffRecipient(m))
		}
	}
	return out, nil
}

// StaffRecipient reads one active staff member; nil when absent.
func (s *Store) StaffRecipient(ctx context.Context, staffID string) (*outbox.Recipient, error) {
	return s.recipient(ctx, outbox.Staff, staffID)
}

func staffRecipient(m domain.StaffMember) outbox.Recipient {
	return outbox.Recipient{Kind: outbox.Staff, ID: m.ID, Email: m.Email, Channels: domain.Channels{Email: m.Email != ""}}
}

// recipient reads a portal user or staff member as a recipient; nil when
// absent or disabled.
func (s *Store) recipient(ctx context.Context, kind outbox.Kind, id string) (*outbox.Recipient, error) {
	q := authz.Query{PortalUserID: id}
	if kind == outbox.Staff {
		q = authz.Query{StaffID: id}
	}
	f, err := s.LoadAccess(ctx, q)
	if err != nil {
		return nil, err
	}
	switch {
	case kind == outbox.Family && f.PortalUser != nil && f.PortalUser.Active:
		u := f.PortalUser
		return &outbox.Recipient{Kind: kind, ID: id, Email: u.Email, Phone: u.Phone, Channels: u.Notify, EmailUnreachable: u.EmailUnreachable}, nil
	case kind == outbox.Staff && f.Staff != nil && f.Staff.Active:
		r := staffRecipient(*f.Staff)
		return &r, nil
	}
	return nil, nil
}

// MessageFromStream turns a Messages stream NewImage into the message it
// holds; false for any other item (a conversation header).
func MessageFromStream(image map[string]events.DynamoDBAttributeValue) (outbox.Message, bool, error) {
	av, err := fromStream(image)
	if err != nil {
		return outbox.Message{}, false, err
	}
	var k key
	if err := attributevalue.UnmarshalMap(av, &k); err != nil {
		return outbox.Message{}, false, fmt.Errorf("decode key: %w", err)
	}
	if !strings.HasPrefix(k.SK, pfxConv) || !strings.Contains(k.SK, pfxMsg) {
		return outbox.Message{}, false, nil
	}
	var m msgItem
	if err := attributevalue.UnmarshalMap(av, &m); err != nil {
		return outbox.Message{}, false, fmt.Errorf("decode message: %w", err)
	}
	if m.Automatic || m.MovedAt != nil {
		// The after-hours acknowledgement (the family reads it as they
		// write) and the copies a move between audiences makes are news
		// to nobody.
		return outbox.Message{}, false, nil
	}
	return outbox.Message{PatientID: m.PatientID, ConversationID: m.ConversationID, MessageID: m.ID, AuthorSide: m.Author.Side, At: m.CreatedAt}, true, nil
}

// fromStream converts the Lambda event's attribute values into the SDK's.
func fromStream(image map[string]events.DynamoDBAttributeValue) (map[string]types.AttributeValue, error) {
	out := make(map[string]types.AttributeValue, len(image))
	for k, v := range image {
		av, err := streamValue(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func streamValue(v events.DynamoDBAttributeValue) (types.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &types.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &types.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBoolean:
		return &types.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeBinary:
		return &types.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeStringSet:
		return &types.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &types.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &types.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeMap:
		m, err := fromStream(v.Map())
		return &types.AttributeValueMemberM{Value: m}, err
	case events.DataTypeList:
		var l []types.AttributeValue
		for _, e := range v.List() {
			av, err := streamValue(e)
			if err != nil {
				return nil, err
			}
			l = append(l, av)
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	}
	return nil, fmt.Errorf("unknown attribute type %v", v.DataType())
}
