package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
)

// MarkRead clears side's unread count and stamps when it read c, with rec,
// in one transaction; the result is c.MarkedRead(side, at). Errors:
// domain.ErrStale when c's version is no longer current.
func (s *Store) MarkRead(ctx context.Context, c domain.Conversation, side domain.Side, at time.Time, rec audit.Record) error {
	update := expression.
		Set(expression.Name(unreadAttr(side)), expression.Value(0)).
		Set(expression.Name(readAtAttr(side)), expression.Value(at)).
		Add(expression.Name(aVersion), expression.Value(1))
	return s.updateHeader(ctx, c, update, rec)
}

// ChangeConversation applies ch to c with rec in one transaction; the
// result is c.Changed(ch). Errors: domain.ErrStale when c's version is no longer
// current.
func (s *Store) ChangeConversation(ctx context.Context, c domain.Conversation, ch domain.Change, rec audit.Record) error {
	update := expression.Add(expression.Name(aVersion), expression.Value(1))
	if ch.Status != nil {
		update = update.Set(expression.Name(aStatus), expression.Value(*ch.Status))
		if *ch.Status == domain.StatusOpen {
			update = update.Set(expression.Name(aOpenPK), expression.Name(aInboxPK))
		} else {
			update = update.Remove(expression.Name(aOpenPK))
		}
	}
	if ch.Assignee != nil {
		if ch.Assignee.ID == "" {
			update = update.Remove(expression.Name(aAssignee))
		} else {
			update = update.Set(expression.Name(aAssignee), expression.Value(partyOf(*ch.Assignee)))
		}
	}
	return s.updateHeader(ctx, c, update, rec)
}

// updateHeader commits update on c's header, conditional on the version
// the caller read, with the audit record.
func (s *Store) updateHeader(ctx context.Context, c domain.Conversation, update expression.UpdateBuilder, rec audit.Record) error {
	// messageCount exists only on conversation headers.
	cond := expression.AttributeExists(expression.Name(aMessageCount)).
		And(expression.Name(aVersion).Equal(expression.Value(c.Version)))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build update: %w", err)
	}
	a, err := s.auditPut(rec)
	if err != nil {
		return err
	}
	reasons, err := s.transact(ctx, "update conversation", []types.TransactWriteItem{{Update: &types.Update{
		TableName:                 aws.String(s.tables.Messages),
		Key:                       convKey(c.Patient.ID, c.ID).av(),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}}, a})
	if failed(reasons, 0) {
		return domain.ErrStale
	}
	return err
}
