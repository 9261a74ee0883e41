package grants

import (
	"slices"
	"testing"

	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

func TestGrantsAgreeWithRoutesAndSchema(t *testing.T) {
	if err := Check(); err != nil {
		t.Fatal(err)
	}
}

func TestTableActionsLevels(t *testing.T) {
	// GIVEN each access level WHEN we ask for its actions THEN they are as documented
	read := []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
	query := []string{"dynamodb:Query"}
	tests := []struct {
		table                 string
		access                routes.Access
		reads, writes, onIdxs []string
	}{
		{schema.Messages, routes.None, nil, nil, nil},
		{schema.Messages, routes.Read, read, nil, query},
		{schema.Audit, routes.Append, nil, []string{"dynamodb:PutItem"}, nil},
		{schema.Messages, routes.ReadUpdate, read, []string{"dynamodb:UpdateItem"}, query},
		{schema.Messages, routes.ReadWrite, read, []string{"dynamodb:PutItem", "dynamodb:UpdateItem"}, query},
		{schema.Idempotency, routes.ReadWrite, read, []string{"dynamodb:PutItem", "dynamodb:UpdateItem"}, query},
		{schema.Directory, routes.ReadWrite, read, []string{"dynamodb:PutItem", "dynamodb:UpdateItem"}, query},
		{schema.Directory, routes.ReadWriteDelete, read, []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}, query},
		{schema.Notifications, routes.ReadWriteDelete, read, []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}, query},
		// Chart content is never deletable, whatever a function is given,
		// except to re-key it: put and delete, no update.
		{schema.Messages, routes.ReadWriteDelete, read, []string{"dynamodb:PutItem", "dynamodb:UpdateItem"}, query},
		{schema.Messages, routes.Rekey, read, []string{"dynamodb:PutItem", "dynamodb:DeleteItem"}, query},
		{schema.Directory, routes.Rekey, nil, nil, nil},
	}
	for _, tt := range tests {
		reads, writes, onIdxs := TableActions(tt.table, tt.access)
		if !slices.Equal(reads, tt.reads) || !slices.Equal(writes, tt.writes) || !slices.Equal(onIdxs, tt.onIdxs) {
			t.Errorf("TableActions(%s, %d) = %v %v %v, want %v %v %v", tt.table, tt.access, reads, writes, onIdxs, tt.reads, tt.writes, tt.onIdxs)
		}
	}
}

func TestNoAccessLevelDeletesMessagesOrTouchesTheAuditTrail(t *testing.T) {
	for _, a := range []routes.Access{routes.None, routes.Read, routes.Append, routes.ReadUpdate, routes.ReadWrite, routes.ReadWriteDelete} {
		_, writes, _ := TableActions(schema.Messages, a)
		if slices.Contains(writes, DeleteItem) {
			t.Errorf("access %d deletes messages", a)
		}
	}
	// Re-keying is the one exception, held by one function.
	for _, f := range routes.Functions() {
		for table, a := range f.Tables {
			if a == routes.Rekey && (f.Name != routes.FnMoveConversation || table != schema.Messages) {
				t.Errorf("%s has Rekey on %s; only %s may re-key, and only messages", f.Name, table, routes.FnMoveConversation)
			}
		}
	}
	for _, f := range routes.Functions() {
		// Every function behind a route audits what it serves; one that
		// reacts to events appends or has no access at all (the notifier
		// releases nothing; ses-events changes no patient's data).
		a := f.Tables[schema.Audit]
		if a != routes.Append && (f.Trigger == routes.HTTP || a != routes.None) {
			t.Errorf("%s has access %d on the audit table, want Append", f.Name, a)
		}
		for table := range f.Tables {
			for _, action := range []string{ConditionCheckItem, "dynamodb:Scan", "dynamodb:BatchWriteItem"} {
				if Allows(f, table, action, "") {
					t.Errorf("%s may %s on %s", f.Name, action, table)
				}
			}
		}
	}
}

func TestPartitionLimits(t *testing.T) {
	if got := WritePartitionPrefixes(routes.FnManageLinks, schema.Directory); !slices.Equal(got, []string{"PATIENT#"}) {
		t.Errorf("manage-links directory prefix %q", got)
	}
	if got := WritePartitionPrefixes(routes.FnWriteMessage, schema.Messages); got != nil {
		t.Errorf("write-message messages prefix %q", got)
	}
	if got := WritePartitionPrefixes(routes.FnPreferences, schema.Directory); !slices.Equal(got, []string{"PORTALUSER#"}) {
		t.Errorf("preferences directory prefix %q", got)
	}
}

