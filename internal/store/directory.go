package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/schema"
)

// PortalUserLinks lists the patients linked to a portal user: the Current
// Patient list.
func (s *Store) PortalUserLinks(ctx context.Context, portalUserID string) ([]domain.Link, error) {
	kc := expression.Key(aGSI1PK).Equal(expression.Value(pfxPortalUser + portalUserID))
	var items []linkItem
	if err := s.queryAll(ctx, &dynamodb.QueryInput{
		TableName: aws.String(s.tables.Directory),
		IndexName: aws.String(schema.IndexByPortalUser),
	}, kc, &items); err != nil {
		return nil, err
	}
	return mapItems(items, linkItem.link), nil
}

// PatientLinks lists the portal users linked to a patient.
func (s *Store) PatientLinks(ctx context.Context, patientID string) ([]domain.Link, error) {
	var items []linkItem
	err := s.queryPrefix(ctx, s.tables.Directory, pfxPatient+patientID, pfxLink, &items)
	return mapItems(items, linkItem.link), err
}

// Pools lists a practice's recipient pools.
func (s *Store) Pools(ctx context.Context, practiceID string) ([]domain.Pool, error) {
	var items []poolItem
	err := s.queryPrefix(ctx, s.tables.Directory, pfxPractice+practiceID, pfxPool, &items)
	return mapItems(items, poolItem.pool), err
}

// PracticeSettings reads a practice's record and its recipient pools in one
// strongly consistent Query of the practice partition: the profile (SK
// PROFILE) and the roster's pools (SK POOL#…) are the only items whose
// sort keys fall between "POOL#" and "PROFILE" (patients sort before,
// staff after). Errors: ENotFound when there is no such practice.
func (s *Store) PracticeSettings(ctx context.Context, practiceID string) (domain.Practice, []domain.Pool, error) {
	kc := expression.Key(aPK).Equal(expression.Value(pfxPractice + practiceID)).
		And(expression.Key(aSK).Between(expression.Value(pfxPool), expression.Value(skProfile)))
	items, err := s.queryItems(ctx, &dynamodb.QueryInput{TableName: aws.String(s.tables.Directory), ConsistentRead: aws.Bool(true)}, kc)
	if err != nil {
		return domain.Practice{}, nil, err
	}
	var (
		p     *domain.Practice
		pools []domain.Pool
	)
	for _, it := range items {
		var k key
		if err := attributevalue.UnmarshalMap(it, &k); err != nil {
			return domain.Practice{}, nil, fmt.Errorf("decode key: %w", err)
		}
		switch {
		case k.SK == skProfile:
			var v practiceItem
			if err := attributevalue.UnmarshalMap(it, &v); err != nil {
				return domain.Practice{}, nil, fmt.Errorf("decode practice: %w", err)
			}
			pr := v.practice()
			p = &pr
		case strings.HasPrefix(k.SK, pfxPool):
			var v poolItem
			if err := attributevalue.UnmarshalMap(it, &v); err != nil {
				return domain.Practice{}, nil, fmt.Errorf("decode pool: %w", err)
			}
			pools = append(pools, v.pool())
		}
	}
	if p == nil {
		return domain.Practice{}, nil, domain.ErrNotFound
	}
	return *p, pools, nil
}

// StaffMembers lists a practice's active staff.
func (s *Store) StaffMembers(ctx context.Context, practiceID string) ([]domain.StaffMember, error) {
	var items []staffItem
	if err := s.queryPrefix(ctx, s.tables.Directory, pfxPractice+practiceID, pfxStaff, &items); err != nil {
		return nil, err
	}
	staff := mapItems(items, staffItem.member)
	return slices.DeleteFunc(staff, func(m domain.StaffMember) bool { return !m.Active }), nil
}

