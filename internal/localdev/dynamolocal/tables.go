package dynamolocal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/schema"
)

// TableAPI is the part of the DynamoDB client that CreateTables uses.
type TableAPI interface {
	CreateTable(context.Context, *dynamodb.CreateTableInput, ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(context.Context, *dynamodb.DescribeTableInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(context.Context, *dynamodb.DescribeTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(context.Context, *dynamodb.UpdateTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
	UpdateTable(context.Context, *dynamodb.UpdateTableInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateTableOutput, error)
}

var _ TableAPI = (*dynamodb.Client)(nil)

// CreateTables creates every table of schema.Tables() under
// schema.PhysicalName(prefix, name), brings tables that already exist up to
// the schema (missing indexes added, the stream enabled, disabled or
// changed), waits until each table and its indexes are ACTIVE, and enables
// TTL where the schema names a TTL attribute. It is idempotent, so `make dev` can run
// it on every start against a persistent database.
func CreateTables(ctx context.Context, client TableAPI, prefix string) error {
	for _, t := range schema.Tables() {
		name := schema.PhysicalName(prefix, t.Name)
		_, err := client.CreateTable(ctx, t.CreateTableInput(name))
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s: %w", name, err)
		}
		if err := waitActive(ctx, client, name); err != nil {
			return err
		}
		if inUse != nil {
			// An existing table from an older schema: add the indexes it
			// lacks and set its stream, as a CDK deploy would.
			if err := addMissingIndexes(ctx, client, t, name); err != nil {
				return err
			}
			if err := setStream(ctx, client, t, name); err != nil {
				return err
			}
		}
		if t.TTLAttribute != "" {
			if err := enableTTL(ctx, client, name, t.TTLAttribute); err != nil {
				return err
			}
		}
	}
	return nil
}

// addMissingIndexes creates the schema's GSIs that the table lacks, one at a
// time as DynamoDB requires, waiting for each to become ACTIVE.
func addMissingIndexes(ctx context.Context, client TableAPI, t schema.Table, name string) error {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe table %s: %w", name, err)
	}
	have := map[string]bool{}
	for _, g := range out.Table.GlobalSecondaryIndexes {
		have[aws.ToString(g.IndexName)] = true
	}
	want := t.CreateTableInput(name)
	for _, g := range want.GlobalSecondaryIndexes {
		if have[aws.ToString(g.IndexName)] {
			continue
		}
		_, err := client.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName:            aws.String(name),
			AttributeDefinitions: want.AttributeDefinitions,
			GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{{Create: &types.CreateGlobalSecondaryIndexAction{
				IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection,
			}}},
		})
		if err != nil {
			return fmt.Errorf("add index %s to %s: %w", aws.ToString(g.IndexName), name, err)
		}
		if err := waitActive(ctx, client, name); err != nil {
			return err
		}
	}
	return nil
}

// setStream makes an existing table's stream what the schema says: enabled
// with the schema's view type, or disabled when the schema has none.
// DynamoDB cannot change a stream's view type in place, so a different one
// is disabled first and then enabled anew (which starts a new stream ARN).
func setStream(ctx context.Context, client TableAPI, t schema.Table, name string) error {
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe table %s: %w", name, err)
	}
	var have types.StreamViewType
	if sp := out.Table.StreamSpecification; sp != nil && aws.ToBool(sp.StreamEnabled) {
		have = sp.StreamViewType
	}
	if have == t.Stream {
		return nil
	}
	update := func(spec *types.StreamSpecification) error {
		_, err := client.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(name), StreamSpecification: spec})
		if err != nil {
			return fmt.Errorf("set stream of %s: %w", name, err)
		}
		return waitActive(ctx, client, name)
	}
	if have != "" {
		if err := update(&types.StreamSpecification{StreamEnabled: aws.Bool(false)}); err != nil {
			return err
		}
	}
	if t.Stream != "" {
		return update(&types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: t.Stream})
	}
	return nil
}

// waitActive polls DescribeTable rather than using the SDK's TableExists
// waiter, whose 20 s minimum delay is made for AWS, and because that waiter
// does not look at the indexes.
func waitActive(ctx context.Context, client TableAPI, name string) error {
	delay := 20 * time.Millisecond
	for {
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return fmt.Errorf("describe table %s: %w", name, err)
		}
		if active(out.Table) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("table %s not active: %w", name, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, time.Second)
	}
}

func active(t *types.TableDescription) bool {
	if t == nil || t.TableStatus != types.TableStatusActive {
		return false
	}
	for _, g := range t.GlobalSecondaryIndexes {
		if g.IndexStatus != types.IndexStatusActive {
			return false
		}
	}
	return true
}

func enableTTL(ctx context.Context, client TableAPI, name, attr string) error {
	out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe TTL of %s: %w", name, err)
	}
	if d := out.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == attr &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		// Enabling it again would be a ValidationException.
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(attr),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on %s.%s: %w", name, attr, err)
	}
	return nil
}