// preferences may update the directory, and only a portal user's
// channels: its updates there are limited to partitions and attributes,
// and it may put, delete or touch the chart nowhere.
func TestPreferencesGrant(t *testing.T) {
	f, ok := routes.FunctionNamed(routes.FnPreferences)
	if !ok {
		t.Fatal("no preferences function")
	}
	if !UpdatesLimited(routes.FnPreferences, schema.Directory) || UpdatesLimited(routes.FnManageLinks, schema.Directory) {
		t.Error("directory updates are limited for preferences only")
	}
	if !UpdatesLimited(routes.FnMarkRead, schema.Messages) {
		t.Error("Messages updates are limited for every function")
	}
	for _, tc := range []struct {
		table, action string
		want          bool
	}{
		{schema.Directory, UpdateItem, true},
		{schema.Directory, BatchGetItem, true},
		{schema.Directory, PutItem, false},
		{schema.Directory, DeleteItem, false},
		{schema.Audit, PutItem, true},
		{schema.Messages, GetItem, false},
		{schema.Idempotency, GetItem, false},
	} {
		if got := Allows(f, tc.table, tc.action, ""); got != tc.want {
			t.Errorf("Allows(preferences, %s, %s) = %v, want %v", tc.table, tc.action, got, tc.want)
		}
	}
	if !f.Cursors {
		t.Error("preferences holds no key to verify unsubscribe links with")
	}
}

func TestUpdateAttributes(t *testing.T) {
	if !UpdatesLimitedToAttributes(schema.Messages) || UpdatesLimitedToAttributes(schema.Directory) || UpdatesLimitedToAttributes(schema.Idempotency) {
		t.Error("only Messages updates are limited to header attributes")
	}
	got := UpdateAttributes(schema.Messages, []string{"version", "PK", "messageCount"})
	if want := []string{"PK", "SK", "messageCount", "version"}; !slices.Equal(got, want) {
		t.Errorf("UpdateAttributes = %v, want %v", got, want)
	}
}

func TestAllows(t *testing.T) {
	list, _ := routes.FunctionNamed(routes.FnListConversations)
	markRead, _ := routes.FunctionNamed(routes.FnMarkRead)
	write, _ := routes.FunctionNamed(routes.FnWriteMessage)
	links, _ := routes.FunctionNamed(routes.FnManageLinks)
	dir, _ := routes.FunctionNamed(routes.FnDirectory)
	tests := []struct {
		f                    routes.Function
		table, action, index string
		want                 bool
	}{
		{list, schema.Messages, Query, schema.IndexByActivity, true},
		{list, schema.Messages, Query, "NoSuchIndex", false},
		{list, schema.Messages, GetItem, schema.IndexByActivity, false},
		{list, schema.Messages, PutItem, "", false},
		{list, schema.Idempotency, GetItem, "", false},
		{list, schema.Audit, PutItem, "", true},
		{list, schema.Audit, GetItem, "", false},
		{markRead, schema.Messages, UpdateItem, "", true},
		{markRead, schema.Messages, PutItem, "", false},
		{write, schema.Messages, PutItem, "", true},
		{write, schema.Messages, DeleteItem, "", false},
		{write, schema.Idempotency, UpdateItem, "", true},
		{write, schema.Directory, PutItem, "", false},
		{links, schema.Directory, DeleteItem, "", true},
		{links, schema.Messages, GetItem, "", false},
		{dir, schema.Directory, Query, schema.IndexByPortalUser, true},
		// Only the directory function reads the practice-wide search index.
		{dir, schema.Directory, Query, schema.IndexSearch, true},
		{links, schema.Directory, Query, schema.IndexSearch, false},
		{list, schema.Directory, Query, schema.IndexSearch, false},
		// One portal user's links across patients: the Current Patient
		// list, the portal summary, bounce marking and the own-account
		// check of links only.
		{links, schema.Directory, Query, schema.IndexByPortalUser, true}, // a patient's own account, one patient only
		{list, schema.Directory, Query, schema.IndexByPortalUser, true},
		{dir, schema.Audit, PutItem, "", true},
		{dir, schema.Messages, Query, "", false},
	}
	for _, tt := range tests {
		if got := Allows(tt.f, tt.table, tt.action, tt.index); got != tt.want {
			t.Errorf("Allows(%s, %s, %s, %q) = %v, want %v", tt.f.Name, tt.table, tt.action, tt.index, got, tt.want)
		}
	}
}