// SearchPatients finds a practice's patients by name parts (prefixes, any
// case, accents folded) and a date of birth, through the Search index: one
// Query of that practice's tokens, never a read of the roster. At most
// limit, in token order.
func (s *Store) SearchPatients(ctx context.Context, practiceID string, q domain.SearchQuery, limit int) ([]domain.Patient, error) {
	found, err := s.searchIndex(ctx, practiceID, entPatient, q, limit)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Patient, len(found))
	for i, it := range found {
		out[i] = domain.Patient{ID: it.EntityID, PracticeID: it.PracticeID, DisplayName: it.DisplayName, DateOfBirth: it.DateOfBirth}
	}
	return out, nil
}

func mapItems[I, T any](items []I, f func(I) T) []T {
	if items == nil {
		return nil
	}
	out := make([]T, len(items))
	for i, it := range items {
		out[i] = f(it)
	}
	return out
}

// queryPrefix reads every item of partition pk whose sort key starts with
// prefix (any, when prefix is empty), following pages.
func (s *Store) queryPrefix(ctx context.Context, table, pk, prefix string, out any) error {
	kc := expression.Key(aPK).Equal(expression.Value(pk))
	if prefix != "" {
		kc = kc.And(expression.Key(aSK).BeginsWith(prefix))
	}
	return s.queryAll(ctx, &dynamodb.QueryInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)}, kc, out)
}

// queryAll runs in with key condition kc, following pages, and decodes
// every item into out.
func (s *Store) queryAll(ctx context.Context, in *dynamodb.QueryInput, kc expression.KeyConditionBuilder, out any) error {
	all, err := s.queryItems(ctx, in, kc)
	if err != nil {
		return err
	}
	if err := attributevalue.UnmarshalListOfMaps(all, out); err != nil {
		return fmt.Errorf("decode items: %w", err)
	}
	return nil
}

// queryItems runs in with key condition kc, following pages, and returns
// the raw items, for a partition holding items of several kinds.
func (s *Store) queryItems(ctx context.Context, in *dynamodb.QueryInput, kc expression.KeyConditionBuilder) ([]map[string]types.AttributeValue, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, fmt.Errorf("build query: %w", err)
	}
	in.KeyConditionExpression = expr.KeyCondition()
	in.ExpressionAttributeNames = expr.Names()
	in.ExpressionAttributeValues = expr.Values()
	var all []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.db, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify("query", err)
		}
		all = append(all, page.Items...)
	}
	return all, nil
}

// PutLink links a portal user to a patient (or updates the relationship)
// and appends rec in the same transaction.
func (s *Store) PutLink(ctx context.Context, practiceID string, l domain.Link, rec audit.Record) error {
	item, err := marshal(newLinkItem(practiceID, l))
	if err != nil {
		return fmt.Errorf("encode link: %w", err)
	}
	a, err := s.auditPut(rec)
	if err != nil {
		return err
	}
	_, err = s.transact(ctx, "put link", []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.tables.Directory), Item: item}}, a,
	})
	return err
}

// DeleteLink removes a link and appends rec in the same transaction.
// Portal access checks read links with strong consistency, so the very
// next request of that user is refused. Errors: ENotFound when there was
// no such link (nothing is written then).
func (s *Store) DeleteLink(ctx context.Context, patientID, portalUserID string, rec audit.Record) error {
	a, err := s.auditPut(rec)
	if err != nil {
		return err
	}
	cond := expression.AttributeExists(expression.Name(aPK))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build condition: %w", err)
	}
	reasons, err := s.transact(ctx, "delete link", []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: aws.String(s.tables.Directory), Key: linkKey(patientID, portalUserID).av(),
			ConditionExpression: expr.Condition(), ExpressionAttributeNames: expr.Names(),
		}}, a,
	})
	if failed(reasons, 0) {
		return domain.ErrNotFound
	}
	return err
}

// Directory writes, used by the directory loader and seeding. Each record
// belongs to one practice: a put that would take over another practice's
// patient, pool, staff member or portal user is refused (EConflict), so two
// practices loading the same ID can never share a chart.

// PutPractice stores a practice.
func (s *Store) PutPractice(ctx context.Context, p domain.Practice) error {
	if err := s.putOwned(ctx, newPracticeItem(p), p.ID, "practice "+p.ID); err != nil {
		return err
	}
	return s.putOwned(ctx, registryItem{practiceRegistryKey(p.ID), p.ID}, p.ID, "practice "+p.ID)
}

