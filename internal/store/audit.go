package store

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/audit"
)

var _ audit.Writer = (*Store)(nil)

// auditKey files a record under its patient, or, for an attempt that was
// never granted a patient, under its actor ("ACTOR#<id>"), so that asking
// for an ID never writes into that ID's trail.
func auditKey(r audit.Record) key {
	pk := r.PatientID
	if pk == "" {
		pk = pfxActor + r.ActorID
	}
	return key{pk, timeKey(r.At) + "#" + ulid.Make().String()}
}

// auditPut is the put of rec, for a transaction that commits a change with
// its audit record. The put is conditional on the key being new: the
// table is append-only.
func (s *Store) auditPut(rec audit.Record) (types.TransactWriteItem, error) {
	item, err := marshal(newAuditItem(auditKey(rec), rec))
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("encode audit record: %w", err)
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName: aws.String(s.tables.Audit), Item: item, ConditionExpression: aws.String(notExists),
	}}, nil
}

// notExists conditions a put on its key being new.
var notExists = "attribute_not_exists(" + aPK + ")"

// AppendAudit stores records that commit with no change: reads, denied and
// failed attempts, replays. Puts run in parallel; the audit table grants
// PutItem only, never BatchWriteItem, which could also delete.
func (s *Store) AppendAudit(ctx context.Context, recs ...audit.Record) error {
	errs := make([]error, len(recs))
	put := func(i int, r audit.Record) {
		defer func() {
			if v := recover(); v != nil {
				errs[i] = fmt.Errorf("append audit: panic: %v", v)
			}
		}()
		item, err := marshal(newAuditItem(auditKey(r), r))
		if err != nil {
			errs[i] = fmt.Errorf("encode audit record: %w", err)
			return
		}
		_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(s.tables.Audit), Item: item, ConditionExpression: aws.String(notExists),
		})
		errs[i] = classify("append audit", err)
	}
	// Nearly every request has one record: it is put on the caller's own
	// goroutine, the rest beside it.
	var wg sync.WaitGroup
	for i, r := range recs[min(1, len(recs)):] {
		wg.Go(func() { put(i+1, r) })
	}
	if len(recs) > 0 {
		put(0, recs[0])
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ActorTrail reads the records of an actor's attempts that were never
// granted a patient, oldest first.
func (s *Store) ActorTrail(ctx context.Context, actorID string) ([]audit.Record, error) {
	return s.AuditTrail(ctx, pfxActor+actorID)
}

// AuditTrail reads a patient's audit records, oldest first.
func (s *Store) AuditTrail(ctx context.Context, patientID string) ([]audit.Record, error) {
	var items []auditItem
	if err := s.queryPrefix(ctx, s.tables.Audit, patientID, "", &items); err != nil {
		return nil, err
	}
	return mapItems(items, auditItem.record), nil
}
