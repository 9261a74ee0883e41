package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/schema"
)

// OpenSummary reads the practice's open conversations from the sparse Open
// index, projecting only what the counts need.
func (s *Store) OpenSummary(ctx context.Context, practiceID, staffID string) (app.Summary, error) {
	kc := expression.Key(aOpenPK).Equal(expression.Value(pfxPractice + practiceID))
	proj := expression.NamesList(expression.Name(aStaffUnread), expression.Name(aPool), expression.Name(aAssigneeID), expression.Name(aLastActivityAt), expression.Name(aPortalReadAt))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).WithProjection(proj).Build()
	if err != nil {
		return app.Summary{}, fmt.Errorf("build query: %w", err)
	}
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Messages),
		IndexName:                 aws.String(schema.IndexOpen),
		KeyConditionExpression:    expr.KeyCondition(),
		ProjectionExpression:      expr.Projection(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	sum := app.Summary{Pools: []app.PoolSummary{}}
	pools := map[string]int{}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return app.Summary{}, classify("query open conversations", err)
		}
		var items []headerAttrs
		if err := attributevalue.UnmarshalListOfMaps(page.Items, &items); err != nil {
			return app.Summary{}, fmt.Errorf("decode conversations: %w", err)
		}
		for _, c := range items {
			i, ok := pools[c.Pool.ID]
			if !ok {
				i = len(sum.Pools)
				pools[c.Pool.ID] = i
				sum.Pools = append(sum.Pools, app.PoolSummary{ID: c.Pool.ID, Name: c.Pool.Name})
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
			if t := c.PortalReadAt; t != nil && (sum.LatestFamilyReadAt == nil || t.After(*sum.LatestFamilyReadAt)) {
				sum.LatestFamilyReadAt = t
			}
		}
	}
	return sum, nil
}

// PatientNews reads a patient's window most recently active conversation
// headers of each audience of auds from the ByActivity index (strongly
// consistent, as an LSI can be), projecting only the family's unread count
// and the two times: one Query of at most window small items a partition,
// both at once.
func (s *Store) PatientNews(ctx context.Context, patientID string, auds []domain.Audience, window int) (app.PatientNews, error) {
	news := make([]app.PatientNews, len(auds))
	errs := make([]error, len(auds))
	var wg sync.WaitGroup
	for i, a := range auds {
		wg.Go(func() { news[i], errs[i] = s.partitionNews(ctx, patientID, chartPK(patientID, a), window) })
	}
	wg.Wait()
	n := app.PatientNews{PatientID: patientID}
	for i, p := range news {
		if errs[i] != nil {
			return app.PatientNews{}, errs[i]
		}
		n.Unread += p.Unread
		n.UnreadMessages += p.UnreadMessages
		if t := p.LatestActivityAt; t != nil && (n.LatestActivityAt == nil || t.After(*n.LatestActivityAt)) {
			n.LatestActivityAt = t
		}
		if t := p.LatestReadAt; t != nil && (n.LatestReadAt == nil || t.After(*n.LatestReadAt)) {
			n.LatestReadAt = t
		}
	}
	return n, nil
}

func (s *Store) partitionNews(ctx context.Context, patientID, pk string, window int) (app.PatientNews, error) {
	kc := expression.Key(aPK).Equal(expression.Value(pk))
	proj := expression.NamesList(expression.Name(aPortalUnread), expression.Name(aLastActivityAt), expression.Name(aStaffReadAt))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).WithProjection(proj).Build()
	if err != nil {
		return app.PatientNews{}, fmt.Errorf("build query: %w", err)
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Messages),
		IndexName:                 aws.String(schema.IndexByActivity),
		ConsistentRead:            aws.Bool(true),
		ScanIndexForward:          aws.Bool(false),
		Limit:                     aws.Int32(int32(window)),
		KeyConditionExpression:    expr.KeyCondition(),
		ProjectionExpression:      expr.Projection(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	if err != nil {
		return app.PatientNews{}, classify("query patient news", err)
	}
	var items []headerAttrs
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return app.PatientNews{}, fmt.Errorf("decode conversations: %w", err)
	}
	n := app.PatientNews{PatientID: patientID}
	for _, c := range items {
		if c.PortalUnread > 0 {
			n.Unread++
			n.UnreadMessages += c.PortalUnread
		}
		if t := c.LastActivityAt; n.LatestActivityAt == nil || t.After(*n.LatestActivityAt) {
			n.LatestActivityAt = &t
		}
		if t := c.StaffReadAt; t != nil && (n.LatestReadAt == nil || t.After(*n.LatestReadAt)) {
			n.LatestReadAt = t
		}
	}
	return n, nil
}
