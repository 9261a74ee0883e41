package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/schema"
)

type patientItem struct {
	key
	domain.Patient
	// SearchName is the lower-cased name, for the staff search.
	SearchName string `dynamodbav:"searchName"`
}

type linkItem struct {
	key
	GSI1PK string `dynamodbav:"GSI1PK"`
	GSI1SK string `dynamodbav:"GSI1SK"`
	domain.Link
	PracticeID string `dynamodbav:"practiceId"`
}

type staffItem struct {
	key
	domain.StaffMember
}

type poolItem struct {
	key
	domain.Pool
}

type portalUserItem struct {
	key
	domain.PortalUser
}

type practiceItem struct {
	key
	domain.Practice
}

// Access is what one authorization look-up returns: everything a request
// needs to know about the caller's relation to a patient, read in a single
// BatchGetItem round trip.
type Access struct {
	Staff   *domain.StaffMember // the calling staff member, for staff requests
	Patient *domain.Patient     // the patient, for staff requests
	Link    *domain.Link        // the caller's link (portal) or the target portal user's link (staff)
	Pool    *domain.Pool        // the requested pool, when asked for
	// Assignee is the staff member named by AccessQuery.AssigneeID.
	Assignee *domain.StaffMember
	// LinkPracticeID is the practice of the link, for portal requests.
	LinkPracticeID string
}

// AccessQuery names what to load. Empty fields are not loaded.
type AccessQuery struct {
	StaffID      string
	PatientID    string
	PortalUserID string // load the link between PatientID and this user
	PoolID       string
	AssigneeID   string // a second staff member, e.g. a new assignee
}

// LoadAccess reads, in one strongly consistent BatchGetItem, the items named
// by q. Missing items are left nil; deciding what that means is the caller's.
func (s *Store) LoadAccess(ctx context.Context, q AccessQuery) (*Access, error) {
	var keys []map[string]types.AttributeValue
	if q.StaffID != "" {
		keys = append(keys, staffKey(q.StaffID).av())
		if q.PatientID != "" {
			keys = append(keys, patientKey(q.PatientID).av())
		}
	}
	if q.PatientID != "" && q.PortalUserID != "" {
		keys = append(keys, linkKey(q.PatientID, q.PortalUserID).av())
	}
	if q.PoolID != "" {
		keys = append(keys, poolKey(q.PoolID).av())
	}
	if q.AssigneeID != "" && q.AssigneeID != q.StaffID {
		keys = append(keys, staffKey(q.AssigneeID).av())
	}
	acc := &Access{}
	if len(keys) == 0 {
		return acc, nil
	}
	items, err := s.batchGet(ctx, s.tables.Directory, keys)
	if err != nil {
		return nil, err
	}
	for _, it := range items {
		var k key
		if err := attributevalue.UnmarshalMap(it, &k); err != nil {
			return nil, fmt.Errorf("decode key: %w", err)
		}
		switch {
		case strings.HasPrefix(k.PK, pfxStaff):
			var v staffItem
			err = attributevalue.UnmarshalMap(it, &v)
			if v.ID == q.StaffID {
				acc.Staff = &v.StaffMember
			}
			if v.ID == q.AssigneeID {
				acc.Assignee = &v.StaffMember
			}
		case strings.HasPrefix(k.SK, pfxLink):
			var v linkItem
			err = attributevalue.UnmarshalMap(it, &v)
			acc.Link, acc.LinkPracticeID = &v.Link, v.PracticeID
		case k.SK == skProfile && strings.HasPrefix(k.PK, pfxPatient):
			var v patientItem
			err = attributevalue.UnmarshalMap(it, &v)
			acc.Patient = &v.Patient
		case strings.HasPrefix(k.PK, pfxPool):
			var v poolItem
			err = attributevalue.UnmarshalMap(it, &v)
			acc.Pool = &v.Pool
		}
		if err != nil {
			return nil, fmt.Errorf("decode directory item: %w", err)
		}
	}
	return acc, nil
}