// Practices lists the IDs of every practice, from the registry partition
// the directory loader keeps: what scheduled work (escalation) iterates.
func (s *Store) Practices(ctx context.Context) ([]string, error) {
	kc := expression.Key(aPK).Equal(expression.Value(pkPractices))
	items, err := s.queryItems(ctx, &dynamodb.QueryInput{TableName: aws.String(s.tables.Directory)}, kc)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(items))
	for _, it := range items {
		var k key
		if err := attributevalue.UnmarshalMap(it, &k); err != nil {
			return nil, fmt.Errorf("decode practice: %w", err)
		}
		ids = append(ids, k.SK)
	}
	return ids, nil
}

// PutPatient stores a patient's profile, its entry in the practice roster
// and its search tokens (a renamed patient loses its old ones).
func (s *Store) PutPatient(ctx context.Context, p domain.Patient) error {
	if err := s.putOwned(ctx, newPatientItem(patientKey(p.ID), p), p.PracticeID, "patient "+p.ID); err != nil {
		return err
	}
	if err := s.putOwned(ctx, newPatientItem(rosterPatientKey(p.PracticeID, p.ID), p), p.PracticeID, "patient "+p.ID); err != nil {
		return err
	}
	_, err := s.syncTokens(ctx, patientKey(p.ID).PK, patientTokens(p))
	return err
}

// PutStaff stores a staff member's profile and roster entry.
func (s *Store) PutStaff(ctx context.Context, m domain.StaffMember) error {
	if err := s.putOwned(ctx, newStaffItem(staffKey(m.ID), m), m.PracticeID, "staff member "+m.ID); err != nil {
		return err
	}
	return s.putOwned(ctx, newStaffItem(rosterStaffKey(m.PracticeID, m.ID), m), m.PracticeID, "staff member "+m.ID)
}

// PutPool stores a recipient pool.
func (s *Store) PutPool(ctx context.Context, p domain.Pool) error {
	if err := s.putOwned(ctx, newPoolItem(poolKey(p.ID), p), p.PracticeID, "pool "+p.ID); err != nil {
		return err
	}
	return s.putOwned(ctx, newPoolItem(rosterPoolKey(p.PracticeID, p.ID), p), p.PracticeID, "pool "+p.ID)
}

// PutPortalUser stores a portal user's profile from the practice's
// directory, with its search tokens. The notification choice is the
// file's only for a new account: a reload keeps what the family chose in
// the portal, and a bounce stays recorded until the address changes.
func (s *Store) PutPortalUser(ctx context.Context, u domain.PortalUser) error {
	it := newPortalUserItem(u)
	notify, err := attributevalue.Marshal(it.Notify)
	if err != nil {
		return fmt.Errorf("encode notify: %w", err)
	}
	update := expression.
		Set(expression.Name(attr(portalUserItem{}, "ID")), expression.Value(it.ID)).
		Set(expression.Name(aPracticeID), expression.Value(it.PracticeID)).
		Set(expression.Name(attr(portalUserItem{}, "DisplayName")), expression.Value(it.DisplayName)).
		Set(expression.Name(aActive), expression.Value(it.Active)).
		Set(expression.Name(aNotify), expression.IfNotExists(expression.Name(aNotify), expression.Value(notify)))
	for _, f := range []struct{ name, v string }{{attr(portalUserItem{}, "Email"), it.Email}, {attr(portalUserItem{}, "Phone"), it.Phone}} {
		if f.v == "" {
			update = update.Remove(expression.Name(f.name))
		} else {
			update = update.Set(expression.Name(f.name), expression.Value(f.v))
		}
	}
	if err := s.updateOwned(ctx, it.key, update, u.PracticeID, "portal user "+u.ID); err != nil {
		return err
	}
	// Its search tokens follow its name and address.
	_, err = s.syncTokens(ctx, it.key.PK, portalUserTokens(u))
	return err
}

