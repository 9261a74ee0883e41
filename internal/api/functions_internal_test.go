package api

import (
	"testing"

	"github.com/pedsportal/messaging/internal/routes"
)

// opTables are the dispatch tables by function, as the constructors in
// functions.go build them.
var opTables = map[string]func() map[routes.Operation]op{
	routes.FnDirectory:          directoryOps,
	routes.FnListConversations:  listConversationsOps,
	routes.FnInbox:              inboxOps,
	routes.FnGetConversation:    getConversationOps,
	routes.FnExportChart:        exportChartOps,
	routes.FnWriteMessage:       writeMessageOps,
	routes.FnMarkRead:           markReadOps,
	routes.FnManageConversation: manageConversationOps,
	routes.FnMoveConversation:   moveConversationOps,
	routes.FnManageLinks:        manageLinksOps,
	routes.FnPreferences:        preferencesOps,
	routes.FnTemplates:          templatesOps,
	routes.FnAttachments:        attachmentsOps,
}

// Every route's operation is registered by exactly the function the route
// table names for it, and a function registers nothing else: a bootstrap
// then links its own operations and serves all of them.
func TestEveryOperationIsRegisteredByItsFunctionOnly(t *testing.T) {
	for _, f := range routes.Functions() {
		_, table := opTables[f.Name]
		_, ctor := Constructors[f.Name]
		if want := f.Trigger == routes.HTTP; table != want || ctor != want {
			t.Errorf("%s (trigger %q): dispatch table %v, constructor %v, want %v", f.Name, f.Trigger, table, ctor, want)
		}
	}
	if len(opTables) != len(Constructors) {
		t.Errorf("%d dispatch tables, %d constructors", len(opTables), len(Constructors))
	}
	servedBy := map[routes.Operation]string{}
	for _, r := range routes.All() {
		servedBy[r.Op] = r.Function
	}
	for fn, ops := range opTables {
		for o, serve := range ops() {
			if servedBy[o] != fn {
				t.Errorf("%s registers %s, which the route table gives to %q", fn, o, servedBy[o])
			}
			if serve == nil {
				t.Errorf("%s registers %s with no handler", fn, o)
			}
		}
	}
	for o, fn := range servedBy {
		tbl, ok := opTables[fn]
		if !ok {
			continue // reported above
		}
		if _, ok := tbl()[o]; !ok {
			t.Errorf("operation %s: function %s does not register it", o, fn)
		}
	}
}
