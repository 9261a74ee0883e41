package notify

import (
	"reflect"
	"testing"
)

// The templates' only input is view; a new field there is a new way for
// PHI to reach a notification, and must be reviewed with this test.
// Overdue is a bool: which of two fixed wordings a staff e-mail uses.
func TestTemplateDataIsOnlyPracticeLinkAndCount(t *testing.T) {
	var names []string
	for f := range reflect.TypeFor[view]().Fields() {
		names = append(names, f.Name+":"+f.Type.String())
	}
	want := []string{"Practice:string", "Link:string", "Unsubscribe:string", "Settings:string", "Count:int", "Overdue:bool"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("view fields %v, want %v", names, want)
	}
}