// batchGet reads keys from one table with strong consistency, retrying
// unprocessed keys a bounded number of times.
func (s *Store) batchGet(ctx context.Context, table string, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	req := map[string]types.KeysAndAttributes{table: {Keys: keys, ConsistentRead: aws.Bool(true)}}
	var out []map[string]types.AttributeValue
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt == 5 {
			return nil, domain.Unavailable(fmt.Errorf("batch get: keys still unprocessed after %d attempts", attempt))
		}
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt)); err != nil {
				return nil, err
			}
		}
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, classify("batch get", err)
		}
		out = append(out, res.Responses[table]...)
		req = res.UnprocessedKeys
	}
	return out, nil
}

// PortalUserLinks lists the patients linked to a portal user: the Current
// Patient list.
func (s *Store) PortalUserLinks(ctx context.Context, portalUserID string) ([]domain.Link, error) {
	kc := expression.Key(schema.AttrGSI1PK).Equal(expression.Value(pfxPortalUser + portalUserID))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, fmt.Errorf("build query: %w", err)
	}
	var links []domain.Link
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Directory),
		IndexName:                 aws.String(schema.IndexByPortalUser),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify("query links", err)
		}
		var got []domain.Link
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &got); err != nil {
			return nil, fmt.Errorf("decode links: %w", err)
		}
		links = append(links, got...)
	}
	return links, nil
}

// Directory items carry their domain type's attributes beside the keys, so
// lists decode straight into domain types.

// PatientLinks lists the portal users linked to a patient.
func (s *Store) PatientLinks(ctx context.Context, patientID string) ([]domain.Link, error) {
	var links []domain.Link
	err := s.queryPrefix(ctx, s.tables.Directory, pfxPatient+patientID, pfxLink, &links)
	return links, err
}

// Pools lists a practice's recipient pools.
func (s *Store) Pools(ctx context.Context, practiceID string) ([]domain.Pool, error) {
	var pools []domain.Pool
	err := s.queryPrefix(ctx, s.tables.Directory, pfxPractice+practiceID, pfxPool, &pools)
	return pools, err
}

// StaffMembers lists a practice's active staff.
func (s *Store) StaffMembers(ctx context.Context, practiceID string) ([]domain.StaffMember, error) {
	var staff []domain.StaffMember
	if err := s.queryPrefix(ctx, s.tables.Directory, pfxPractice+practiceID, pfxStaff, &staff); err != nil {
		return nil, err
	}
	return slices.DeleteFunc(staff, func(m domain.StaffMember) bool { return !m.Active }), nil
}

// SearchPatients finds a practice's patients whose name contains q (any
// case), or whose date of birth is q. A practice's roster is one partition,
// read in pages; a small practice has a few thousand patients at most.
func (s *Store) SearchPatients(ctx context.Context, practiceID, q string, limit int) ([]domain.Patient, error) {
	q = strings.ToLower(strings.TrimSpace(q))
	var items []patientItem
	if err := s.queryPrefix(ctx, s.tables.Directory, pfxPractice+practiceID, pfxPatient, &items); err != nil {
		return nil, err
	}
	var out []domain.Patient
	for _, it := range items {
		if it.DateOfBirth == q || strings.Contains(it.SearchName, q) {
			out = append(out, it.Patient)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// queryPrefix reads every item of partition pk whose sort key starts with
// prefix (any, when prefix is empty), following pages.
func (s *Store) queryPrefix(ctx context.Context, table, pk, prefix string, out any) error {
	kc := expression.Key("PK").Equal(expression.Value(pk))
	if prefix != "" {
		kc = kc.And(expression.Key("SK").BeginsWith(prefix))
	}
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return fmt.Errorf("build query: %w", err)
	}
	var all []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(table),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return classify("query", err)
		}
		all = append(all, page.Items...)
	}
	if err := attributevalue.UnmarshalListOfMaps(all, out); err != nil {
		return fmt.Errorf("decode items: %w", err)
	}
	return nil
}

