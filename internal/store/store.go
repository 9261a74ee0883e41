// Package store is the DynamoDB access layer: directory, conversations and
// messages, idempotency records and the audit trail. It speaks domain types
// and classifies every SDK error into a domain error code.
package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/schema"
)

// API is the subset of the DynamoDB client the store uses.
type API interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Tables holds the physical table names.
type Tables struct {
	Directory string
	Messages  string
	Audit     string
}

// TablesWithPrefix names every table as schema.PhysicalName(prefix, logical).
func TablesWithPrefix(prefix string) Tables {
	return Tables{
		Directory: schema.PhysicalName(prefix, schema.Directory),
		Messages:  schema.PhysicalName(prefix, schema.Messages),
		Audit:     schema.PhysicalName(prefix, schema.Audit),
	}
}

// Store reads and writes the product's tables.
type Store struct {
	db     API
	tables Tables
}

// New returns a Store over db and the given tables.
func New(db API, tables Tables) *Store { return &Store{db: db, tables: tables} }

// classify turns an SDK error into a domain error. Throttling becomes
// EThrottled; everything else a dependency failure (503, retryable).
func classify(op string, err error) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	var (
		tput *types.ProvisionedThroughputExceededException
		rle  *types.RequestLimitExceeded
		thr  *types.ThrottlingException
	)
	if errors.As(err, &tput) || errors.As(err, &rle) || errors.As(err, &thr) {
		return &domain.Error{Code: domain.EThrottled, Message: "too many requests; try again shortly", Err: fmt.Errorf("%s: %w", op, err)}
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "ThrottlingException":
			return &domain.Error{Code: domain.EThrottled, Message: "too many requests; try again shortly", Err: fmt.Errorf("%s: %w", op, err)}
		case "ValidationException":
			// A request DynamoDB refuses is our bug, not an outage: retrying
			// will not help, so no 503 and no Retry-After.
			return &domain.Error{Code: domain.EInternal, Err: fmt.Errorf("%s: %w", op, err)}
		}
	}
	return domain.Unavailable(fmt.Errorf("%s: %w", op, err))
}
