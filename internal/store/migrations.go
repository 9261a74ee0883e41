package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/domain"
)

// MigrationAPI is what the data migrations need from DynamoDB: they run
// with an operator's credentials, never a function's. They scan, and
// write through the store's own code (API) where the store keeps derived
// items, such as search tokens, in step.
type MigrationAPI interface {
	API
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ MigrationAPI = (*dynamodb.Client)(nil)

// scanEach calls f for every item of table that filter selects.
func scanEach(ctx context.Context, db MigrationAPI, table string, filter expression.ConditionBuilder, f func(map[string]types.AttributeValue) error) error {
	expr, err := expression.NewBuilder().WithFilter(filter).Build()
	if err != nil {
		return err
	}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{
		TableName:                 aws.String(table),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, it := range page.Items {
			if err := f(it); err != nil {
				return err
			}
		}
	}
	return nil
}

func keyOf(it map[string]types.AttributeValue) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{aPK: it[aPK], aSK: it[aSK]}
}

// MigrateOpenIndex adds OpenPK to open conversation headers written before
// the Open index existed, so the inbox summary counts them.
func MigrateOpenIndex(ctx context.Context, db MigrationAPI, t Tables) (int, error) {
	filter := expression.AttributeExists(expression.Name(aMessageCount)).
		And(expression.Name(aStatus).Equal(expression.Value(domain.StatusOpen))).
		And(expression.AttributeNotExists(expression.Name(aOpenPK)))
	set, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name(aOpenPK), expression.Name(aInboxPK))).
		WithCondition(expression.Name(aStatus).Equal(expression.Value(domain.StatusOpen))).
		Build()
	if err != nil {
		return 0, err
	}
	changed := 0
	err = scanEach(ctx, db, t.Messages, filter, func(it map[string]types.AttributeValue) error {
		_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(t.Messages), Key: keyOf(it),
			UpdateExpression: set.Update(), ConditionExpression: set.Condition(),
			ExpressionAttributeNames: set.Names(), ExpressionAttributeValues: set.Values(),
		})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil // closed meanwhile: nothing to add
		}
		if err == nil {
			changed++
		}
		return err
	})
	return changed, err
}

// MigrateAudiences gives conversation headers written before audiences
// existed the family's audience, which is what they always were: such
// headers live in the family's partition, and reads already take a
// missing audience as the family's, so the step only makes the stored
// record say so (staff views and exports show it). A header that somehow
// lives in a confidential partition is never touched.
func MigrateAudiences(ctx context.Context, db MigrationAPI, t Tables) (int, error) {
	filter := expression.AttributeExists(expression.Name(aMessageCount)).
		And(expression.AttributeNotExists(expression.Name(aAudience)))
	set, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name(aAudience), expression.Value(domain.AudienceFamily))).
		WithCondition(expression.AttributeExists(expression.Name(aMessageCount)).And(expression.AttributeNotExists(expression.Name(aAudience)))).
		Build()
	if err != nil {
		return 0, err
	}
	changed := 0
	err = scanEach(ctx, db, t.Messages, filter, func(it map[string]types.AttributeValue) error {
		if pk, ok := it[aPK].(*types.AttributeValueMemberS); !ok || strings.HasSuffix(pk.Value, sfxConfidential) {
			return nil
		}
		_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(t.Messages), Key: keyOf(it),
			UpdateExpression: set.Update(), ConditionExpression: set.Condition(),
			ExpressionAttributeNames: set.Names(), ExpressionAttributeValues: set.Values(),
		})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil // written meanwhile, with its audience
		}
		if err == nil {
			changed++
		}
		return err
	})
	return changed, err
}