// PutLink links a portal user to a patient (or updates the relationship).
func (s *Store) PutLink(ctx context.Context, practiceID string, l domain.Link) error {
	item, err := marshal(linkItem{
		key:        linkKey(l.PatientID, l.PortalUserID),
		GSI1PK:     pfxPortalUser + l.PortalUserID,
		GSI1SK:     pfxPatient + l.PatientID,
		Link:       l,
		PracticeID: practiceID,
	})
	if err != nil {
		return fmt.Errorf("encode link: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.tables.Directory), Item: item})
	return classify("put link", err)
}

// DeleteLink removes a link. Portal access checks read links with strong
// consistency, so the very next request of that user is refused.
func (s *Store) DeleteLink(ctx context.Context, patientID, portalUserID string) (existed bool, err error) {
	res, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:    aws.String(s.tables.Directory),
		Key:          linkKey(patientID, portalUserID).av(),
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return false, classify("delete link", err)
	}
	return len(res.Attributes) > 0, nil
}

// PortalUser reads a portal user's profile; nil when absent.
func (s *Store) PortalUser(ctx context.Context, id string) (*domain.PortalUser, error) {
	res, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.tables.Directory), Key: portalUserKey(id).av(), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, classify("get portal user", err)
	}
	if res.Item == nil {
		return nil, nil
	}
	var v portalUserItem
	if err := attributevalue.UnmarshalMap(res.Item, &v); err != nil {
		return nil, fmt.Errorf("decode portal user: %w", err)
	}
	return &v.PortalUser, nil
}

// Directory writes, used by the directory loader and seeding. Each record
// belongs to one practice: a put that would take over another practice's
// patient, pool, staff member or portal user is refused (EConflict), so two
// practices loading the same ID can never share a chart.

// PutPractice stores a practice.
func (s *Store) PutPractice(ctx context.Context, p domain.Practice) error {
	return s.putOwned(ctx, practiceItem{practiceKey(p.ID), p}, p.ID, "practice "+p.ID)
}

// PutPatient stores a patient's profile and its entry in the practice roster.
func (s *Store) PutPatient(ctx context.Context, p domain.Patient) error {
	name := strings.ToLower(p.DisplayName)
	if err := s.putOwned(ctx, patientItem{patientKey(p.ID), p, name}, p.PracticeID, "patient "+p.ID); err != nil {
		return err
	}
	return s.putOwned(ctx, patientItem{rosterPatientKey(p.PracticeID, p.ID), p, name}, p.PracticeID, "patient "+p.ID)
}

// PutStaff stores a staff member's profile and roster entry.
func (s *Store) PutStaff(ctx context.Context, m domain.StaffMember) error {
	if err := s.putOwned(ctx, staffItem{staffKey(m.ID), m}, m.PracticeID, "staff member "+m.ID); err != nil {
		return err
	}
	return s.putOwned(ctx, staffItem{rosterStaffKey(m.PracticeID, m.ID), m}, m.PracticeID, "staff member "+m.ID)
}

// PutPool stores a recipient pool.
func (s *Store) PutPool(ctx context.Context, p domain.Pool) error {
	if err := s.putOwned(ctx, poolItem{poolKey(p.ID), p}, p.PracticeID, "pool "+p.ID); err != nil {
		return err
	}
	return s.putOwned(ctx, poolItem{rosterPoolKey(p.PracticeID, p.ID), p}, p.PracticeID, "pool "+p.ID)
}

// PutPortalUser stores a portal user's profile.
func (s *Store) PutPortalUser(ctx context.Context, u domain.PortalUser) error {
	return s.putOwned(ctx, portalUserItem{portalUserKey(u.ID), u}, u.PracticeID, "portal user "+u.ID)
}

// putOwned puts v unless an item with its key belongs to another practice.
func (s *Store) putOwned(ctx context.Context, v any, practiceID, what string) error {
	item, err := marshal(v)
	if err != nil {
		return fmt.Errorf("encode item: %w", err)
	}
	cond := expression.AttributeNotExists(expression.Name("PK")).
		Or(expression.Name("practiceId").Equal(expression.Value(practiceID)))
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

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
