// Package grants is the one definition of what each function may do in
// DynamoDB: the IAM actions per access level, the tables on which writes
// are limited to some partitions (dynamodb:LeadingKeys), the tables whose
// updates are limited to some attributes (dynamodb:Attributes), and the
// index names a Query may name. The CDK stack writes its IAM policies from
// it, and the local guard (package localdev/iamguard) refuses whatever it
// does not allow, so a call IAM would deny fails in `make dev` and in the
// tests too.
//
// It imports only routes and schema: no SDK client, no handler code, so
// the CDK app can use it.
package grants

import (
	"fmt"
	"slices"

	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

// DynamoDB IAM actions, as policies spell them.
//
// IAM authorises a TransactWriteItems call item by item: a Put as PutItem,
// an Update as UpdateItem, a Delete as DeleteItem and a ConditionCheck as
// ConditionCheckItem, each on its own table. A BatchGetItem is authorised
// as BatchGetItem on every table it names.
const (
	GetItem            = "dynamodb:GetItem"
	BatchGetItem       = "dynamodb:BatchGetItem"
	Query              = "dynamodb:Query"
	PutItem            = "dynamodb:PutItem"
	UpdateItem         = "dynamodb:UpdateItem"
	DeleteItem         = "dynamodb:DeleteItem"
	ConditionCheckItem = "dynamodb:ConditionCheckItem"
)

// Actions per access level. Nothing here lets a function scan, batch-write,
// use PartiQL or change a table's settings. No code issues a
// ConditionCheck, so ConditionCheckItem is granted to nobody.
var (
	readItemActions  = []string{GetItem, BatchGetItem, Query}
	readIndexActions = []string{Query}
	appendActions    = []string{PutItem}
	updateActions    = []string{UpdateItem}
	writeActions     = []string{PutItem, UpdateItem}
	deleteActions    = []string{DeleteItem}
)

// MayDelete reports whether ReadWriteDelete access to a table includes
// DeleteItem. The directory holds items that are removed (unlinking a
// portal user deletes the link item, inside a TransactWriteItems with its
// audit record), and a pending notification is removed when it is sent,
// with the audit records of the send. Messages belong to the chart and are
// never deleted, retractions included (moving a conversation between
// audiences re-keys it under routes.Rekey, each delete in the transaction
// that puts its copy); idempotency records and counters
// expire by TTL, which needs no permission. Append-only tables never get it.
func MayDelete(table string) bool { return table == schema.Directory || table == schema.Notifications }

// PatientPartition is the partition-key prefix of a patient's directory
// items (its profile and its portal-user links); staff records live under
// "STAFF#", portal users under PortalUserPartition.
const PatientPartition = "PATIENT#"

// PortalUserPartition is the partition-key prefix of portal-user accounts
// in the directory.
const PortalUserPartition = "PORTALUSER#"

// StaffTemplatePartition is the partition-key prefix of a staff member's
// own quick-reply templates: a partition apart from the staff profile
// ("STAFF#"), so that the templates function, which writes there, can
// never rewrite a staff record's role or active flag.
const StaffTemplatePartition = "TEMPLATES#STAFF#"

// writePartitionPrefixes limits a function's writes on a table to items
// whose partition key starts with a prefix (dynamodb:LeadingKeys), where
// the function writes only some of the table's partitions. Its reads stay
// unconditioned. manage-links writes link items in patient partitions and
// must never rewrite a staff record, though it reads them. preferences
// updates portal-user accounts only: never a patient, link or staff item.
// ses-events marks a portal user's bounced address on the account and on
// each of its links: never a staff, pool or practice record. templates
// writes personal templates and their count only: never a staff profile,
// a practice's templates (the directory loader's) or a patient's items.
var writePartitionPrefixes = map[string]map[string][]string{
	routes.FnTemplates:   {schema.Directory: {StaffTemplatePartition}},
	routes.FnManageLinks: {schema.Directory: {PatientPartition}},
	routes.FnPreferences: {schema.Directory: {PortalUserPartition}},
	routes.FnSESEvents:   {schema.Directory: {PatientPartition, PortalUserPartition}},
}

// WritePartitionPrefixes returns the partition-key prefixes a function's
// writes on a table are limited to, or nil when they are not limited.
func WritePartitionPrefixes(function, table string) []string {
	return writePartitionPrefixes[function][table]
}

// headerOnlyUpdates lists the tables on which UpdateItem may change only
// the attributes of one kind of item. On Messages the only items ever
// updated are conversation headers (mark-read, manage-conversation, and
// the header part of write-message's transaction); a message is never
// edited in place, so no function may update a message's attributes.
var headerOnlyUpdates = map[string]bool{schema.Messages: true}

// UpdatesLimitedToAttributes reports whether UpdateItem on table is
// limited by dynamodb:Attributes to the table's keys and a fixed list of
// attributes for every function (see UpdateAttributes).
func UpdatesLimitedToAttributes(table string) bool { return headerOnlyUpdates[table] }

// functionAttributeLimits lists, per function, further tables on which its
// UpdateItem may change only a fixed list of attributes. preferences may
// change a portal user's notification channels and nothing else of the
// account (not its active flag, address or bounce mark): on the directory
// its list is the store's preference attributes. A table has one list for
// all the functions it limits, which infra and the local guard are given
// per table.
var functionAttributeLimits = map[string]map[string]bool{
	routes.FnPreferences: {schema.Directory: true},
}

// UpdatesLimited reports whether a function's UpdateItem on table is
// limited by dynamodb:Attributes: for every function on the tables of
// UpdatesLimitedToAttributes, and for some functions on more.
func UpdatesLimited(function, table string) bool {
	return headerOnlyUpdates[table] || functionAttributeLimits[function][table]
}

// UpdateAttributes is the list an UpdateItem on table may touch: the
// table's key attributes and the given item attributes (the store's
// conversation-header attributes for Messages), sorted and without
// duplicates. A request's key attributes are always among the attributes
// IAM evaluates, so they must be listed.
func UpdateAttributes(table string, attrs []string) []string {
	var out []string
	if t, ok := Table(table); ok {
		out = append(out, t.PartitionKey.Name)
		if t.SortKey != nil {
			out = append(out, t.SortKey.Name)
		}
	}
	out = append(out, attrs...)
	slices.Sort(out)
	return slices.Compact(out)
}

// TableActions returns the DynamoDB actions an access level gives on a
// table: the actions on its items, split into reads and writes, and the
// actions on its indexes.
func TableActions(table string, a routes.Access) (reads, writes, onIndexes []string) {
	switch a {
	case routes.Read:
		return slices.Clone(readItemActions), nil, slices.Clone(readIndexActions)
	case routes.Append:
		return nil, slices.Clone(appendActions), nil
	case routes.ReadUpdate:
		return slices.Clone(readItemActions), slices.Clone(updateActions), slices.Clone(readIndexActions)
	case routes.ReadWrite:
		return slices.Clone(readItemActions), slices.Clone(writeActions), slices.Clone(readIndexActions)
	case routes.ReadWriteDelete:
		writes = slices.Clone(writeActions)
		if MayDelete(table) {
			writes = append(writes, deleteActions...)
		}
		return slices.Clone(readItemActions), writes, slices.Clone(readIndexActions)
	case routes.Rekey:
		if table != schema.Messages {
			return nil, nil, nil
		}
		return slices.Clone(readItemActions), []string{PutItem, DeleteItem}, slices.Clone(readIndexActions)
	}
	return nil, nil, nil
}

// Table returns the schema of a logical table.
func Table(name string) (schema.Table, bool) {
	for _, t := range schema.Tables() {
		if t.Name == name {
			return t, true
		}
	}
	return schema.Table{}, false
}

// IndexNames lists a table's secondary indexes from the schema, so grants
// name each index instead of index/*.
func IndexNames(table string) []string {
	t, _ := Table(table)
	var names []string
	for _, i := range slices.Concat(t.GSIs, t.LSIs) {
		names = append(names, i.Name)
	}
	return names
}

// indexReaders lists indexes that only some functions may Query; every
// other index may be queried by every function that reads its table. The
// Search index lists patients and portal users of a whole practice by
// name, birth date and e-mail address: only the directory function, which
// serves staff patient search and the admin's portal-user search (and
// audits both), may read it. The functions that read one patient's chart
// or a portal user's links never need it.
//
// ByPortalUser lists one portal user's links across patients (and
// practices): the Current Patient list and the admin's portal-user search
// (directory), the portal's polled summary of the caller's own children
// (list-conversations), marking a bounced address on each link
// (ses-events), and checking that a patient's own account is no other
// patient's (manage-links). No function that reads one patient's chart
// needs it.
var indexReaders = map[string]map[string][]string{
	schema.Directory: {
		schema.IndexSearch:       {routes.FnDirectory},
		schema.IndexByPortalUser: {routes.FnDirectory, routes.FnListConversations, routes.FnSESEvents, routes.FnManageLinks},
	},
}

// FunctionIndexNames lists the indexes of a table that a function may
// Query: IndexNames, less those indexReaders keeps for other functions.
func FunctionIndexNames(function, table string) []string {
	return slices.DeleteFunc(IndexNames(table), func(index string) bool {
		readers, limited := indexReaders[table][index]
		return limited && !slices.Contains(readers, function)
	})
}

// Allows reports whether a function may perform action on a logical table,
// on its items (index "") or on one of its indexes. It says nothing of the
// LeadingKeys and Attributes conditions: see WritePartitionPrefix and
// UpdatesLimitedToAttributes.
func Allows(f routes.Function, table, action, index string) bool {
	access, ok := f.Tables[table]
	if !ok {
		return false
	}
	reads, writes, onIndexes := TableActions(table, access)
	if index != "" {
		return slices.Contains(FunctionIndexNames(f.Name, table), index) && slices.Contains(onIndexes, action)
	}
	return slices.Contains(reads, action) || slices.Contains(writes, action)
}

// Check validates the grants against the route table and the schema: every
// table a function names exists, append-only tables are at most appended
// to, and every partition limit names a function and a table it writes (a
// limit on a table the function does not write would limit nothing and
// go stale silently).
func Check() error {
	for _, f := range routes.Functions() {
		for table, access := range f.Tables {
			t, ok := Table(table)
			if !ok {
				return fmt.Errorf("function %s: unknown table %q", f.Name, table)
			}
			if t.AppendOnly && access != routes.Append && access != routes.Read {
				return fmt.Errorf("function %s: table %s is append-only, access %d not allowed", f.Name, table, access)
			}
		}
	}
	for fn, tables := range writePartitionPrefixes {
		f, ok := routes.FunctionNamed(fn)
		if !ok {
			return fmt.Errorf("write partition prefix for unknown function %q", fn)
		}
		for table := range tables {
			access, ok := f.Tables[table]
			if !ok {
				return fmt.Errorf("function %s: write partition prefix on %s, which it does not use", fn, table)
			}
			if _, writes, _ := TableActions(table, access); len(writes) == 0 {
				return fmt.Errorf("function %s: write partition prefix on %s, which it does not write", fn, table)
			}
		}
	}
	for table, indexes := range indexReaders {
		for index, fns := range indexes {
			if !slices.Contains(IndexNames(table), index) {
				return fmt.Errorf("index readers for unknown index %s of %s", index, table)
			}
			for _, fn := range fns {
				f, ok := routes.FunctionNamed(fn)
				if !ok {
					return fmt.Errorf("index %s: reader %q is no function", index, fn)
				}
				if _, _, onIndexes := TableActions(table, f.Tables[table]); len(onIndexes) == 0 {
					return fmt.Errorf("index %s: reader %s does not read %s", index, fn, table)
				}
			}
		}
	}
	for table := range headerOnlyUpdates {
		if _, ok := Table(table); !ok {
			return fmt.Errorf("attribute-limited updates on unknown table %q", table)
		}
	}
	for fn, tables := range functionAttributeLimits {
		f, ok := routes.FunctionNamed(fn)
		if !ok {
			return fmt.Errorf("attribute-limited updates for unknown function %q", fn)
		}
		for table := range tables {
			_, writes, _ := TableActions(table, f.Tables[table])
			if !slices.Contains(writes, UpdateItem) {
				return fmt.Errorf("function %s: attribute-limited updates on %s, which it does not update", fn, table)
			}
		}
	}
	return nil
}
