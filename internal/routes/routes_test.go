package routes

import (
	"strings"
	"testing"

	"github.com/pedsportal/messaging/internal/schema"
)

// The handlers decide the audience from the route prefix, so every route
// must sit under its audience's prefix and require that audience's scope;
// a public route requires none.
func TestRoutesAreConsistent(t *testing.T) {
	seen := map[string]bool{}
	fns := map[string]bool{}
	for _, f := range Functions() {
		fns[f.Name] = true
	}
	for _, r := range All() {
		if seen[r.Key()] {
			t.Errorf("duplicate route %s", r.Key())
		}
		seen[r.Key()] = true
		if !strings.HasPrefix(r.Path, "/"+string(r.Audience)+"/") {
			t.Errorf("%s is not under /%s/", r.Key(), r.Audience)
		}
		switch r.Audience {
		case Public:
			if len(r.Scopes) != 0 {
				t.Errorf("public route %s has scopes %v", r.Key(), r.Scopes)
			}
		case Portal, Staff:
			want := ScopePortal
			if r.Audience == Staff {
				want = ScopeStaff
			}
			if len(r.Scopes) != 1 || r.Scopes[0] != want {
				t.Errorf("%s scopes = %v, want [%s]", r.Key(), r.Scopes, want)
			}
		default:
			t.Errorf("%s has unknown audience %q", r.Key(), r.Audience)
		}
		if !fns[r.Function] {
			t.Errorf("%s names unknown function %s", r.Key(), r.Function)
		}
		if r.Op == "" {
			t.Errorf("%s names no operation", r.Key())
		}
		if got, ok := ByKey(r.Key()); !ok || got.Op != r.Op {
			t.Errorf("ByKey(%q) = %v, %v", r.Key(), got.Op, ok)
		}
	}
	// An operation is served by one function only, so a handler never
	// receives an operation it was not built for.
	opFn := map[Operation]string{}
	for _, r := range All() {
		if fn, ok := opFn[r.Op]; ok && fn != r.Function {
			t.Errorf("operation %s served by %s and %s", r.Op, fn, r.Function)
		}
		opFn[r.Op] = r.Function
	}
	// An HTTP function serves routes; a triggered one serves none.
	for _, f := range Functions() {
		used := false
		for _, r := range All() {
			used = used || r.Function == f.Name
		}
		if used != (f.Trigger == HTTP) {
			t.Errorf("function %s (trigger %q) serves routes: %v", f.Name, f.Trigger, used)
		}
	}
}

// Notes are staff-only by construction: no function that serves a portal
// or public route may touch the table that holds them, so no portal
// request can return one whatever its code does.
func TestWorklogIsStaffOnly(t *testing.T) {
	granted := 0
	for _, f := range Functions() {
		if _, ok := f.Tables[schema.Worklog]; !ok {
			continue
		}
		granted++
		for _, r := range All() {
			if r.Function == f.Name && r.Audience != Staff {
				t.Errorf("function %s serves %s route %s and is granted %s", f.Name, r.Audience, r.Key(), schema.Worklog)
			}
		}
	}
	if granted == 0 {
		t.Fatalf("no function is granted %s: notes cannot be written", schema.Worklog)
	}
}
