package seslocal

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Finding the repository root is childproc's (and tested there); these are
// about the server under it.
func TestLocateCLI(t *testing.T) {
	tests := []struct {
		name    string
		files   []string // relative to a temp root
		start   string   // relative to the temp root
		wantErr string   // "" means found at CLIPath
	}{
		{name: "walks up from a package folder", files: []string{"go.mod", CLIPath, "internal/x/y/z.go"}, start: "internal/x/y"},
		{name: "not installed says how to fix it", files: []string{"go.mod", "internal/a.go"}, start: "internal", wantErr: "run `make tools`"},
		{name: "no repository root", files: []string{"internal/a.go"}, start: "internal", wantErr: "no go.mod above"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for _, f := range tt.files {
				p := filepath.Join(root, f)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := locateCLI(filepath.Join(root, tt.start))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrNotInstalled) {
					t.Fatalf("locateCLI() error = %v, want one containing %q that is ErrNotInstalled", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("locateCLI() error = %v", err)
			}
			if want := filepath.Join(root, CLIPath); got != want {
				t.Errorf("locateCLI() = %s, want %s", got, want)
			}
		})
	}
}

// The child never inherits SMTP_TRANSPORT, which would relay local mail to
// a real SMTP server.
func TestChildEnvDropsSMTPTransport(t *testing.T) {
	got := childEnv([]string{"PATH=/bin", `SMTP_TRANSPORT={"host":"smtp.example.test"}`, "HOME=/root"})
	if want := []string{"PATH=/bin", "HOME=/root"}; !slices.Equal(got, want) {
		t.Errorf("childEnv() = %q, want %q", got, want)
	}
}
