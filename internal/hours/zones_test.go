package hours

import (
	"archive/zip"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/domain"
)

// The US zones are exactly the toolchain's: when Go's database changes,
// go generate ./internal/hours brings them up to date.
func TestZonesMatchTheToolchain(t *testing.T) {
	root, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	z, err := zip.OpenReader(filepath.Join(strings.TrimSpace(string(root)), "lib", "time", "zoneinfo.zip"))
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	want := map[string]string{}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		want[f.Name] = string(b)
	}
	for _, name := range usZones {
		got, ok := tzData(name)
		if !ok || got != want[name] {
			t.Errorf("%s differs from the Go toolchain's database: run go generate ./internal/hours", name)
		}
	}
}

func TestZones(t *testing.T) {
	for _, tt := range []struct {
		zone      string
		jan, july time.Duration
	}{
		{"America/New_York", -5 * time.Hour, -4 * time.Hour},
		{"America/Phoenix", -7 * time.Hour, -7 * time.Hour},
		{"Pacific/Honolulu", -10 * time.Hour, -10 * time.Hour},
		{"America/Puerto_Rico", -4 * time.Hour, -4 * time.Hour},
		{"UTC", 0, 0},
	} {
		loc, err := Zone(tt.zone)
		if err != nil {
			t.Fatalf("%s: %v", tt.zone, err)
		}
		for at, want := range map[time.Month]time.Duration{time.January: tt.jan, time.July: tt.july} {
			_, off := time.Date(2027, at, 15, 12, 0, 0, 0, time.UTC).In(loc).Zone()
			if got := time.Duration(off) * time.Second; got != want {
				t.Errorf("%s in %s: offset %s, want %s", tt.zone, at, got, want)
			}
		}
	}
	// A practice outside the United States is refused with the field
	// named, as the directory loader reports it.
	_, err := ForPractice(domain.Practice{ID: "p", TimeZone: "Europe/London"})
	if err == nil || !strings.Contains(err.Error(), `timeZone "Europe/London"`) {
		t.Errorf("Europe/London: %v", err)
	}
}
