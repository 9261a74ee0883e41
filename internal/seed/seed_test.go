package seed

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/pedsportal/messaging/internal/directory"
	"github.com/pedsportal/messaging/internal/hours"
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
	if len(f.Staff) != 4 || len(f.PortalUsers) != 6 || len(f.Links) != 6 {
		t.Fatalf("demo directory = %d staff, %d portal users, %d links", len(f.Staff), len(f.PortalUsers), len(f.Links))
	}
}

// The demo practice's calendar is the one the README describes.
func TestDemoCalendar(t *testing.T) {
	c, err := hours.ForPractice(DirectoryFile().Practice)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Describe(), "Mon–Fri 8 AM–5 PM, Sat 9 AM–noon"; got != want {
		t.Errorf("demo hours = %q, want %q", got, want)
	}
	for _, p := range DirectoryFile().Pools {
		if _, err := hours.ParseTarget(p.ResponseTarget); err != nil || p.ResponseTarget == "" {
			t.Errorf("pool %s: target %q: %v", p.ID, p.ResponseTarget, err)
		}
	}
}
