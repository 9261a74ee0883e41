package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
)

// Quick-reply templates live in the Directory table. Practice and pool
// templates, from the directory file, sit in the practice partition
// (PRACTICE#<id>, TEMPLATE#<id>). A staff member's own templates and
// their count sit in a partition of their own, TEMPLATES#STAFF#<staff id>
// (grants.StaffTemplatePartition, which a test holds equal to
// pfxStaffTemplates), apart from the staff profile: the
// templates function may write only there, so no bug of it can rewrite a
// staff record's role or active flag.
const (
	pfxStaffTemplates = "TEMPLATES#STAFF#"
	pfxTemplate       = "TEMPLATE#"
	skTemplateNum     = "COUNT"
)

// StaffTemplatePartition is the partition-key prefix of personal templates.
const StaffTemplatePartition = pfxStaffTemplates

func practiceTemplateKey(practiceID, id string) key {
	return key{pfxPractice + practiceID, pfxTemplate + id}
}
func personalTemplateKey(staffID, id string) key {
	return key{pfxStaffTemplates + staffID, pfxTemplate + id}
}
func personalCountKey(staffID string) key {
	return key{pfxStaffTemplates + staffID, skTemplateNum}
}

type templateItem struct {
	key
	ID         string               `dynamodbav:"templateId"`
	Scope      domain.TemplateScope `dynamodbav:"scope"`
	PracticeID string               `dynamodbav:"practiceId"`
	PoolID     string               `dynamodbav:"poolId,omitempty"`
	OwnerID    string               `dynamodbav:"ownerId,omitempty"`
	Title      string               `dynamodbav:"title"`
	Body       string               `dynamodbav:"body"`
	UpdatedAt  *time.Time           `dynamodbav:"updatedAt,omitempty"`
}

// templateCountItem counts a staff member's own templates, so that the cap
// holds under concurrent creates: each create and delete moves it in the
// same transaction.
type templateCountItem struct {
	key
	N int `dynamodbav:"n"`
}

func templateKey(t domain.Template) key {
	if t.Scope == domain.ScopeMine {
		return personalTemplateKey(t.OwnerID, t.ID)
	}
	return practiceTemplateKey(t.PracticeID, t.ID)
}

func newTemplateItem(t domain.Template) templateItem {
	return templateItem{templateKey(t), t.ID, t.Scope, t.PracticeID, t.PoolID, t.OwnerID, t.Title, t.Body, t.UpdatedAt}
}

func (t templateItem) template() domain.Template {
	return domain.Template{ID: t.ID, Scope: t.Scope, PracticeID: t.PracticeID, PoolID: t.PoolID, OwnerID: t.OwnerID, Title: t.Title, Body: t.Body, UpdatedAt: t.UpdatedAt}
}

var (
	aTemplateN         = attr(templateCountItem{}, "N")
	aTemplateTitle     = attr(templateItem{}, "Title")
	aTemplateBody      = attr(templateItem{}, "Body")
	aTemplateUpdatedAt = attr(templateItem{}, "UpdatedAt")
)

// PutPracticeTemplate stores a practice or pool template from the
// directory file.
func (s *Store) PutPracticeTemplate(ctx context.Context, t domain.Template) error {
	return s.putOwned(ctx, newTemplateItem(t), t.PracticeID, "template "+t.ID)
}

// DeletePracticeTemplate removes a practice or pool template the
// directory file no longer lists.
func (s *Store) DeletePracticeTemplate(ctx context.Context, practiceID, id string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.tables.Directory), Key: practiceTemplateKey(practiceID, id).av()})
	return classify("delete template", err)
}

// PracticeTemplates lists a practice's practice and pool templates.
func (s *Store) PracticeTemplates(ctx context.Context, practiceID string) ([]domain.Template, error) {
	var items []templateItem
	err := s.queryPrefix(ctx, s.tables.Directory, pfxPractice+practiceID, pfxTemplate, &items)
	return mapItems(items, templateItem.template), err
}

// Templates lists what a staff member may pick from: their practice's
// practice and pool templates and their own, in two Queries run at once.
func (s *Store) Templates(ctx context.Context, practiceID, staffID string) ([]domain.Template, error) {
	var (
		shared, mine []templateItem
		errs         [2]error
		wg           sync.WaitGroup
	)
	wg.Go(func() { errs[0] = s.queryPrefix(ctx, s.tables.Directory, pfxPractice+practiceID, pfxTemplate, &shared) })
	wg.Go(func() {
		errs[1] = s.queryPrefix(ctx, s.tables.Directory, pfxStaffTemplates+staffID, pfxTemplate, &mine)
	})
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	out := mapItems(shared, templateItem.template)
	for _, it := range mine {
		if t := it.template(); t.PracticeID == practiceID {
			out = append(out, t)
		}
	}
	return out, nil
}