// MigrateIdempotency moves idempotency records that older versions kept in
// the Messages table (SK "IDEM#…", with a TTL the Messages table no longer
// has) to the Idempotency table, and removes them from Messages. Records
// already expired are only removed. The delete is conditional on the item
// being an idempotency record, so no chart item can be touched.
func MigrateIdempotency(ctx context.Context, db MigrationAPI, t Tables, now time.Time) (int, error) {
	isIdem := expression.Name(aSK).BeginsWith(pfxIdem)
	del, err := expression.NewBuilder().WithCondition(isIdem).Build()
	if err != nil {
		return 0, err
	}
	moved := 0
	err = scanEach(ctx, db, t.Messages, isIdem, func(it map[string]types.AttributeValue) error {
		var exp int64
		if n, ok := it[aExpiresAt].(*types.AttributeValueMemberN); ok {
			fmt.Sscan(n.Value, &exp)
		}
		if exp > now.Unix() {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{
				TableName: aws.String(t.Idempotency), Item: it, ConditionExpression: aws.String(notExists),
			})
			var ccf *types.ConditionalCheckFailedException
			if err != nil && !errors.As(err, &ccf) { // already moved by an earlier run
				return err
			}
		}
		_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: aws.String(t.Messages), Key: keyOf(it),
			ConditionExpression: del.Condition(), ExpressionAttributeNames: del.Names(), ExpressionAttributeValues: del.Values(),
		})
		if err == nil {
			moved++
		}
		return err
	})
	return moved, err
}

// MigratePortalUsersActive marks portal accounts stored before accounts
// carried an active flag as active, so that the access check, which
// refuses accounts without it, lets them in.
func MigratePortalUsersActive(ctx context.Context, db MigrationAPI, t Tables) (int, error) {
	filter := expression.Name(aPK).BeginsWith(pfxPortalUser).
		And(expression.Name(aSK).Equal(expression.Value(skProfile))).
		And(expression.AttributeNotExists(expression.Name(aActive)))
	set, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name(aActive), expression.Value(true))).
		WithCondition(expression.AttributeNotExists(expression.Name(aActive)).And(expression.AttributeExists(expression.Name(aPK)))).
		Build()
	if err != nil {
		return 0, err
	}
	changed := 0
	err = scanEach(ctx, db, t.Directory, filter, func(it map[string]types.AttributeValue) error {
		_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(t.Directory), Key: keyOf(it),
			UpdateExpression: set.Update(), ConditionExpression: set.Condition(),
			ExpressionAttributeNames: set.Names(), ExpressionAttributeValues: set.Values(),
		})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil // set meanwhile, e.g. by the directory loader
		}
		if err == nil {
			changed++
		}
		return err
	})
	return changed, err
}

// MigrateSearchTokens writes the search tokens of every patient and portal
// account (the Search index) that lacks them or holds stale ones: data
// loaded before the index existed, or left half-way by an interrupted load.
// It writes through the same code as the directory loader, so what it
// writes is what a load would, and a second run changes nothing. It
// reports how many patients and accounts it changed.
func MigrateSearchTokens(ctx context.Context, db MigrationAPI, t Tables) (int, error) {
	s := New(db, t)
	filter := expression.Name(aSK).Equal(expression.Value(skProfile)).
		And(expression.Name(aPK).BeginsWith(pfxPatient).Or(expression.Name(aPK).BeginsWith(pfxPortalUser)))
	changed := 0
	err := scanEach(ctx, db, t.Directory, filter, func(it map[string]types.AttributeValue) error {
		var k key
		if err := attributevalue.UnmarshalMap(it, &k); err != nil {
			return fmt.Errorf("decode key: %w", err)
		}
		var want []tokenItem
		if strings.HasPrefix(k.PK, pfxPatient) {
			var p patientItem
			if err := attributevalue.UnmarshalMap(it, &p); err != nil {
				return fmt.Errorf("decode patient: %w", err)
			}
			want = patientTokens(p.patient())
		} else {
			var u portalUserItem
			if err := attributevalue.UnmarshalMap(it, &u); err != nil {
				return fmt.Errorf("decode portal user: %w", err)
			}
			want = portalUserTokens(u.portalUser())
		}
		did, err := s.syncTokens(ctx, k.PK, want)
		if did {
			changed++
		}
		return err
	})
	return changed, err
}

