package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/schema"
)

// OpenSummary reads the practice's open conversations from the sparse Open
// index, projecting only what the counts need.
func (s *Store) OpenSummary(ctx context.Context, practiceID, staffID string) (app.Summary, error) {
	kc := expression.Key(aOpenPK).Equal(expression.Value(pfxPractice + practiceID))
	proj := expression.NamesList(expression.Name(aStaffUnread), expression.Name(aPool), expression.Name(aAssigneeID), expression.Name(aLastActivityAt))
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
		}
	}
	return sum, nil
}
