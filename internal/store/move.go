package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
)

// MoveConversation moves before's header and its whole chain, msgs, into
// the partition of after's audience, with the history entry and the audit
// record, in one transaction: each old item is deleted only with its copy
// in place, so the chart loses nothing and no strongly consistent read
// sees the conversation in both partitions or in neither (the staff
// inbox's indexes catch up within a second). The header's delete is
// conditional on the header as read, so a reply, a change or a read mark
// meanwhile gives domain.ErrStale and nothing moves. Copies keep
// every attribute but their key and audience, and carry movedAt so that
// the notifier ignores them.
func (s *Store) MoveConversation(ctx context.Context, before domain.Conversation, msgs []domain.Message, after domain.Conversation, e domain.Entry, rec audit.Record) error {
	if len(msgs) != before.MessageCount || len(msgs) > app.MaxMoveMessages {
		return fmt.Errorf("move: %d messages for a chain of %d (at most %d)", len(msgs), before.MessageCount, app.MaxMoveMessages)
	}
	header, err := marshal(newConvItem(after))
	if err != nil {
		return fmt.Errorf("encode conversation: %w", err)
	}
	// The header as read, down to what changes without moving the version
	// (a read mark, the overdue mark, the acknowledged window): the copy is
	// written from that read, so none of them may have moved meanwhile. The
	// builder cannot fail for these fixed names and values.
	cond := expression.Name(aVersion).Equal(expression.Value(before.Version)).
		And(expression.Name(aMessageCount).Equal(expression.Value(before.MessageCount)))
	for name, t := range map[string]*time.Time{aPortalReadAt: before.PortalReadAt, aStaffReadAt: before.StaffReadAt, aOverdueAt: before.OverdueAt, aAckedWindow: before.AckedWindow} {
		if t == nil {
			cond = cond.And(expression.AttributeNotExists(expression.Name(name)))
		} else {
			cond = cond.And(expression.Name(name).Equal(expression.Value(*t)))
		}
	}
	same, _ := expression.NewBuilder().WithCondition(cond).Build()
	exists := aws.String("attribute_exists(" + aPK + ")")
	tx := []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: aws.String(s.tables.Messages), Key: convKey(before.Patient.ID, before.Audience, before.ID).av(),
			ConditionExpression: same.Condition(), ExpressionAttributeNames: same.Names(), ExpressionAttributeValues: same.Values(),
		}},
		{Put: &types.Put{TableName: aws.String(s.tables.Messages), Item: header, ConditionExpression: aws.String(notExists)}},
	}
	at := e.At.UTC().Truncate(time.Microsecond)
	for _, m := range msgs {
		old := m
		old.Audience = before.Audience
		m.Audience = after.Audience
		it := newMsgItem(m)
		it.MovedAt = &at
		item, err := marshal(it)
		if err != nil {
			return fmt.Errorf("encode message: %w", err)
		}
		tx = append(tx,
			types.TransactWriteItem{Delete: &types.Delete{TableName: aws.String(s.tables.Messages), Key: newMsgItem(old).key.av(), ConditionExpression: exists}},
			types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.tables.Messages), Item: item, ConditionExpression: aws.String(notExists)}})
	}
	entry, err := s.entryPut(e)
	if err != nil {
		return err
	}
	a, err := s.auditPut(rec)
	if err != nil {
		return err
	}
	reasons, err := s.transact(ctx, "move conversation", append(tx, entry, a))
	if failed(reasons, 0) {
		return domain.ErrStale
	}
	return err
}
