package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/domain"
)

// maxTransactAttempts bounds the retries of a transaction that lost a
// conflict with a concurrent one; retryPause also stops at the deadline.
const maxTransactAttempts = 8

// transact runs one TransactWriteItems, retrying transaction conflicts with
// jittered backoff. When DynamoDB cancels it for a failed condition it
// returns the cancellation reasons, one per item, for the caller to read
// with failed, and an EInternal error for the caller to return when no
// expected condition explains the cancellation.
func (s *Store) transact(ctx context.Context, op string, items []types.TransactWriteItem) ([]types.CancellationReason, error) {
	for attempt := 1; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
			TransactItems: items, ClientRequestToken: s.requestToken(items, attempt),
		})
		if err == nil {
			return nil, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return nil, classify(op, err)
		}
		conflict := false
		for _, r := range tce.CancellationReasons {
			switch aws.ToString(r.Code) {
			case "TransactionConflict":
				conflict = true
			case "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
				return nil, &domain.Error{Code: domain.EThrottled, Message: "too many requests; try again shortly", Err: fmt.Errorf("%s: %w", op, err)}
			}
		}
		if !conflict {
			return tce.CancellationReasons, &domain.Error{Code: domain.EInternal, Err: fmt.Errorf("%s: unexpected cancellation: %w", op, err)}
		}
		if err := s.retryPause(ctx, attempt, maxTransactAttempts); err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
	}
}

// failed reports whether item i of a cancelled transaction failed its
// condition.
func failed(reasons []types.CancellationReason, i int) bool {
	return i < len(reasons) && aws.ToString(reasons[i].Code) == "ConditionalCheckFailed"
}

// firstFailed is the position of the first item from start on that failed
// its condition, or -1.
func firstFailed(reasons []types.CancellationReason, start int) int {
	for i := start; i < len(reasons); i++ {
		if failed(reasons, i) {
			return i
		}
	}
	return -1
}

// requestToken makes an attempt idempotent: when the SDK resends it
// because the answer was lost, DynamoDB answers as it did the first time
// instead of applying it again (a second unlink would then fail its
// condition, a second mark-read apply twice). It derives from the audit
// record the transaction carries, whose key is new for each transaction,
// and the attempt, so that a retry after a conflict really runs again.
func (s *Store) requestToken(items []types.TransactWriteItem, attempt int) *string {
	for _, it := range items {
		if it.Put == nil || aws.ToString(it.Put.TableName) != s.tables.Audit {
			continue
		}
		if sk, ok := it.Put.Item[aSK].(*types.AttributeValueMemberS); ok {
			sum := sha256.Sum256([]byte(sk.Value + "#" + strconv.Itoa(attempt)))
			return aws.String(hex.EncodeToString(sum[:16]))
		}
	}
	return nil
}
