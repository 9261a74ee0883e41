package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/audit"
)

type auditItem struct {
	key
	audit.Record
}

// AppendAudit stores one audit record. The table is append-only: the put is
// conditional on the key being new, and no code path updates or deletes.
func (s *Store) AppendAudit(ctx context.Context, r audit.Record) error {
	item, err := marshal(auditItem{key{r.PatientID, timeKey(r.At) + "#" + ulid.Make().String()}, r})
	if err != nil {
		return fmt.Errorf("encode audit record: %w", err)
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:           aws.String(s.tables.Audit),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(PK)"),
	})
	return classify("append audit", err)
}

// AuditTrail reads a patient's audit records, oldest first.
func (s *Store) AuditTrail(ctx context.Context, patientID string) ([]audit.Record, error) {
	var items []auditItem
	if err := s.queryPrefix(ctx, s.tables.Audit, patientID, "", &items); err != nil {
		return nil, err
	}
	out := make([]audit.Record, len(items))
	for i, it := range items {
		out[i] = it.Record
	}
	return out, nil
}
