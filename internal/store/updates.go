package store

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
)

// MarkRead clears side's unread count and stamps when it read c, with rec,
// in one transaction; the result is c.MarkedRead(side, at). It leaves the
// version alone, so a manager's page does not go stale because someone
// read the conversation; it is conditional on the message count c shows
// instead, so the read marks exactly what was seen. Errors: domain.ErrStale
// when a message arrived meanwhile.
func (s *Store) MarkRead(ctx context.Context, c domain.Conversation, side domain.Side, at time.Time, rec audit.Record) error {
	fill := newFilling(markSlots)
	x, err := markExprs.get(side, markUpdate(c, side, at, fill))
	if err != nil {
		return err
	}
	return s.updateHeader(ctx, c, x.with(fill), nil, rec)
}

// markUpdate assembles a read mark with values from b; its shape is side.
func markUpdate(c domain.Conversation, side domain.Side, at time.Time, b binder) expression.Builder {
	update := expression.
		Set(expression.Name(unreadAttr(side)), b.val(sZero, 0)).
		Set(expression.Name(readAtAttr(side)), b.val(mAt, at))
	cond := expression.Name(aMessageCount).Equal(b.val(mCount, c.MessageCount))
	return headerUpdate(update, cond)
}

// The slots of a read mark's update (sZero too).
const (
	mAt slot = iota + 1
	mCount
	markSlots
)

// markExprs holds a read mark's update per side.
var markExprs shapes // by domain.Side

// ChangeConversation applies ch to c with rec, and with the history
// entries that record it, in one transaction; the result is c.Changed(ch).
// Errors: domain.ErrStale when c's version is no longer current.
func (s *Store) ChangeConversation(ctx context.Context, c domain.Conversation, ch domain.Change, entries []domain.Entry, rec audit.Record) error {
	after := c.Changed(ch)
	update := expression.Add(expression.Name(aVersion), expression.Value(1))
	if after.Status != c.Status {
		update = update.Set(expression.Name(aStatus), expression.Value(after.Status))
		if after.Status == domain.StatusOpen {
			update = update.Set(expression.Name(aOpenPK), expression.Name(aInboxPK))
		} else {
			update = update.Remove(expression.Name(aOpenPK))
		}
	}
	if after.Assignee == nil {
		update = update.Remove(expression.Name(aAssignee)).Remove(expression.Name(aAssignedAt))
	} else {
		update = update.Set(expression.Name(aAssignee), expression.Value(partyOf(*after.Assignee))).
			Set(expression.Name(aAssignedAt), expression.Value(after.AssignedAt))
	}
	if after.Pool != c.Pool {
		update = update.Set(expression.Name(aPool), expression.Value(poolRefAttrs(after.Pool)))
	}
	update = queueOf(after).set(update, after, plain{})
	cond := expression.Name(aVersion).Equal(expression.Value(c.Version))
	return s.updateBuilt(ctx, c, update, cond, entries, rec)
}

// headerUpdate is the builder of an update on a conversation header,
// conditional on what the caller read (cond).
func headerUpdate(update expression.UpdateBuilder, cond expression.ConditionBuilder) expression.Builder {
	// messageCount exists only on conversation headers.
	cond = expression.AttributeExists(expression.Name(aMessageCount)).And(cond)
	return expression.NewBuilder().WithUpdate(update).WithCondition(cond)
}

// updateBuilt builds a header update on this call and commits it.
func (s *Store) updateBuilt(ctx context.Context, c domain.Conversation, update expression.UpdateBuilder, cond expression.ConditionBuilder, entries []domain.Entry, rec audit.Record) error {
	expr, err := headerUpdate(update, cond).Build()
	if err != nil {
		return fmt.Errorf("build update: %w", err)
	}
	return s.updateHeader(ctx, c, readyOf(expr), entries, rec)
}

// updateHeader commits x on c's header with the history entries and the
// audit record.
func (s *Store) updateHeader(ctx context.Context, c domain.Conversation, x ready, entries []domain.Entry, rec audit.Record) error {
	a, err := s.auditPut(rec)
	if err != nil {
		return err
	}
	tx := []types.TransactWriteItem{{Update: &types.Update{
		TableName:                 aws.String(s.tables.Messages),
		Key:                       convKey(c.Patient.ID, c.Audience, c.ID).av(),
		UpdateExpression:          x.update,
		ConditionExpression:       x.cond,
		ExpressionAttributeNames:  x.names,
		ExpressionAttributeValues: x.values,
	}}, a}
	for _, e := range entries {
		put, err := s.entryPut(e)
		if err != nil {
			return err
		}
		tx = append(tx, put)
	}
	reasons, err := s.transact(ctx, "update conversation", tx)
	if failed(reasons, 0) {
		return domain.ErrStale
	}
	return err
}

// entryPut is the put of a new history entry: never over an existing one.
func (s *Store) entryPut(e domain.Entry) (types.TransactWriteItem, error) {
	item, err := marshal(newEntryItem(e))
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("encode entry: %w", err)
	}
	return types.TransactWriteItem{Put: &types.Put{TableName: aws.String(s.tables.Worklog), Item: item, ConditionExpression: aws.String(notExists)}}, nil
}

// AddNote stores an internal note with its audit record in one
// transaction. The access read found the conversation, which is never
// deleted, so the note needs no check of its own on the header.
func (s *Store) AddNote(ctx context.Context, e domain.Entry, rec audit.Record) error {
	put, err := s.entryPut(e)
	if err != nil {
		return err
	}
	a, err := s.auditPut(rec)
	if err != nil {
		return err
	}
	reasons, err := s.transact(ctx, "add note", []types.TransactWriteItem{put, a})
	if failed(reasons, 0) {
		return domain.Errorf(domain.EConflict, "note already exists")
	}
	return err
}

// Worklog reads a conversation's notes and events, oldest first, up to
// limit.
func (s *Store) Worklog(ctx context.Context, patientID, convID string, limit int, start map[string]string) (app.Page[domain.Entry], error) {
	var page app.Page[domain.Entry]
	kc := expression.Key(aPK).Equal(expression.Value(patientID)).
		And(expression.Key(aSK).BeginsWith(pfxConv + convID + "#"))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return page, fmt.Errorf("build query: %w", err)
	}
	res, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Worklog),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ExclusiveStartKey:         toAV(start),
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(int32(limit)),
	})
	if err != nil {
		return page, classify("query worklog", err)
	}
	var items []entryItem
	if err := attributevalue.UnmarshalListOfMaps(res.Items, &items); err != nil {
		return page, fmt.Errorf("decode worklog: %w", err)
	}
	page.Items = mapItems(items, entryItem.entry)
	page.LastKey = fromAV(res.LastEvaluatedKey)
	return page, nil
}

// MarkOverdue marks c overdue at at, with its history entry and audit
// record, in one transaction: only while c still waits on staff since the
// same moment in the same pool and is not marked yet, and without moving the version (it
// is no manager's change). Errors: domain.ErrStale when c moved on.
func (s *Store) MarkOverdue(ctx context.Context, c domain.Conversation, at time.Time, e domain.Entry, rec audit.Record) error {
	update := expression.Set(expression.Name(aOverdueAt), expression.Value(at))
	cond := waitIs(c, plain{}).And(expression.AttributeNotExists(expression.Name(aOverdueAt)))
	return s.updateBuilt(ctx, c, update, cond, []domain.Entry{e}, rec)
}