// SetNotifyAudited records a portal user's choice of notification channels
// and appends rec in the same transaction: the change and its record
// commit together or not at all. The update names only the keys and the
// channels (PreferenceAttributes). Errors: ENotFound when there is no such
// account (nothing is written then).
func (s *Store) SetNotifyAudited(ctx context.Context, portalUserID string, ch domain.Channels, rec audit.Record) error {
	update, err := s.notifyUpdate(portalUserID, ch)
	if err != nil {
		return err
	}
	a, err := s.auditPut(rec)
	if err != nil {
		return err
	}
	reasons, err := s.transact(ctx, "set notify", []types.TransactWriteItem{{Update: update}, a})
	if failed(reasons, 0) {
		return domain.ErrNotFound
	}
	return err
}

// notifyUpdate sets a portal user's channels, on condition that the
// account exists.
func (s *Store) notifyUpdate(portalUserID string, ch domain.Channels) (*types.Update, error) {
	update := expression.Set(expression.Name(aNotify), expression.Value(channelsAttrs(ch)))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(expression.AttributeExists(expression.Name(aPK))).Build()
	if err != nil {
		return nil, fmt.Errorf("build update: %w", err)
	}
	return &types.Update{
		TableName: aws.String(s.tables.Directory), Key: portalUserKey(portalUserID).av(),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	}, nil
}

// MarkEmailUnreachable records that a portal user's address bounced or
// complained, if it is still their address; notifications stop using it.
func (s *Store) MarkEmailUnreachable(ctx context.Context, portalUserID, address string) error {
	aEmail := attr(portalUserItem{}, "Email")
	update := expression.Set(expression.Name(attr(portalUserItem{}, "UnreachableEmail")), expression.Value(address))
	cond := expression.Name(aEmail).Equal(expression.Value(address))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build update: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.tables.Directory), Key: portalUserKey(portalUserID).av(),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return nil // the address changed meanwhile, or no such account
	}
	if err != nil {
		return classify("mark unreachable", err)
	}
	// Each of the user's links shows it to staff on the patient's page.
	links, err := s.PortalUserLinks(ctx, portalUserID)
	if err != nil {
		return err
	}
	set, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name(attr(linkItem{}, "EmailUnreachable")), expression.Value(true))).
		WithCondition(expression.AttributeExists(expression.Name(aPK))).Build()
	if err != nil {
		return fmt.Errorf("build update: %w", err)
	}
	for _, l := range links {
		_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(s.tables.Directory), Key: linkKey(l.PatientID, portalUserID).av(),
			UpdateExpression: set.Update(), ConditionExpression: set.Condition(),
			ExpressionAttributeNames: set.Names(), ExpressionAttributeValues: set.Values(),
		})
		if err != nil && !errors.As(err, &ccf) { // unlinked meanwhile: nothing to show
			return classify("mark link unreachable", err)
		}
	}
	return nil
}

// updateOwned applies update to key unless the item belongs to another
// practice.
func (s *Store) updateOwned(ctx context.Context, k key, update expression.UpdateBuilder, practiceID, what string) error {
	cond := expression.AttributeNotExists(expression.Name(aPK)).
		Or(expression.Name(aPracticeID).Equal(expression.Value(practiceID)))
	expr, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build update: %w", err)
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.tables.Directory), Key: k.av(),
		UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return domain.Errorf(domain.EConflict, "%s belongs to another practice; choose another ID", what)
	}
	return classify("update", err)
}

// putOwned puts v unless an item with its key belongs to another practice.
func (s *Store) putOwned(ctx context.Context, v any, practiceID, what string) error {
	item, err := marshal(v)
	if err != nil {
		return fmt.Errorf("encode item: %w", err)
	}
	cond := expression.AttributeNotExists(expression.Name(aPK)).
		Or(expression.Name(aPracticeID).Equal(expression.Value(practiceID)))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return fmt.Errorf("build condition: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(s.tables.Directory),
		Item:                      item,
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return domain.Errorf(domain.EConflict, "%s belongs to another practice; choose another ID", what)
	}
	return classify("put", err)
}
