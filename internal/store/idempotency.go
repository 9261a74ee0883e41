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
	"github.com/pedsportal/messaging/internal/schema"
)

// idemItem remembers the outcome of a creating request for a day, so that a
// retried request returns the first result instead of writing twice. It
// lives in the Idempotency table, whose TTL removes it.
type idemItem struct {
	key
	RequestHash    string `dynamodbav:"requestHash"`
	ConversationID string `dynamodbav:"conversationId"`
	MessageID      string `dynamodbav:"messageId"`
	// Audience is set for a confidential conversation only.
	Audience  domain.Audience `dynamodbav:"audience,omitempty"`
	ExpiresAt int64           `dynamodbav:"ExpiresAt"`
}

// counterItem counts one caller's writes about one patient on one day.
type counterItem struct {
	key
	Count     int   `dynamodbav:"count"`
	ExpiresAt int64 `dynamodbav:"ExpiresAt"`
}

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 24 * time.Hour

func (s *Store) idemPut(m domain.Message, idem app.Idempotency) (types.TransactWriteItem, error) {
	rec, err := marshal(idemItem{
		key:            idemKey(m.PatientID, idem.CallerID, idem.Key),
		RequestHash:    idem.Hash,
		ConversationID: m.ConversationID,
		MessageID:      m.ID,
		Audience:       confidentialOnly(m.Audience),
		ExpiresAt:      m.CreatedAt.Add(IdempotencyTTL).Unix(),
	})
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("encode idempotency record: %w", err)
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(s.tables.Idempotency), Item: rec, ConditionExpression: aws.String(notExists),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}}, nil
}

// replayed decodes the record an earlier request with the same key left.
// Errors: EIdemMismatch when that request was a different one.
func replayed(reason types.CancellationReason, idem app.Idempotency) (app.Written, error) {
	var prev idemItem
	if err := attributevalue.UnmarshalMap(reason.Item, &prev); err != nil {
		return app.Written{}, fmt.Errorf("decode idempotency record: %w", err)
	}
	if prev.RequestHash != idem.Hash {
		return app.Written{}, domain.Errorf(domain.EIdemMismatch, "this Idempotency-Key was already used with a different request")
	}
	return app.Written{ConversationID: prev.ConversationID, MessageID: prev.MessageID, Audience: prev.Audience.OrFamily(), Replayed: true}, nil
}

func (s *Store) capUpdate(patientID string, c app.DailyCap) (types.TransactWriteItem, error) {
	fill := newFilling(capSlots)
	x, err := capExprs.get(struct{}{}, capCount(c, fill))
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("build counter update: %w", err)
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.tables.Idempotency), Key: counterKey(patientID, c.CallerID, c.Day).av(),
		UpdateExpression: x.update, ConditionExpression: x.cond,
		ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values(fill),
	}}, nil
}

// capCount assembles the daily counter's update with values from b.
func capCount(c app.DailyCap, b binder) expression.Builder {
	update := expression.Add(expression.Name(aCount), b.val(cOne, 1)).
		Set(expression.Name(schema.AttrExpiresAt), b.val(cExpires, c.ResetAt.Add(IdempotencyTTL).Unix()))
	cond := expression.AttributeNotExists(expression.Name(aCount)).
		Or(expression.Name(aCount).LessThan(b.val(cLimit, c.Limit)))
	return expression.NewBuilder().WithUpdate(update).WithCondition(cond)
}

// The slots of the daily counter's update.
const (
	cOne slot = iota
	cExpires
	cLimit
	capSlots
)

// capExprs holds the daily counter's update, which has one shape.
var capExprs shapes // one shape: struct{}{}

func capReached(c app.DailyCap, now time.Time) error {
	return &domain.Error{
		Code:       domain.EThrottled,
		Message:    "you have sent as many messages about this patient as the practice allows in one day; please call the office, or write again tomorrow",
		RetryAfter: max(c.ResetAt.Sub(now), time.Second),
		Err:        domain.ErrDailyLimit,
	}
}

// Replay loads the conversation and message an earlier request wrote.
func (s *Store) Replay(ctx context.Context, patientID string, w app.Written) (*domain.Conversation, *domain.Message, error) {
	got, err := s.batchGet(ctx, map[string][]map[string]types.AttributeValue{s.tables.Messages: {
		convKey(patientID, w.Audience, w.ConversationID).av(),
		msgKey(patientID, w.Audience, w.ConversationID, w.MessageID).av(),
	}})
	if err != nil {
		return nil, nil, err
	}
	var c *domain.Conversation
	var m *domain.Message
	for _, it := range got[s.tables.Messages] {
		var k key
		if err := attributevalue.UnmarshalMap(it, &k); err != nil {
			return nil, nil, fmt.Errorf("decode key: %w", err)
		}
		if k.SK == pfxConv+w.ConversationID {
			var v convItem
			if err := attributevalue.UnmarshalMap(it, &v); err != nil {
				return nil, nil, fmt.Errorf("decode conversation: %w", err)
			}
			cv := v.conversation()
			c = &cv
		} else {
			var v msgItem
			if err := attributevalue.UnmarshalMap(it, &v); err != nil {
				return nil, nil, fmt.Errorf("decode message: %w", err)
			}
			mv := v.message()
			m = &mv
		}
	}
	if c == nil || m == nil {
		return nil, nil, domain.Unavailable(errors.New("replay: idempotency record points at missing items"))
	}
	return c, m, nil
}
