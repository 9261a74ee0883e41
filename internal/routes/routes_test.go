package routes

import (
	"strings"
	"testing"
)

// The handlers decide the audience from the route prefix, so every route
// must sit under its audience's prefix and require that audience's scope.
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
		want := ScopePortal
		if r.Audience == Staff {
			want = ScopeStaff
		}
		if len(r.Scopes) != 1 || r.Scopes[0] != want {
			t.Errorf("%s scopes = %v, want [%s]", r.Key(), r.Scopes, want)
		}
		if !fns[r.Function] {
			t.Errorf("%s names unknown function %s", r.Key(), r.Function)
		}
	}
	for name := range fns {
		used := false
		for _, r := range All() {
			used = used || r.Function == name
		}
		if !used {
			t.Errorf("function %s serves no route", name)
		}
	}
}
