// Package store is the DynamoDB access layer: directory, conversations and
// messages, idempotency records and the audit trail. It speaks domain types
// and classifies every SDK error into a domain error code.
package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/pedsportal/messaging/internal/app"
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

var _ app.Repository = (*Store)(nil)

// Tables holds the physical table names. A function is given only the
// tables it is granted; the others stay empty.
type Tables struct {
	Directory     string
	Messages      string
	Idempotency   string
	Notifications string
	Worklog       string
	Attachments   string
	Audit         string
}

// TablesFrom names each table with physical(logical); it returns "" for
// tables the caller has not been granted.
func TablesFrom(physical func(logical string) string) Tables {
	return Tables{
		Directory:     physical(schema.Directory),
		Messages:      physical(schema.Messages),
		Idempotency:   physical(schema.Idempotency),
		Notifications: physical(schema.Notifications),
		Worklog:       physical(schema.Worklog),
		Attachments:   physical(schema.Attachments),
		Audit:         physical(schema.Audit),
	}
}

// TablesWithPrefix names every table as schema.PhysicalName(prefix, logical).
func TablesWithPrefix(prefix string) Tables {
	return TablesFrom(func(logical string) string { return schema.PhysicalName(prefix, logical) })
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

// retryPause waits before retry number attempt (1-based) of at most max.
// It gives up with EUnavailable when the retries are spent, or when the
// wait would run past the request's deadline: the function must answer
// 503 with Retry-After before Lambda's timeout kills it.
func (s *Store) retryPause(ctx context.Context, attempt, max int) error {
	if attempt >= max {
		return domain.Unavailable(fmt.Errorf("gave up after %d attempts", attempt))
	}
	d := backoff(attempt - 1)
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d+deadlineMargin {
		return domain.Unavailable(errors.New("no time left for another attempt before the deadline"))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return domain.Unavailable(ctx.Err())
	case <-t.C:
		return nil
	}
}

// deadlineMargin is kept free at the end of a request to answer the client.
const deadlineMargin = 250 * time.Millisecond

// backoff is exponential with full jitter, capped at about a second.
func backoff(attempt int) time.Duration {
	d := 10 * time.Millisecond << min(attempt, 7)
	return time.Duration(rand.Int64N(int64(d))) + time.Millisecond
}