// MigrateTurns gives conversation headers written before turns were kept
// whose turn it is, and their place in the work queues: a closed
// conversation is done (since its last activity: when it closed was not
// kept); an open one waits on the side that did not write
// its last message, since that message. The update is conditional on the
// header still having no turn, so a reply meanwhile wins.
func MigrateTurns(ctx context.Context, db MigrationAPI, t Tables) (int, error) {
	filter := expression.AttributeExists(expression.Name(aMessageCount)).
		And(expression.AttributeNotExists(expression.Name(aAwaiting)))
	changed := 0
	err := scanEach(ctx, db, t.Messages, filter, func(it map[string]types.AttributeValue) error {
		var h convItem
		if err := attributevalue.UnmarshalMap(it, &h); err != nil {
			return fmt.Errorf("decode conversation: %w", err)
		}
		c := h.conversation()
		c.Awaiting, c.AwaitingSince = domain.AwaitingNone, c.LastActivityAt
		if c.Status == domain.StatusOpen {
			last, err := lastMessage(ctx, db, t, h.PK, c)
			if err != nil {
				return err
			}
			c.Awaiting, c.AwaitingSince = domain.TurnAfter(last.Author.Side), last.CreatedAt
		}
		expr, err := expression.NewBuilder().
			WithUpdate(queueOf(c).set(expression.UpdateBuilder{}, c, plain{})).
			WithCondition(expression.AttributeNotExists(expression.Name(aAwaiting)).And(expression.AttributeExists(expression.Name(aMessageCount)))).
			Build()
		if err != nil {
			return err
		}
		_, err = db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: aws.String(t.Messages), Key: keyOf(it),
			UpdateExpression: expr.Update(), ConditionExpression: expr.Condition(),
			ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil // a reply or change meanwhile set the turn
		}
		if err == nil {
			changed++
		}
		return err
	})
	return changed, err
}

// lastMessage reads the newest message of c's chain.
func lastMessage(ctx context.Context, db MigrationAPI, t Tables, patientID string, c domain.Conversation) (domain.Message, error) {
	kc := expression.Key(aPK).Equal(expression.Value(patientID)).
		And(expression.Key(aSK).BeginsWith(pfxConv + c.ID + pfxMsg))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return domain.Message{}, err
	}
	res, err := db.Query(ctx, &dynamodb.QueryInput{
		TableName: aws.String(t.Messages), KeyConditionExpression: expr.KeyCondition(),
		ExpressionAttributeNames: expr.Names(), ExpressionAttributeValues: expr.Values(),
		ScanIndexForward: aws.Bool(false), Limit: aws.Int32(1), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return domain.Message{}, err
	}
	if len(res.Items) == 0 {
		return domain.Message{Author: c.StartedBy, CreatedAt: c.CreatedAt}, nil
	}
	var m msgItem
	if err := attributevalue.UnmarshalMap(res.Items[0], &m); err != nil {
		return domain.Message{}, fmt.Errorf("decode message: %w", err)
	}
	return m.message(), nil
}

// MigratePracticeRegistry lists practices stored before the registry
// existed in it, so that scheduled work finds them.
func MigratePracticeRegistry(ctx context.Context, db MigrationAPI, t Tables) (int, error) {
	filter := expression.Name(aPK).BeginsWith(pfxPractice).And(expression.Name(aSK).Equal(expression.Value(skProfile)))
	added := 0
	err := scanEach(ctx, db, t.Directory, filter, func(it map[string]types.AttributeValue) error {
		var p practiceItem
		if err := attributevalue.UnmarshalMap(it, &p); err != nil {
			return fmt.Errorf("decode practice: %w", err)
		}
		item, err := marshal(registryItem{practiceRegistryKey(p.ID), p.ID})
		if err != nil {
			return err
		}
		_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(t.Directory), Item: item, ConditionExpression: aws.String(notExists)})
		var ccf *types.ConditionalCheckFailedException
		if errors.As(err, &ccf) {
			return nil // listed already
		}
		if err == nil {
			added++
		}
		return err
	})
	return added, err
}
