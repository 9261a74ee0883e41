package seed

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/pedsportal/messaging/internal/directory"
)

// The demo directory is a valid directory file: what DevOps loads passes
// the same checks.
func TestDirectoryFileIsValid(t *testing.T) {
	b, err := json.Marshal(DirectoryFile())
	if err != nil {
		t.Fatal(err)
	}
	f, err := directory.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Staff) != 4 || len(f.PortalUsers) != 4 || len(f.Links) != 4 {
		t.Fatalf("demo directory = %d staff, %d portal users, %d links", len(f.Staff), len(f.PortalUsers), len(f.Links))
	}
}
