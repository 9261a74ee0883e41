package store

import (
	"context"
	"errors"
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

const pfxAtt = "ATT#"

// Attachments table: PK the bare patient ID, as on Messages.
func attKey(patientID, id string) key { return key{patientID, pfxAtt + id} }

// attItem is one uploaded file's record.
type attItem struct {
	key
	ID             string                 `dynamodbav:"attachmentId"`
	PatientID      string                 `dynamodbav:"patientId"`
	ConversationID string                 `dynamodbav:"conversationId,omitempty"`
	MessageID      string                 `dynamodbav:"messageId,omitempty"`
	Uploader       partyAttrs             `dynamodbav:"uploader"`
	Name           string                 `dynamodbav:"name"`
	ContentType    string                 `dynamodbav:"contentType"`
	Size           int64                  `dynamodbav:"size,omitempty"`
	SHA256         string                 `dynamodbav:"sha256,omitempty"`
	Width          int                    `dynamodbav:"width,omitempty"`
	Height         int                    `dynamodbav:"height,omitempty"`
	Thumbnail      bool                   `dynamodbav:"thumbnail,omitempty"`
	State          domain.AttachmentState `dynamodbav:"state"`
	Blocked        string                 `dynamodbav:"blocked,omitempty"`
	Problem        string                 `dynamodbav:"problem,omitempty"`
	CreatedAt      time.Time              `dynamodbav:"createdAt"`
	ProcessedAt    *time.Time             `dynamodbav:"processedAt,omitempty"`
}

var (
	aAttState     = attr(attItem{}, "State")
	aAttMessageID = attr(attItem{}, "MessageID")
	aAttConvID    = attr(attItem{}, "ConversationID")
	aAttUploader  = attr(attItem{}, "Uploader")
)

func newAttItem(a domain.Attachment) attItem {
	return attItem{
		key: attKey(a.PatientID, a.ID), ID: a.ID, PatientID: a.PatientID, ConversationID: a.ConversationID,
		MessageID: a.MessageID, Uploader: partyOf(a.Uploader), Name: a.Name, ContentType: a.ContentType,
		Size: a.Size, SHA256: a.SHA256, Width: a.Width, Height: a.Height, Thumbnail: a.Thumbnail,
		State: a.State, Blocked: a.Blocked, Problem: a.Problem, CreatedAt: a.CreatedAt, ProcessedAt: a.ProcessedAt,
	}
}

func (it attItem) attachment() domain.Attachment {
	return domain.Attachment{
		ID: it.ID, PatientID: it.PatientID, ConversationID: it.ConversationID, MessageID: it.MessageID,
		Uploader: it.Uploader.party(), Name: it.Name, ContentType: it.ContentType, Size: it.Size, SHA256: it.SHA256,
		Width: it.Width, Height: it.Height, Thumbnail: it.Thumbnail, State: it.State, Blocked: it.Blocked,
		Problem: it.Problem, CreatedAt: it.CreatedAt, ProcessedAt: it.ProcessedAt,
	}
}

// attachmentRefAttrs is an attachment as a message item records it.
type attachmentRefAttrs struct {
	ID          string `dynamodbav:"id"`
	Name        string `dynamodbav:"name"`
	ContentType string `dynamodbav:"contentType"`
	Size        int64  `dynamodbav:"size"`
	SHA256      string `dynamodbav:"sha256"`
	Thumbnail   bool   `dynamodbav:"thumbnail,omitempty"`
}

func refsOf(refs []domain.AttachmentRef) []attachmentRefAttrs {
	var out []attachmentRefAttrs
	for _, r := range refs {
		out = append(out, attachmentRefAttrs(r))
	}
	return out
}

func refsFrom(attrs []attachmentRefAttrs) []domain.AttachmentRef {
	var out []domain.AttachmentRef
	for _, a := range attrs {
		out = append(out, domain.AttachmentRef(a))
	}
	return out
}

var _ app.AttachmentRepository = (*Store)(nil)

// PutAttachment stores a new upload slot's record with its audit record,
// in one transaction. Errors: EConflict on an ID collision.
func (s *Store) PutAttachment(ctx context.Context, a domain.Attachment, rec audit.Record) error {
	item, err := marshal(newAttItem(a))
	if err != nil {
		return fmt.Errorf("encode attachment: %w", err)
	}
	auditPut, err := s.auditPut(rec)
	if err != nil {
		return err
	}
	reasons, err := s.transact(ctx, "put attachment", []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.tables.Attachments), Item: item, ConditionExpression: aws.String(notExists)}},
		auditPut,
	})
	if failed(reasons, 0) {
		return domain.Errorf(domain.EConflict, "attachment already exists")
	}
	return err
}

// Attachment reads one attachment of a patient, strongly consistent.
// Errors: ENotFound.
func (s *Store) Attachment(ctx context.Context, patientID, id string) (*domain.Attachment, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.tables.Attachments), Key: attKey(patientID, id).av(), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, classify("get attachment", err)
	}
	if len(out.Item) == 0 {
		return nil, domain.ErrNotFound
	}
	var it attItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return nil, fmt.Errorf("decode attachment: %w", err)
	}
	a := it.attachment()
	return &a, nil
}

// errNotPending means the attachment was processed already.
var errNotPending = errors.New("attachment is not pending")

// FinishAttachment records the processor's result for a pending
// attachment (ready or blocked, with what it found) with its audit
// record, in one transaction. A redelivered event for an attachment
// already processed changes nothing: EConflict.
func (s *Store) FinishAttachment(ctx context.Context, a domain.Attachment, rec audit.Record) error {
	item, err := marshal(newAttItem(a))
	if err != nil {
		return fmt.Errorf("encode attachment: %w", err)
	}
	cond := expression.Name(aAttState).Equal(expression.Value(domain.AttachmentPending))
	expr, _ := expression.NewBuilder().WithCondition(cond).Build()
	auditPut, err := s.auditPut(rec)
	if err != nil {
		return err
	}
	reasons, err := s.transact(ctx, "finish attachment", []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(s.tables.Attachments), Item: item, ConditionExpression: expr.Condition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		}},
		auditPut,
	})
	if failed(reasons, 0) {
		return domain.Errorf(domain.EConflict, "%v", errNotPending)
	}
	return err
}

// claimAttachment is the part of a message's transaction that binds one
// ready attachment to it: only the uploader's own, ready, not yet carried
// by any message, and uploaded for this conversation (or for a new one).
func (s *Store) claimAttachment(m domain.Message, ref domain.AttachmentRef, newConversation bool) types.TransactWriteItem {
	cond := expression.Name(aAttState).Equal(expression.Value(domain.AttachmentReady)).
		And(expression.AttributeNotExists(expression.Name(aAttMessageID))).
		And(expression.Name(aAttUploader + ".id").Equal(expression.Value(m.Author.ID)))
	if newConversation {
		cond = cond.And(expression.AttributeNotExists(expression.Name(aAttConvID)))
	} else {
		cond = cond.And(expression.Name(aAttConvID).Equal(expression.Value(m.ConversationID)))
	}
	update := expression.Set(expression.Name(aAttMessageID), expression.Value(m.ID)).
		Set(expression.Name(aAttConvID), expression.Value(m.ConversationID))
	expr, _ := expression.NewBuilder().WithCondition(cond).WithUpdate(update).Build()
	return types.TransactWriteItem{Update: &types.Update{
		TableName: aws.String(s.tables.Attachments), Key: attKey(m.PatientID, ref.ID).av(),
		ConditionExpression: expr.Condition(), UpdateExpression: expr.Update(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}
}