// TemplateWithPractice reads, in one BatchGetItem, a template a staff
// member may use and their practice's record (for the variables): a
// personal template ID (domain.PersonalTemplatePrefix) is looked up
// among the staff member's own, any other among the practice's. The
// template is nil when there is none (or it is another practice's or
// another staff member's); the practice is nil when absent.
func (s *Store) TemplateWithPractice(ctx context.Context, practiceID, staffID, templateID string) (*domain.Practice, *domain.Template, error) {
	tk := practiceTemplateKey(practiceID, templateID)
	if strings.HasPrefix(templateID, domain.PersonalTemplatePrefix) {
		tk = personalTemplateKey(staffID, templateID)
	}
	got, err := s.batchGet(ctx, map[string][]map[string]types.AttributeValue{
		s.tables.Directory: {practiceKey(practiceID).av(), tk.av()},
	})
	if err != nil {
		return nil, nil, err
	}
	var (
		p *domain.Practice
		t *domain.Template
	)
	for _, it := range got[s.tables.Directory] {
		var k key
		if err := attributevalue.UnmarshalMap(it, &k); err != nil {
			return nil, nil, fmt.Errorf("decode key: %w", err)
		}
		if k.SK == skProfile {
			var v practiceItem
			if err := attributevalue.UnmarshalMap(it, &v); err != nil {
				return nil, nil, fmt.Errorf("decode practice: %w", err)
			}
			pr := v.practice()
			p = &pr
			continue
		}
		var v templateItem
		if err := attributevalue.UnmarshalMap(it, &v); err != nil {
			return nil, nil, fmt.Errorf("decode template: %w", err)
		}
		if tp := v.template(); tp.PracticeID == practiceID {
			t = &tp
		}
	}
	return p, t, nil
}

// CreateTemplate stores a new personal template and counts it, with rec,
// in one transaction. Errors: EConflict when the owner already has
// domain.PersonalTemplateMax templates (nothing is written then).
func (s *Store) CreateTemplate(ctx context.Context, t domain.Template, rec audit.Record) error {
	item, err := marshal(newTemplateItem(t))
	if err != nil {
		return fmt.Errorf("encode template: %w", err)
	}
	count, err := s.countUpdate(t.OwnerID, 1)
	if err != nil {
		return err
	}
	a, err := s.auditPut(rec)
	if err != nil {
		return err
	}
	reasons, err := s.transact(ctx, "create template", []types.TransactWriteItem{
		{Update: count},
		{Put: &types.Put{TableName: aws.String(s.tables.Directory), Item: item, ConditionExpression: aws.String(notExists)}},
		a,
	})
	if failed(reasons, 0) {
		return domain.Errorf(domain.EConflict, "you have %d templates, the limit; delete one first", domain.PersonalTemplateMax)
	}
	return err
}

// UpdateTemplate replaces a personal template's title and body, with rec,
// in one transaction. Errors: ENotFound when the owner has no such
// template.
func (s *Store) UpdateTemplate(ctx context.Context, t domain.Template, rec audit.Record) error {
	update := expression.Set(expression.Name(aTemplateTitle), expression.Value(t.Title)).
		Set(expression.Name(aTemplateBody), expression.Value(t.Body)).
		Set(expression.Name(aTemplateUpdatedAt), expression.Value(t.UpdatedAt))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(expression.AttributeExists(expression.Name(aPK))).Build()
	if err != nil {
		return fmt.Errorf("build update: %w", err)
	}
	a, err := s.auditPut(rec)
	if err != nil {
		return err
	}
	reasons, err := s.transact(ctx, "update template", []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(s.tables.Directory), Key: personalTemplateKey(t.OwnerID, t.ID).av(),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}}, a})
	if failed(reasons, 0) {
		return domain.ErrNotFound
	}
	return err
}

// DeleteTemplate removes a personal template and uncounts it, with rec, in
// one transaction. Errors: ENotFound when the owner has no such template.
func (s *Store) DeleteTemplate(ctx context.Context, ownerID, id string, rec audit.Record) error {
	cond, err := expression.NewBuilder().WithCondition(expression.AttributeExists(expression.Name(aPK))).Build()
	if err != nil {
		return fmt.Errorf("build condition: %w", err)
	}
	count, err := s.countUpdate(ownerID, -1)
	if err != nil {
		return err
	}
	a, err := s.auditPut(rec)
	if err != nil {
		return err
	}
	reasons, err := s.transact(ctx, "delete template", []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: aws.String(s.tables.Directory), Key: personalTemplateKey(ownerID, id).av(),
			ConditionExpression: cond.Condition(), ExpressionAttributeNames: cond.Names(),
		}},
		{Update: count},
		a,
	})
	if failed(reasons, 0) {
		return domain.ErrNotFound
	}
	return err
}

// countUpdate moves a staff member's template count by delta; a rise is
// conditional on the count staying within the cap.
func (s *Store) countUpdate(ownerID string, delta int) (*types.Update, error) {
	b := expression.NewBuilder().WithUpdate(expression.Add(expression.Name(aTemplateN), expression.Value(delta)))
	if delta > 0 {
		b = b.WithCondition(expression.AttributeNotExists(expression.Name(aTemplateN)).
			Or(expression.Name(aTemplateN).LessThanEqual(expression.Value(domain.PersonalTemplateMax - delta))))
	}
	expr, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("build count update: %w", err)
	}
	return &types.Update{
		TableName: aws.String(s.tables.Directory), Key: personalCountKey(ownerID).av(),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}, nil
}
