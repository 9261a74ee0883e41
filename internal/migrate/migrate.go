// Package migrate brings stored data up to the current shape after a schema
// change. Each step is idempotent and safe to run while the product serves
// traffic: it only adds attributes, never rewrites chart content.
package migrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/schema"
)

// API is what migrations need from DynamoDB.
type API interface {
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Step is one migration.
type Step struct {
	Name string
	Run  func(ctx context.Context, db API, messagesTable string) (changed int, err error)
}

// Steps lists every migration in order.
func Steps() []Step {
	return []Step{{Name: "open-index", Run: openIndex}}
}

// Run applies every step; progress is told each step's result.
func Run(ctx context.Context, db API, messagesTable string, progress func(step string, changed int)) error {
	for _, s := range Steps() {
		n, err := s.Run(ctx, db, messagesTable)
		if err != nil {
			return fmt.Errorf("migration %s: %w", s.Name, err)
		}
		progress(s.Name, n)
	}
	return nil
}

// openIndex adds OpenPK to open conversation headers written before the
// Open index existed, so the inbox summary counts them.
func openIndex(ctx context.Context, db API, table string) (int, error) {
	filter := expression.AttributeExists(expression.Name("messageCount")).
		And(expression.Name("status").Equal(expression.Value(domain.StatusOpen))).
		And(expression.AttributeNotExists(expression.Name(schema.AttrOpenPK)))
	proj := expression.NamesList(expression.Name("PK"), expression.Name("SK"))
	expr, err := expression.NewBuilder().WithFilter(filter).WithProjection(proj).Build()
	if err != nil {
		return 0, err
	}
	set, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name(schema.AttrOpenPK), expression.Name(schema.AttrInboxPK))).
		WithCondition(expression.Name("status").Equal(expression.Value(domain.StatusOpen))).
		Build()
	if err != nil {
		return 0, err
	}
	changed := 0
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{
		TableName:                 aws.String(table),
		FilterExpression:          expr.Filter(),
		ProjectionExpression:      expr.Projection(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return changed, err
		}
		for _, key := range page.Items {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
				TableName:                 aws.String(table),
				Key:                       key,
				UpdateExpression:          set.Update(),
				ConditionExpression:       set.Condition(),
				ExpressionAttributeNames:  set.Names(),
				ExpressionAttributeValues: set.Values(),
			})
			var ccf *types.ConditionalCheckFailedException
			if errors.As(err, &ccf) {
				continue // closed meanwhile: nothing to add
			}
			if err != nil {
				return changed, err
			}
			changed++
		}
	}
	return changed, nil
}
