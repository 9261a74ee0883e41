package stack_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
)

// resource is one resource of a synthesized template, read as plain JSON.
type resource struct {
	ID    string
	Type  string
	Props map[string]any
	Raw   map[string]any
}

// resources returns the resources of one type, sorted by logical ID.
func (s synthesized) resources(typ string) []resource {
	var out []resource
	for id, v := range s.json["Resources"].(map[string]any) {
		r := v.(map[string]any)
		if r["Type"] != typ {
			continue
		}
		props, _ := r["Properties"].(map[string]any)
		out = append(out, resource{ID: id, Type: typ, Props: props, Raw: r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// resource returns the resource with a logical ID.
func (s synthesized) resource(t *testing.T, id string) resource {
	t.Helper()
	r, ok := s.json["Resources"].(map[string]any)[id].(map[string]any)
	if !ok {
		t.Fatalf("no resource %s", id)
	}
	props, _ := r["Properties"].(map[string]any)
	return resource{ID: id, Type: fmt.Sprint(r["Type"]), Props: props, Raw: r}
}

// only returns the single resource of a type.
func (s synthesized) only(t *testing.T, typ string) resource {
	t.Helper()
	rs := s.resources(typ)
	if len(rs) != 1 {
		t.Fatalf("%d resources of type %s, want 1", len(rs), typ)
	}
	return rs[0]
}

// withPrefix returns the resource of a type whose logical ID starts with
// a construct ID (CDK appends a hash).
func (s synthesized) withPrefix(t *testing.T, typ, prefix string) resource {
	t.Helper()
	for _, r := range s.resources(typ) {
		if strings.HasPrefix(r.ID, prefix) {
			return r
		}
	}
	t.Fatalf("no %s named %s*", typ, prefix)
	return resource{}
}

// refID returns the logical ID a {"Ref"} or {"Fn::GetAtt"} points at, or "".
func refID(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	if r, ok := m["Ref"].(string); ok {
		return r
	}
	if g, ok := m["Fn::GetAtt"].([]any); ok && len(g) > 0 {
		return fmt.Sprint(g[0])
	}
	return ""
}

// getAtt reports whether v is {"Fn::GetAtt": [id, attr]}.
func getAtt(v any, id, attr string) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	g, ok := m["Fn::GetAtt"].([]any)
	return ok && len(g) == 2 && g[0] == id && g[1] == attr
}

// strs reads a string or a list of strings.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// path walks nested maps: path(m, "A", "B") is m["A"]["B"].
func path(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// statements returns a policy document's statements.
func statements(doc any) []map[string]any {
	var out []map[string]any
	for _, s := range path(doc, "Statement").([]any) {
		out = append(out, s.(map[string]any))
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// jsonString renders any template value as compact JSON, or a string as itself.
func jsonString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}
