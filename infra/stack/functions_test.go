package stack_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

// functionResource finds a function's Lambda by the construct ID the stack
// gives it ("list-conversations" -> ListConversationsFunction...).
func functionResource(t *testing.T, s synthesized, name string) resource {
	t.Helper()
	id := ""
	for _, part := range strings.Split(name, "-") {
		id += strings.ToUpper(part[:1]) + part[1:]
	}
	return s.withPrefix(t, "AWS::Lambda::Function", id+"Function")
}

// grants is what a function's role may do: actions per resource, where a
// resource is a table's logical ID, "<table>/index/<name>", or a literal.
type grants map[string][]string

// functionGrants collects every statement that reaches a function's role,
// and fails if anything other than its one managed policy does.
func functionGrants(t *testing.T, s synthesized, fn resource) (grants, []map[string]any) {
	t.Helper()
	role := refID(fn.Props["Role"])
	r := s.resource(t, role)
	if r.Props["ManagedPolicyArns"] != nil || r.Props["Policies"] != nil {
		t.Errorf("role %s has other policies: %v %v", role, r.Props["ManagedPolicyArns"], r.Props["Policies"])
	}
	for _, p := range s.resources("AWS::IAM::Policy") {
		for _, rr := range asList(p.Props["Roles"]) {
			if refID(rr) == role {
				t.Errorf("inline policy %s is attached to %s", p.ID, role)
			}
		}
	}
	var sts []map[string]any
	for _, p := range s.resources("AWS::IAM::ManagedPolicy") {
		for _, rr := range asList(p.Props["Roles"]) {
			if refID(rr) == role {
				sts = append(sts, statements(p.Props["PolicyDocument"])...)
			}
		}
	}
	g := grants{}
	for _, st := range sts {
		if st["Effect"] != "Allow" {
			continue
		}
		for _, res := range resourcesOf(st["Resource"]) {
			g[res] = append(g[res], strs(st["Action"])...)
		}
	}
	return g, sts
}

// streamSuffix names a table's stream: "<table id>/stream".
const streamSuffix = "/stream"

// resourcesOf names each resource of a statement: a GetAtt's logical ID (a
// table's StreamArn as "<id>/stream"), a Join of a GetAtt and a suffix as
// "<id><suffix>", a literal as itself.
func resourcesOf(v any) []string {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var out []string
	for _, r := range list {
		switch x := r.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			if g, ok := x["Fn::GetAtt"].([]any); ok && len(g) == 2 && g[1] == "StreamArn" {
				out = append(out, fmt.Sprint(g[0])+streamSuffix)
				continue
			}
			if id := refID(x); id != "" {
				out = append(out, id)
				continue
			}
			if j, ok := x["Fn::Join"].([]any); ok {
				var b strings.Builder
				for _, part := range asList(j[1]) {
					if id := refID(part); id != "" {
						b.WriteString(id)
					} else {
						b.WriteString(part.(string))
					}
				}
				out = append(out, b.String())
			}
		}
	}
	return out
}

