// Package schema is the one definition of the DynamoDB tables. Local
// development and the tests create tables from it in DynamoDB Local, and the
// CDK stack provisions the same tables from it, so the two cannot drift.
package schema

import (
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Logical table names. They are also the suffix of the physical names.
const (
	Directory   = "Directory"
	Messages    = "Messages"
	Idempotency = "Idempotency"
	// Notifications holds pending notifications until their window closes.
	Notifications = "Notifications"
	// Worklog is the staff-only record of each conversation: internal
	// notes and events. Only staff-only functions may read or write it.
	Worklog = "Worklog"
	// Attachments holds each uploaded file's record: its upload slot, scan
	// and processing result, and the message that carries it.
	Attachments = "Attachments"
	Audit       = "Audit"
)

// Index names.
const (
	// IndexByPortalUser lists the patients linked to one portal user (sparse:
	// only link items carry GSI1PK).
	IndexByPortalUser = "ByPortalUser"
	// IndexByActivity orders one patient's conversations by last activity
	// (sparse: only conversation headers carry ActivitySK). An LSI, so the
	// list can be read with strong consistency right after a write.
	IndexByActivity = "ByActivity"
	// IndexInbox is the staff inbox across a practice's patients, newest
	// activity first (sparse: only conversation headers carry InboxPK).
	IndexInbox = "Inbox"
	// IndexOpen holds only open conversations of a practice (sparse: OpenPK
	// is removed when a conversation closes), so the inbox summary reads a
	// few dozen items, not the practice's whole history.
	IndexOpen = "Open"
	// IndexQueue is a practice's work queue by turn: one partition per
	// turn (needs reply, waiting on family, done), oldest wait first. It is
	// sparse on its own terms: a filtered page reads only matching items,
	// so it is never short while more matches exist.
	IndexQueue = "Queue"
	// IndexPoolQueue is the same queue per recipient pool.
	IndexPoolQueue = "PoolQueue"
	// IndexDue orders pending notifications by due time (sparse: only
	// pending items carry DuePK).
	IndexDue = "Due"
	// IndexSearch finds patients and portal users by a prefix of a
	// normalized name part, an e-mail address or a birth date (sparse:
	// only search-token items carry SearchPK). Its partition is one
	// practice and one kind of token, so a search is one Query of one
	// practice, never a read of the roster.
	IndexSearch = "Search"
)

// Key attribute names shared by every table.
const (
	AttrPK         = "PK"
	AttrSK         = "SK"
	AttrGSI1PK     = "GSI1PK"
	AttrGSI1SK     = "GSI1SK"
	AttrActivitySK = "ActivitySK"
	AttrInboxPK    = "InboxPK"
	AttrInboxSK    = "InboxSK"
	AttrOpenPK     = "OpenPK"
	AttrQueuePK    = "QueuePK"
	AttrPoolQPK    = "PoolQueuePK"
	AttrQueueSK    = "QueueSK"
	AttrExpiresAt  = "ExpiresAt"
	AttrDuePK      = "DuePK"
	AttrDueSK      = "DueSK"
	AttrSearchPK   = "SearchPK"
	AttrSearchSK   = "SearchSK"
)

// KeyType is the type of a key attribute.
type KeyType string

// Key attribute types.
const (
	String KeyType = "S"
	Number KeyType = "N"
)

// Key is one key attribute.
type Key struct {
	Name string
	Type KeyType
}

// Index is a secondary index. Projection is always ALL: every index here
// serves a list screen that needs the whole item.
type Index struct {
	Name         string
	PartitionKey Key
	SortKey      *Key
}

// Table describes one table: keys, indexes and the TTL attribute.
type Table struct {
	Name         string
	PartitionKey Key
	SortKey      *Key
	GSIs         []Index
	LSIs         []Index
	// TTLAttribute, when set, lets DynamoDB expire short-lived items such as
	// idempotency records. Chart data never carries it.
	TTLAttribute string
	// AppendOnly tables may only receive new items; infra grants no update
	// or delete on them.
	AppendOnly bool
	// Stream, when set, is the table's DynamoDB Streams view type: the
	// notifier reads new messages from it.
	Stream types.StreamViewType
}

func str(name string) *Key { return &Key{Name: name, Type: String} }

// Tables returns every table of the product. All are keyed by patient, except
// that the directory also holds staff and practice records.
func Tables() []Table {
	return []Table{
		{
			// Patients, portal-user links, staff, pools and practice data.
			// PK "PATIENT#<id>" holds a patient's profile, its links and
			// its search tokens ("TOKEN#…"); "PORTALUSER#<id>" an account
			// and its search tokens.
			Name:         Directory,
			PartitionKey: Key{AttrPK, String},
			SortKey:      str(AttrSK),
			GSIs: []Index{{
				Name:         IndexByPortalUser,
				PartitionKey: Key{AttrGSI1PK, String},
				SortKey:      str(AttrGSI1SK),
			}, {
				Name:         IndexSearch,
				PartitionKey: Key{AttrSearchPK, String},
				SortKey:      str(AttrSearchSK),
			}},
		},
		{
			// PK is the patient ID. SK "CONV#<id>" is a conversation header,
			// "CONV#<id>#MSG#<ulid>" its messages, so a conversation and its
			// chain come back in one Query. It has no TTL attribute: nothing
			// in the chart can ever expire.
			Name:         Messages,
			PartitionKey: Key{AttrPK, String},
			SortKey:      str(AttrSK),
			LSIs: []Index{{
				Name:         IndexByActivity,
				PartitionKey: Key{AttrPK, String},
				SortKey:      str(AttrActivitySK),
			}},
			GSIs: []Index{{
				Name:         IndexInbox,
				PartitionKey: Key{AttrInboxPK, String},
				SortKey:      str(AttrInboxSK),
			}, {
				Name:         IndexOpen,
				PartitionKey: Key{AttrOpenPK, String},
				SortKey:      str(AttrInboxSK),
			}, {
				Name:         IndexQueue,
				PartitionKey: Key{AttrQueuePK, String},
				SortKey:      str(AttrQueueSK),
			}, {
				Name:         IndexPoolQueue,
				PartitionKey: Key{AttrPoolQPK, String},
				SortKey:      str(AttrQueueSK),
			}},
			Stream: types.StreamViewTypeNewImage,
		},
		{
			// Pending notifications: PK "RECIPIENT#<kind>#<id>", SK
			// "CONV#<id>" for a family notification or "DIGEST" for a staff
			// digest. The Due index lists them by due time.
			Name:         Notifications,
			PartitionKey: Key{AttrPK, String},
			SortKey:      str(AttrSK),
			GSIs: []Index{{
				Name:         IndexDue,
				PartitionKey: Key{AttrDuePK, String},
				SortKey:      str(AttrDueSK),
			}},
			TTLAttribute: AttrExpiresAt,
		},
		{
			// Short-lived records keyed by patient: idempotency keys
			// ("IDEM#<caller>#<key>") and per-caller daily write counters
			// ("COUNT#<caller>#<day>"). They expire by TTL, which is why they
			// live apart from the chart.
			Name:         Idempotency,
			PartitionKey: Key{AttrPK, String},
			SortKey:      str(AttrSK),
			TTLAttribute: AttrExpiresAt,
		},
		{
			// PK is the patient ID, SK "CONV#<id>#<ulid>": a conversation's
			// notes and events, oldest first, never changed.
			Name:         Worklog,
			PartitionKey: Key{AttrPK, String},
			SortKey:      str(AttrSK),
			AppendOnly:   true,
		},
		{
			// PK is the patient ID, SK "ATT#<ulid>": one item per uploaded
			// file. Part of the chart: no TTL, never deleted.
			Name:         Attachments,
			PartitionKey: Key{AttrPK, String},
			SortKey:      str(AttrSK),
		},
		{
			// PK is the patient ID, SK "<RFC3339 time>#<ulid>".
			Name:         Audit,
			PartitionKey: Key{AttrPK, String},
			SortKey:      str(AttrSK),
			AppendOnly:   true,
		},
	}
}

// PhysicalName is the table's name in an environment with the given prefix.
func PhysicalName(prefix, logical string) string { return prefix + logical }

// CreateTableInput builds the DynamoDB request that creates t under name.
// Billing is on demand, as in the deployed stack.
func (t Table) CreateTableInput(name string) *dynamodb.CreateTableInput {
	attrs := map[string]types.ScalarAttributeType{}
	keySchema := func(pk Key, sk *Key) []types.KeySchemaElement {
		attrs[pk.Name] = types.ScalarAttributeType(pk.Type)
		ks := []types.KeySchemaElement{{AttributeName: aws.String(pk.Name), KeyType: types.KeyTypeHash}}
		if sk != nil {
			attrs[sk.Name] = types.ScalarAttributeType(sk.Type)
			ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(sk.Name), KeyType: types.KeyTypeRange})
		}
		return ks
	}
	all := &types.Projection{ProjectionType: types.ProjectionTypeAll}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   keySchema(t.PartitionKey, t.SortKey),
	}
	for _, g := range t.GSIs {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName: aws.String(g.Name), KeySchema: keySchema(g.PartitionKey, g.SortKey), Projection: all,
		})
	}
	for _, l := range t.LSIs {
		in.LocalSecondaryIndexes = append(in.LocalSecondaryIndexes, types.LocalSecondaryIndex{
			IndexName: aws.String(l.Name), KeySchema: keySchema(l.PartitionKey, l.SortKey), Projection: all,
		})
	}
	if t.Stream != "" {
		in.StreamSpecification = &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: t.Stream}
	}
	for name, typ := range attrs {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(name), AttributeType: typ,
		})
	}
	// Map order is random; sort so the request is deterministic.
	slices.SortFunc(in.AttributeDefinitions, func(a, b types.AttributeDefinition) int {
		return strings.Compare(*a.AttributeName, *b.AttributeName)
	})
	return in
}
