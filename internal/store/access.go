package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
)

var _ authz.Loader = (*Store)(nil)

// LoadAccess reads, in one strongly consistent BatchGetItem across the
// directory and, when a conversation is named, the Messages table, every
// item q names. Missing items are left nil; deciding what that means is
// package authz's.
func (s *Store) LoadAccess(ctx context.Context, q authz.Query) (*authz.Facts, error) {
	var dir []map[string]types.AttributeValue
	if q.StaffID != "" {
		dir = append(dir, staffKey(q.StaffID).av())
		if q.PatientID != "" {
			dir = append(dir, patientKey(q.PatientID).av())
		}
	}
	if q.PortalUserID != "" {
		dir = append(dir, portalUserKey(q.PortalUserID).av())
		if q.PatientID != "" {
			dir = append(dir, linkKey(q.PatientID, q.PortalUserID).av())
		}
	}
	if q.PoolID != "" {
		dir = append(dir, poolKey(q.PoolID).av())
	}
	if q.AssigneeID != "" && q.AssigneeID != q.StaffID {
		dir = append(dir, staffKey(q.AssigneeID).av())
	}
	req := map[string][]map[string]types.AttributeValue{}
	if len(dir) > 0 {
		req[s.tables.Directory] = dir
	}
	if q.ConversationID != "" && q.PatientID != "" {
		req[s.tables.Messages] = []map[string]types.AttributeValue{convKey(q.PatientID, domain.AudienceFamily, q.ConversationID).av()}
		if q.Confidential {
			req[s.tables.Messages] = append(req[s.tables.Messages], convKey(q.PatientID, domain.AudienceConfidential, q.ConversationID).av())
		}
	}
	f := &authz.Facts{}
	if len(req) == 0 {
		return f, nil
	}
	got, err := s.batchGet(ctx, req)
	if err != nil {
		return nil, err
	}
	for _, it := range got[s.tables.Messages] {
		c, err := decodeHeader(it)
		if err != nil {
			return nil, fmt.Errorf("decode conversation: %w", err)
		}
		// messageCount exists only on headers.
		if c.MessageCount > 0 {
			f.Conversation = &c
		}
	}
	for _, it := range got[s.tables.Directory] {
		if err := decodeFact(it, q, f); err != nil {
			return nil, err
		}
	}
	return f, nil
}

func decodeFact(it map[string]types.AttributeValue, q authz.Query, f *authz.Facts) error {
	// The key alone picks the item's type: read it by hand, not by a
	// reflection pass over the whole item.
	d := decoder{m: it}
	k := key{PK: d.str(aPK), SK: d.str(aSK)}
	if d.err != nil {
		return fmt.Errorf("decode key: %w", d.err)
	}
	var err error
	switch {
	case strings.HasPrefix(k.PK, pfxStaff):
		var v staffItem
		err = attributevalue.UnmarshalMap(it, &v)
		m := v.member()
		if v.ID == q.StaffID {
			f.Staff = &m
		}
		if v.ID == q.AssigneeID {
			f.Assignee = &m
		}
	case strings.HasPrefix(k.PK, pfxPortalUser):
		var v portalUserItem
		err = attributevalue.UnmarshalMap(it, &v)
		u := v.portalUser()
		f.PortalUser = &u
	case strings.HasPrefix(k.SK, pfxLink):
		var v linkItem
		err = attributevalue.UnmarshalMap(it, &v)
		l := v.link()
		f.Link, f.LinkPracticeID = &l, v.PracticeID
	case k.SK == skProfile && strings.HasPrefix(k.PK, pfxPatient):
		var v patientItem
		err = attributevalue.UnmarshalMap(it, &v)
		p := v.patient()
		f.Patient = &p
	case strings.HasPrefix(k.PK, pfxPool):
		var v poolItem
		err = attributevalue.UnmarshalMap(it, &v)
		p := v.pool()
		f.Pool = &p
	}
	if err != nil {
		return fmt.Errorf("decode directory item: %w", err)
	}
	return nil
}

// batchGet reads keys per table with strong consistency, retrying
// unprocessed keys a bounded number of times.
func (s *Store) batchGet(ctx context.Context, keys map[string][]map[string]types.AttributeValue) (map[string][]map[string]types.AttributeValue, error) {
	req := map[string]types.KeysAndAttributes{}
	for table, ks := range keys {
		req[table] = types.KeysAndAttributes{Keys: ks, ConsistentRead: aws.Bool(true)}
	}
	out := map[string][]map[string]types.AttributeValue{}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			if err := s.retryPause(ctx, attempt, 5); err != nil {
				return nil, fmt.Errorf("batch get: keys still unprocessed: %w", err)
			}
		}
		res, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, classify("batch get", err)
		}
		for table, items := range res.Responses {
			out[table] = append(out[table], items...)
		}
		req = res.UnprocessedKeys
	}
	return out, nil
}
