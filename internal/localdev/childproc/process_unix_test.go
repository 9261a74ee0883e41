//go:build unix

package childproc

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func sh(t *testing.T, script string) *Process {
	t.Helper()
	p, err := Start(exec.Command("sh", "-c", script))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop() })
	return p
}

func TestWaitReady(t *testing.T) {
	never := func(context.Context) bool { return false }

	t.Run("ready", func(t *testing.T) {
		p := sh(t, "sleep 60")
		calls := 0
		err := p.WaitReady(t.Context(), 5*time.Second, time.Millisecond, "x", errEarly, func(context.Context) bool {
			calls++
			return calls == 3
		})
		if err != nil || calls != 3 {
			t.Errorf("WaitReady() = %v after %d calls, want nil after 3", err, calls)
		}
	})
	t.Run("exited early", func(t *testing.T) {
		p := sh(t, "echo port in use >&2; exit 3")
		err := p.WaitReady(t.Context(), 10*time.Second, time.Millisecond, "x", errEarly, never)
		if !errors.Is(err, errEarly) || !strings.Contains(err.Error(), "exit status 3") || !strings.HasSuffix(err.Error(), "output:\nport in use\n") {
			t.Errorf("WaitReady() = %v, want errEarly with the exit status and output", err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		p := sh(t, "echo starting; sleep 60")
		err := p.WaitReady(t.Context(), 100*time.Millisecond, time.Millisecond, "http://127.0.0.1:1", errEarly, never)
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not answering on http://127.0.0.1:1 after 100ms") ||
			!strings.HasSuffix(err.Error(), "output:\nstarting\n") {
			t.Errorf("WaitReady() = %v, want a timeout naming the address, with the output", err)
		}
	})
}

// Stop kills what the child started too, and a child that ignores SIGTERM.
// The grandchild holds the child's stdout, and Wait, so Stop, returns only
// once every writer has closed it: Stop returning nil means both are gone.
func TestStopKillsTheGroup(t *testing.T) {
	p := sh(t, `trap "" TERM; sleep 60 & echo started; wait`)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.Output(), "started") {
		if time.Now().After(deadline) {
			t.Fatalf("child never started; output %q", p.Output())
		}
		time.Sleep(10 * time.Millisecond)
	}
	begin := time.Now()
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if d := time.Since(begin); d < 5*time.Second {
		t.Errorf("Stop took %s, want the 5 s grace before SIGKILL", d)
	}
}
