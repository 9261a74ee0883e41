package childproc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tree makes each file, empty, under a new temporary root and returns it.
func tree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestRepoRoot(t *testing.T) {
	tests := []struct {
		name  string
		files []string // relative to a temp root
		start string   // relative to the temp root
		want  string   // relative to the temp root; "" means ErrNoRepoRoot
	}{
		{name: "from the root", files: []string{"go.mod"}, start: ".", want: "."},
		{name: "walks up from a package folder", files: []string{"go.mod", "internal/x/y/z.go"}, start: "internal/x/y", want: "."},
		{name: "nearest go.mod wins", files: []string{"go.mod", "tools/go.mod", "tools/a/b.go"}, start: "tools/a", want: "tools"},
		{name: "no repository root", files: []string{"internal/a.go"}, start: "internal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree(t, tt.files...)
			got, err := RepoRoot(filepath.Join(root, tt.start))
			if tt.want == "" {
				if err == nil || !errors.Is(err, ErrNoRepoRoot) || !strings.Contains(err.Error(), "no go.mod above "+filepath.Join(root, tt.start)) {
					t.Fatalf("RepoRoot() = %q, %v; want an ErrNoRepoRoot naming the start", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("RepoRoot() error = %v", err)
			}
			if want := filepath.Join(root, tt.want); got != want {
				t.Errorf("RepoRoot() = %s, want %s", got, want)
			}
		})
	}
}

// A relative start is taken from the working directory.
func TestRepoRootRelative(t *testing.T) {
	root := tree(t, "go.mod", "a/b/c.go")
	t.Chdir(filepath.Join(root, "a"))
	got, err := RepoRoot("b")
	if err != nil {
		t.Fatal(err)
	}
	// The temp dir may sit behind a symlink (macOS /var), as may the
	// working directory, so compare resolved paths.
	if g, w := resolve(t, got), resolve(t, root); g != w {
		t.Errorf("RepoRoot(\"b\") = %s, want %s", g, w)
	}
}

func resolve(t *testing.T, p string) string {
	t.Helper()
	r, err := filepath.EvalSymlinks(p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := &tailBuffer{max: 8}
	for _, s := range []string{"0123", "4567", "89ab"} {
		if _, err := b.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := b.String(), "456789ab"; got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
}

var errEarly = errors.New("exited early")

func TestWithPort(t *testing.T) {
	tests := []struct {
		name      string
		port      int
		fail      []error // what launch returns on each call; nil succeeds
		wantCalls int
		wantErr   error
	}{
		{name: "a fixed port is tried once", port: 4567, fail: []error{errEarly}, wantCalls: 1, wantErr: errEarly},
		{name: "a free port succeeds at once", fail: []error{nil}, wantCalls: 1},
		{name: "early exits are retried", fail: []error{errEarly, errEarly, nil}, wantCalls: 3},
		{name: "three early exits give up", fail: []error{errEarly, errEarly, errEarly}, wantCalls: 3, wantErr: errEarly},
		{name: "other errors are not retried", fail: []error{context.DeadlineExceeded}, wantCalls: 1, wantErr: context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ports []int
			got, err := WithPort(t.Context(), tt.port, errEarly, func(port int) (string, error) {
				ports = append(ports, port)
				if err := tt.fail[len(ports)-1]; err != nil {
					return "", err
				}
				return "up on " + strconv.Itoa(port), nil
			})
			if len(ports) != tt.wantCalls {
				t.Fatalf("launch called %d times, want %d", len(ports), tt.wantCalls)
			}
			for _, p := range ports {
				if p <= 0 || (tt.port != 0 && p != tt.port) {
					t.Errorf("launch got port %d, want %d or a free one", p, tt.port)
				}
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || got != "" {
					t.Errorf("WithPort() = %q, %v; want %v", got, err, tt.wantErr)
				}
				return
			}
			if want := "up on " + strconv.Itoa(ports[len(ports)-1]); err != nil || got != want {
				t.Errorf("WithPort() = %q, %v; want %q", got, err, want)
			}
		})
	}
}

// A cancelled start-up is not retried.
func TestWithPortStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	_, err := WithPort(ctx, 0, errEarly, func(int) (int, error) {
		calls++
		cancel()
		return 0, errEarly
	})
	if calls != 1 || !errors.Is(err, errEarly) {
		t.Errorf("calls = %d, err = %v; want 1 and errEarly", calls, err)
	}
}