func dynamoActions(actions []string) []string {
	var out []string
	for _, a := range actions {
		if strings.HasPrefix(a, "dynamodb:") {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Independent of the stack's own tables of actions.
var (
	writeActions = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
		"dynamodb:ConditionCheckItem", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete", "dynamodb:*"}
)

// DynamoDB actions, spelled out here.
const (
	ddbGet      = "dynamodb:GetItem"
	ddbBatchGet = "dynamodb:BatchGetItem"
	ddbQuery    = "dynamodb:Query"
	ddbPut      = "dynamodb:PutItem"
	ddbUpdate   = "dynamodb:UpdateItem"
	ddbDelete   = "dynamodb:DeleteItem"
)

// tableAccess is what one function may do on one table.
type tableAccess struct {
	// items are the actions on the table's items, with no condition.
	items []string
	// patientWrites are the actions on the table's items allowed only in
	// patient partitions: ForAllValues:StringLike dynamodb:LeadingKeys
	// "PATIENT#*".
	patientWrites []string
	// accountWrites are the actions allowed only in patient and portal-user
	// partitions ("PATIENT#*", "PORTALUSER#*"): a family's links and account.
	accountWrites []string
	// templateWrites are the actions allowed only in staff members' own
	// template partitions ("TEMPLATES#STAFF#*"), never a staff profile
	// ("STAFF#"), a practice or a patient.
	templateWrites []string
	// headerUpdates is true when the function may UpdateItem only under
	// ForAllValues:StringEquals dynamodb:Attributes = reviewedHeaderAttributes.
	headerUpdates bool
	// channelUpdates is true when the function may UpdateItem only in
	// portal-user partitions (dynamodb:LeadingKeys "PORTALUSER#*") and only
	// the attributes reviewedPreferenceAttributes.
	channelUpdates bool
	// indexes is true when the function may Query (and only Query) every
	// index of the table but the directory's Search and ByPortalUser
	// indexes.
	indexes bool
	// searchIndex is true when the function may also Query the Search
	// index, which lists a practice's patients and portal users by name,
	// birth date and e-mail: the directory function alone.
	searchIndex bool
	// portalUserIndex is true when the function may also Query the
	// ByPortalUser index, which lists any portal user's links: the
	// directory function, list-conversations (the portal summary of the
	// caller's own children) and ses-events alone.
	portalUserIndex bool
	// stream is true when the function may read the table's stream, and
	// only the stream: its shards and records.
	stream bool
}

// searchIndex is the Directory's practice-wide search index, spelled out
// here.
const searchIndex = "Search"

// portalUserIndex is the Directory's index of links by portal user.
const portalUserIndex = "ByPortalUser"

// streamRead is what reading a stream through an event source mapping
// takes, on the stream's ARN only.
var streamRead = []string{"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}

// reviewedHeaderAttributes are the attributes an update on Messages may
// name: the keys and what replies, mark read and manage change or test,
// never a message's (body, author, createdAt), an expiry, nor what a
// conversation never changes (subject, patient, practice, starter).
// Written out for review; the stack takes them from store.HeaderAttributes,
// so a new attribute fails here until it is reviewed.
var reviewedHeaderAttributes = slices.Sorted(slices.Values([]string{
	"PK", "SK", "ActivitySK", "InboxPK", "InboxSK", "OpenPK", "QueuePK", "PoolQueuePK", "QueueSK",
	// whose turn it is, the assignment, the pool (rerouting), the escalation
	// mark and the acknowledged off-hours window
	"awaiting", "awaitingSince", "assignedAt", "pool", "overdueAt", "ackedWindow",
	"status", "assignee", "lastActivityAt", "messageCount", "preview",
	"portalUnread", "staffUnread", "portalReadAt", "staffReadAt", "version",
}))

// reviewedPreferenceAttributes are what preferences may update on a
// portal user: the keys and the notification channels, never the active
// flag, the address, the phone or the bounce mark.
var reviewedPreferenceAttributes = []string{"PK", "SK", "notify"}

var (
	readItems = []string{ddbBatchGet, ddbGet, ddbQuery}
	readTable = tableAccess{items: readItems, indexes: true}
	// A table without indexes (the staff-only Worklog).
	readItemsOnly = tableAccess{items: readItems}
	appendOnly    = tableAccess{items: []string{ddbPut}}
	// Read plus update of conversation headers: never a put (which could
	// overwrite a message) nor a delete, nor an update of a message's own
	// attributes.
	readUpdate = tableAccess{items: readItems, headerUpdates: true, indexes: true}
)

// wantTableAccess is every function's DynamoDB access, written out from the
// security review rather than read from routes.Functions(), which the stack
// is built from: a wrong entry there fails TestFunctionsHoldExactlyTheReviewedTableAccess.
// A table a function is not listed under is one it may not touch at all.
var wantTableAccess = map[string]map[string]tableAccess{
	// Directory reads that return patient data are audited too.
	// It alone queries the Search index (patient and portal-user search).
	"directory": {schema.Directory: {items: readItems, indexes: true, searchIndex: true, portalUserIndex: true}, schema.Audit: appendOnly},
	// The portal summary reads the caller's links by the ByPortalUser index.
	"list-conversations": {schema.Directory: {items: readItems, indexes: true, portalUserIndex: true}, schema.Messages: readTable, schema.Audit: appendOnly},
	// Staff-only reads: the inbox and a conversation's notes and events.
	"staff-inbox":      {schema.Directory: readTable, schema.Messages: readTable, schema.Worklog: readItemsOnly, schema.Audit: appendOnly},
	"get-conversation": {schema.Directory: readTable, schema.Messages: readTable, schema.Audit: appendOnly},
	// The download reads what the list and the chain read; the Worklog
	// stays out of it.
	"export-chart": {schema.Directory: readTable, schema.Messages: readTable, schema.Audit: appendOnly},
	"write-message": {
		schema.Directory: readTable,
		// Messages are put, headers updated, nothing deleted.
		schema.Messages: {items: []string{ddbBatchGet, ddbGet, ddbPut, ddbQuery}, headerUpdates: true, indexes: true},
		// Idempotency records and per-caller daily counters: read, put and
		// counted up; they expire by TTL, so never deleted. No index.
		schema.Idempotency: {items: []string{ddbBatchGet, ddbGet, ddbPut, ddbQuery, ddbUpdate}},
		// A message claims its files: an update of each attachment's
		// record, in the message's transaction; never a put or delete.
		schema.Attachments: {items: []string{ddbBatchGet, ddbGet, ddbQuery, ddbUpdate}},
		schema.Audit:       appendOnly,
	},
	// Attachments: upload slots and reads of files decide access as a
	// reply does (directory, the conversation's header), put a pending
	// record with its audit record, read records; never a delete.
	"attachments": {
		schema.Directory:   readTable,
		schema.Messages:    readTable,
		schema.Attachments: attachmentRecords,
		schema.Audit:       appendOnly,
	},
	// The processor records each scanned upload's outcome (a conditional
	// put of the pending record) with its audit record.
	"attach-process": {schema.Attachments: attachmentRecords, schema.Audit: appendOnly},
	"mark-read":      {schema.Directory: readTable, schema.Messages: readUpdate, schema.Audit: appendOnly},
	// Header changes, with their history entries and the staff's notes
	// appended to the Worklog, which nobody may update or delete.
	"manage-conversation": {schema.Directory: readTable, schema.Messages: readUpdate, schema.Worklog: appendOnly, schema.Audit: appendOnly},
	// Moving a conversation between the family's and the confidential
	// partition: the one function that may delete a chart item, each
	// delete in the transaction that puts its copy. No update at all.
	"move-conversation": {
		schema.Directory: readTable,
		schema.Messages:  {items: []string{ddbBatchGet, ddbDelete, ddbGet, ddbPut, ddbQuery}, indexes: true},
		schema.Worklog:   appendOnly,
		schema.Audit:     appendOnly,
	},
	"manage-links": {
		// Reads staff and portal-user records; writes link items in patient
		// partitions only, never a STAFF# record (unlinking deletes the link
		// inside a transaction with its audit record). No Messages access.
		// It reads a portal user's links (ByPortalUser) to keep a patient's
		// own account to one patient.
		schema.Directory: {items: readItems, patientWrites: []string{ddbDelete, ddbPut, ddbUpdate}, indexes: true, portalUserIndex: true},
		schema.Audit:     appendOnly,
	},
	"preferences": {
		// Reads portal users (the access read); updates only a portal
		// user's channels, never puts or deletes. Appends the change's
		// audit record. No Messages access. It reads the cursor key, to
		// verify unsubscribe links.
		schema.Directory: {items: readItems, channelUpdates: true, indexes: true},
		schema.Audit:     appendOnly,
	},
	// The notification path. None of the three touches a message: the
	// notifier and the flusher read the chart, and only ses-events writes
	// the directory.
	"notifier": {
		// Reads the linked family and opted-in staff, and the conversation
		// header of each new message; records pending notifications. It
		// appends no audit record: it sends nothing and returns no patient
		// data to anyone. It never deletes: only the flusher removes a
		// pending notification, with the audit records of its send.
		schema.Directory: readTable,
		// and the Messages stream, which its event source mapping reads
		// with its role
		schema.Messages:      {items: readItems, indexes: true, stream: true},
		schema.Notifications: addPending,
	},
	"notify-flush": {
		// Reads recipients and headers (to skip what was read meanwhile),
		// defers or removes pending items, and audits each send in the
		// same transaction that removes the item. It holds the cursor key
		// to sign unsubscribe links.
		schema.Directory:     readTable,
		schema.Messages:      readTable,
		schema.Notifications: pendingNotifications,
		schema.Audit:         appendOnly,
	},
	"templates": {
		// Reads the access facts, the practice and templates; puts, updates
		// and deletes a staff member's own templates and their count, each
		// with its audit record. No Messages access.
		schema.Directory: {items: readItems, templateWrites: []string{ddbDelete, ddbPut, ddbUpdate}, indexes: true},
		schema.Audit:     appendOnly,
	},
	"ses-events": {
		// Marks a portal user's address (and their link items) unreachable:
		// never a staff, pool or practice record. (Its updates carry no
		// attribute limit: package grants keeps one list per table.)
		schema.Directory: {items: []string{ddbBatchGet, ddbGet, ddbQuery}, accountWrites: []string{ddbUpdate}, indexes: true, portalUserIndex: true},
	},
	"escalate": {
		// Reads the practices, their pools and opted-in staff; reads each
		// pool's needs-reply queue and marks a header overdue (a header
		// update, never a put), with its history entry appended to the
		// Worklog and its audit record; records alerts as pending
		// notifications, never deleting one.
		schema.Directory:     readTable,
		schema.Messages:      readUpdate,
		schema.Worklog:       appendOnly,
		schema.Notifications: addPending,
		schema.Audit:         appendOnly,
	},
}

// pendingNotifications is read, put, update and delete of pending
// notifications, and Query of the Due index: they are short-lived (TTL)
// and hold IDs and due times only.
var (
	// attachmentRecords is read, put and update of attachment records,
	// which are part of the chart: never deleted.
	attachmentRecords    = tableAccess{items: []string{ddbBatchGet, ddbGet, ddbPut, ddbQuery, ddbUpdate}}
	pendingNotifications = tableAccess{items: []string{ddbBatchGet, ddbDelete, ddbGet, ddbPut, ddbQuery, ddbUpdate}, indexes: true}
	addPending           = tableAccess{items: []string{ddbBatchGet, ddbGet, ddbPut, ddbQuery, ddbUpdate}, indexes: true}
)

// The only conditions a DynamoDB grant may carry.
const (
	patientPartitionsOnly  = `{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["PATIENT#*"]}}`
	accountPartitionsOnly  = `{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["PATIENT#*","PORTALUSER#*"]}}`
	templatePartitionsOnly = `{"ForAllValues:StringLike":{"dynamodb:LeadingKeys":["TEMPLATES#STAFF#*"]}}`
)

var headerAttributesOnly = attributesOnly(reviewedHeaderAttributes)

// Mark-read changes a side's unread count and read time, conditional on
// the message count; the escalator sets the overdue mark, conditional on
// the wait it read. Neither may touch an assignee, a pool or a turn.
var (
	readAttributesOnly    = attributesOnly([]string{"PK", "SK", "messageCount", "portalReadAt", "portalUnread", "staffReadAt", "staffUnread"})
	overdueAttributesOnly = attributesOnly([]string{"PK", "SK", "awaiting", "awaitingSince", "messageCount", "overdueAt", "pool"})
)

// headerUpdatesOf is the reviewed condition of a function's header updates.
var headerUpdatesOf = map[string]string{"mark-read": readAttributesOnly, "escalate": overdueAttributesOnly}

func attributesOnly(attrs []string) string {
	return jsonString(map[string]map[string][]string{"ForAllValues:StringEquals": {"dynamodb:Attributes": attrs}})
}

var portalUserChannelsOnly = jsonString(map[string]map[string][]string{
	"ForAllValues:StringEquals": {"dynamodb:Attributes": reviewedPreferenceAttributes},
	"ForAllValues:StringLike":   {"dynamodb:LeadingKeys": {"PORTALUSER#*"}},
})

// dynamoGrant is one DynamoDB action on one resource under one condition
// ("" for none), as the synthesized policies state it.
type dynamoGrant struct{ resource, action, condition string }

// dynamoGrants lists every DynamoDB action a function's role holds, and
// fails on statement forms that the list could not describe.
func dynamoGrants(t *testing.T, sts []map[string]any) []dynamoGrant {
	t.Helper()
	var out []dynamoGrant
	for _, st := range sts {
		if st["NotAction"] != nil || st["NotResource"] != nil || st["NotPrincipal"] != nil {
			t.Errorf("statement with a Not* element: %v", st)
		}
		if st["Effect"] != "Allow" {
			continue
		}
		cond := ""
		if c := st["Condition"]; c != nil {
			// Normalise a single value to a list.
			norm := map[string]map[string][]string{}
			for op, kv := range c.(map[string]any) {
				norm[op] = map[string][]string{}
				for k, v := range kv.(map[string]any) {
					norm[op][k] = strs(v)
				}
			}
			cond = jsonString(norm)
		}
		for _, a := range dynamoActions(strs(st["Action"])) {
			for _, res := range resourcesOf(st["Resource"]) {
				out = append(out, dynamoGrant{res, a, cond})
			}
		}
	}
	return out
}

func TestFunctionsHoldExactlyTheReviewedTableAccess(t *testing.T) {
	// GIVEN the reviewed access of every function, which covers exactly the
	// functions the stack builds
	if got, want := routes.FunctionNames(), slices.Sorted(maps.Keys(wantTableAccess)); !slices.Equal(got, want) {
		t.Errorf("functions %v, reviewed access for %v", got, want)
	}
	ids := tableIDs(t, full)
	for _, name := range slices.Sorted(maps.Keys(wantTableAccess)) {
		t.Run(name, func(t *testing.T) {
			// WHEN we collect every DynamoDB action its role holds
			_, sts := functionGrants(t, full, functionResource(t, full, name))
			grants := dynamoGrants(t, sts)

			// THEN each table and index gets exactly the reviewed actions
			want := map[dynamoGrant]bool{}
			for _, tbl := range schema.Tables() {
				w := wantTableAccess[name][tbl.Name]
				for _, a := range w.items {
					want[dynamoGrant{ids[tbl.Name], a, ""}] = true
				}
				for _, a := range w.patientWrites {
					want[dynamoGrant{ids[tbl.Name], a, patientPartitionsOnly}] = true
				}
				for _, a := range w.accountWrites {
					want[dynamoGrant{ids[tbl.Name], a, accountPartitionsOnly}] = true
				}
				for _, a := range w.templateWrites {
					want[dynamoGrant{ids[tbl.Name], a, templatePartitionsOnly}] = true
				}
				if w.headerUpdates {
					cond := headerAttributesOnly
					if c, ok := headerUpdatesOf[name]; ok {
						cond = c
					}
					want[dynamoGrant{ids[tbl.Name], ddbUpdate, cond}] = true
				}
				if w.channelUpdates {
					want[dynamoGrant{ids[tbl.Name], ddbUpdate, portalUserChannelsOnly}] = true
				}
				if w.indexes {
					for _, i := range slices.Concat(tbl.GSIs, tbl.LSIs) {
						if (i.Name != searchIndex || w.searchIndex) && (i.Name != portalUserIndex || w.portalUserIndex) {
							want[dynamoGrant{ids[tbl.Name] + "/index/" + i.Name, ddbQuery, ""}] = true
						}
					}
				}
				if w.stream {
					for _, a := range streamRead {
						want[dynamoGrant{ids[tbl.Name] + streamSuffix, a, ""}] = true
					}
				}
			}
			got := map[dynamoGrant]bool{}
			for _, g := range grants {
				got[g] = true
				// (no wildcard resource, no other table, no other condition)
				if !want[g] {
					t.Errorf("holds %s on %s (condition %q), which the review does not allow", g.action, g.resource, g.condition)
				}
			}
			for g := range want {
				if !got[g] {
					t.Errorf("lacks %s on %s (condition %q), which the review requires", g.action, g.resource, g.condition)
				}
			}
		})
	}
}

func TestReadOnlyFunctionWritesOnlyItsAuditRecords(t *testing.T) {
	// GIVEN the functions the review allows no write but audit appends
	ids := tableIDs(t, full)
	var readOnly []string
	for name, tables := range wantTableAccess {
		writes := false
		for table, w := range tables {
			if table == schema.Audit {
				continue
			}
			writes = writes || len(w.patientWrites) > 0 || len(w.accountWrites) > 0 || len(w.templateWrites) > 0 || w.headerUpdates || w.channelUpdates || slices.ContainsFunc(w.items, func(a string) bool { return slices.Contains(writeActions, a) })
		}
		if !writes {
			readOnly = append(readOnly, name)
		}
	}
	slices.Sort(readOnly)
	if want := []string{"directory", "export-chart", "get-conversation", "list-conversations", "staff-inbox"}; !slices.Equal(readOnly, want) {
		t.Fatalf("read-only functions %v, want %v", readOnly, want)
	}
	for _, name := range readOnly {
		// WHEN we collect everything its role may do
		g, _ := functionGrants(t, full, functionResource(t, full, name))
		// THEN its one DynamoDB write is PutItem on the audit table
		for res, actions := range g {
			for _, a := range actions {
				if slices.Contains(writeActions, a) && (res != ids[schema.Audit] || a != ddbPut) {
					t.Errorf("%s (read-only) holds %s on %s", name, a, res)
				}
			}
		}
	}
}

func TestNoPortalFunctionCanReachStaffNotes(t *testing.T) {
	// GIVEN the functions behind portal and public routes
	ids := tableIDs(t, full)
	serves := map[string]bool{}
	for _, r := range routes.All() {
		if r.Audience != routes.Staff {
			serves[r.Function] = true
		}
	}
	if len(serves) == 0 {
		t.Fatal("no portal functions found")
	}
	for name := range serves {
		// WHEN we collect their grants
		g, _ := functionGrants(t, full, functionResource(t, full, name))
		// THEN none names the Worklog table, where internal notes live
		for res := range g {
			if strings.HasPrefix(res, ids[schema.Worklog]) {
				t.Errorf("%s serves portal routes and may reach the Worklog (%s)", name, res)
			}
		}
	}
}

func TestUpdateOnlyFunctionsCannotPutOrDeleteMessages(t *testing.T) {
	// GIVEN the functions that only mark messages read or manage a
	// conversation's state
	ids := tableIDs(t, full)
	for _, name := range []string{"mark-read", "manage-conversation", "escalate"} {
		// WHEN we collect their grants on Messages
		_, sts := functionGrants(t, full, functionResource(t, full, name))
		for _, g := range dynamoGrants(t, sts) {
			if !strings.HasPrefix(g.resource, ids[schema.Messages]) {
				continue
			}
			// THEN none can put (overwrite) or delete an item there, under any condition
			if g.action != ddbUpdate && slices.Contains(writeActions, g.action) {
				t.Errorf("%s holds %s on %s", name, g.action, g.resource)
			}
		}
	}
}

func TestMessageUpdatesTouchOnlyHeaderAttributes(t *testing.T) {
	// GIVEN every function's grants on the Messages table
	ids := tableIDs(t, full)
	updaters := 0
	for _, f := range routes.Functions() {
		_, sts := functionGrants(t, full, functionResource(t, full, f.Name))
		for _, g := range dynamoGrants(t, sts) {
			if g.resource != ids[schema.Messages] || g.action != ddbUpdate {
				continue
			}
			updaters++
			// THEN every UpdateItem there is limited to the header
			// attributes, or to the part of them the function changes
			want := headerAttributesOnly
			if c, ok := headerUpdatesOf[f.Name]; ok {
				want = c
			}
			if g.condition != want {
				t.Errorf("%s: UpdateItem on Messages with condition %q, want %s", f.Name, g.condition, want)
			}
		}
	}
	// (mark-read, manage-conversation, write-message and escalate)
	if updaters != 4 {
		t.Errorf("%d functions update Messages, want 4", updaters)
	}
}

func TestManageLinksWritesOnlyPatientPartitions(t *testing.T) {
	// GIVEN manage-links, which reads staff records but must never rewrite one
	ids := tableIDs(t, full)
	_, sts := functionGrants(t, full, functionResource(t, full, "manage-links"))
	writes := 0
	for _, g := range dynamoGrants(t, sts) {
		if !slices.Contains(writeActions, g.action) {
			continue
		}
		writes++
		// THEN every write on the directory carries the patient-partition
		// condition, and it writes nowhere else but the audit trail
		switch g.resource {
		case ids[schema.Directory]:
			if g.condition != patientPartitionsOnly {
				t.Errorf("%s on the directory with condition %q, want %s", g.action, g.condition, patientPartitionsOnly)
			}
		case ids[schema.Audit]:
			if g.action != ddbPut {
				t.Errorf("%s on the audit table", g.action)
			}
		default:
			t.Errorf("%s on %s", g.action, g.resource)
		}
	}
	if writes == 0 {
		t.Error("manage-links holds no write at all")
	}
}

func TestAppendOnlyTablesAreNeverUpdatedOrDeleted(t *testing.T) {
	// GIVEN the append-only tables of the schema
	ids := tableIDs(t, full)
	for _, tbl := range schema.Tables() {
		if !tbl.AppendOnly {
			continue
		}
		for _, f := range routes.Functions() {
			// WHEN we read what each function may do on it
			g, _ := functionGrants(t, full, functionResource(t, full, f.Name))
			// THEN it may put and read, never update or delete
			for _, a := range dynamoActions(g[ids[tbl.Name]]) {
				if a != ddbPut && !slices.Contains(readItems, a) {
					t.Errorf("%s holds %s on append-only %s", f.Name, a, tbl.Name)
				}
			}
		}
	}
}

// Messages are deleted only to move them between a patient's partitions,
// by the one function that does, which cannot update anything.
func TestMessagesAreDeletedOnlyByTheMove(t *testing.T) {
	ids := tableIDs(t, full)
	for _, f := range routes.Functions() {
		g, _ := functionGrants(t, full, functionResource(t, full, f.Name))
		deletes := slices.Contains(g[ids[schema.Messages]], "dynamodb:DeleteItem")
		if deletes != (f.Name == routes.FnMoveConversation) {
			t.Errorf("%s: may delete messages = %v", f.Name, deletes)
		}
	}
}

func TestKeyUseOnlyThroughServicesAndCursorKeyOnlyForCursorFunctions(t *testing.T) {
	key := full.only(t, "AWS::KMS::Key").ID
	secret := full.only(t, "AWS::SecretsManager::Secret").ID
	for _, f := range routes.Functions() {
		t.Run(f.Name, func(t *testing.T) {
			// GIVEN a function's statements
			_, sts := functionGrants(t, full, functionResource(t, full, f.Name))
			readsSecret := false
			for _, st := range sts {
				res := resourcesOf(st["Resource"])
				// THEN every statement on the key is limited to a service
				if slices.Contains(res, key) {
					via, _ := path(st, "Condition", "StringEquals", "kms:ViaService").(string)
					if !strings.HasPrefix(via, "dynamodb.") && !strings.HasPrefix(via, "secretsmanager.") && !strings.HasPrefix(via, "sqs.") &&
						(f.Blobs == routes.BlobNone || !strings.HasPrefix(via, "s3.")) {
						t.Errorf("key statement without kms:ViaService: %v", st)
					}
				}
				if slices.Contains(res, secret) && slices.Contains(strs(st["Action"]), "secretsmanager:GetSecretValue") {
					readsSecret = true
				}
			}
			// AND only cursor functions may read the cursor key
			if readsSecret != f.Cursors {
				t.Errorf("reads cursor key: %v, Cursors: %v", readsSecret, f.Cursors)
			}
		})
	}
}

func TestFunctionsAreToldOnlyTheirOwnSettings(t *testing.T) {
	ids := tableIDs(t, full)
	secret := full.only(t, "AWS::SecretsManager::Secret").ID
	clients := map[string]string{}
	for _, c := range full.resources("AWS::Cognito::UserPoolClient") {
		for _, aud := range []string{"portal", "staff"} {
			if strings.Contains(jsonString(c.Props["ClientName"]), "-"+aud+"-web") {
				clients[aud] = c.ID
			}
		}
	}
	if len(clients) != 2 {
		t.Fatalf("app clients %v, want one per audience", clients)
	}
	for _, name := range slices.Sorted(maps.Keys(wantTableAccess)) {
		t.Run(name, func(t *testing.T) {
			// GIVEN a function's environment
			vars, _ := path(functionResource(t, full, name).Props, "Environment", "Variables").(map[string]any)
			// THEN it names both issuers and both app clients, which the
			// handler checks every token's iss and client_id against
			want := []string{"PORTAL_CLIENT_ID", "PORTAL_ISSUER", "STAFF_CLIENT_ID", "STAFF_ISSUER"}
			if refID(vars["PORTAL_CLIENT_ID"]) != clients["portal"] || refID(vars["STAFF_CLIENT_ID"]) != clients["staff"] {
				t.Errorf("client IDs %v %v, want refs to %v", vars["PORTAL_CLIENT_ID"], vars["STAFF_CLIENT_ID"], clients)
			}
			// AND the names of the reviewed tables only
			for table := range wantTableAccess[name] {
				v := "TABLE_" + strings.ToUpper(table)
				want = append(want, v)
				if refID(vars[v]) != ids[table] {
					t.Errorf("%s = %v, want a ref to %s", v, vars[v], ids[table])
				}
			}
			// AND the cursor secret only when it pages
			f, _ := routes.FunctionNamed(name)
			if f.Cursors {
				want = append(want, "CURSOR_KEY_SECRET_ARN")
				if refID(vars["CURSOR_KEY_SECRET_ARN"]) != secret {
					t.Errorf("CURSOR_KEY_SECRET_ARN = %v", vars["CURSOR_KEY_SECRET_ARN"])
				}
			}
			// AND the sender settings only when it sends: the configured
			// sender, identity, configuration set and origination identity,
			// and the API's own address for unsubscribe links
			if f.Sends {
				sender := map[string]string{
					"MAIL_FROM": testMailFrom, "MAIL_FROM_ARN": testSESIdentity, "SES_CONFIGURATION_SET": "Full-notifications",
					"SMS_ORIGINATION_IDENTITY": testSMSOrigin, "API_URL": "https://" + testAPIDomain,
				}
				for k, v := range sender {
					want = append(want, k)
					if got, _ := resolveString(vars[k]); got != v {
						t.Errorf("%s = %v, want %s", k, vars[k], v)
					}
				}
			}
			// AND the attachment buckets only when it uses them
			if f.Blobs != routes.BlobNone {
				want = append(want, "UPLOADS_BUCKET", "CHART_BUCKET")
			}
			slices.Sort(want)
			if got := slices.Sorted(maps.Keys(vars)); !slices.Equal(got, want) {
				t.Errorf("variables %v, want %v", got, want)
			}
		})
	}
}

func TestOneFunctionPerFolderUnderFunctions(t *testing.T) {
	// GIVEN the folders under functions/ (what `make build` builds)
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Skipf("no functions/ folder yet: %v", err)
	}
	var folders []string
	for _, e := range entries {
		if e.IsDir() {
			folders = append(folders, e.Name())
		}
	}
	slices.Sort(folders)
	// THEN the stack builds a Lambda for exactly those
	if got := routes.FunctionNames(); !slices.Equal(got, folders) {
		t.Errorf("routes.Functions() = %v, functions/ = %v", got, folders)
	}
}

func TestPreferencesUpdatesOnlyPortalUserChannels(t *testing.T) {
	// GIVEN preferences, which the public unsubscribe route reaches
	ids := tableIDs(t, full)
	_, sts := functionGrants(t, full, functionResource(t, full, "preferences"))
	writes := 0
	for _, g := range dynamoGrants(t, sts) {
		if !slices.Contains(writeActions, g.action) {
			continue
		}
		writes++
		// THEN its one directory write is UpdateItem of a portal user's
		// channels, and it writes nowhere else but the audit trail
		switch {
		case g.resource == ids[schema.Directory] && g.action == ddbUpdate && g.condition == portalUserChannelsOnly:
		case g.resource == ids[schema.Audit] && g.action == ddbPut && g.condition == "":
		default:
			t.Errorf("%s on %s (condition %q)", g.action, g.resource, g.condition)
		}
	}
	if writes != 2 {
		t.Errorf("%d writes, want the channels update and the audit put", writes)
	}
}
