// Package childproc is the process handling shared by the local stand-ins
// that run a server as a child process (dynamolocal runs java, seslocal runs
// node): where the repository root is, which port to listen on, and how to
// start, wait for and stop the child.
//
// The child runs in its own process group so that Stop can kill it and
// anything it spawned, and on Linux it is also killed by the kernel when the
// parent dies (Pdeathsig), so a Ctrl-C or a crashed test binary leaves no
// orphan behind.
package childproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// ErrNoRepoRoot is returned by RepoRoot when no directory above holds go.mod.
var ErrNoRepoRoot = errors.New("no go.mod")

// RepoRoot walks up from dir to the nearest directory holding go.mod, where
// .tools (and its node_modules) lives.
func RepoRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("%w above %s", ErrNoRepoRoot, dir)
		}
		d = parent
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("childproc: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WithPort calls launch with port, or, when port is 0, with a free one. A
// free port found by listening on :0 can be taken by someone else before the
// child binds it; the child then exits early, so when launch fails with an
// error wrapping early WithPort tries again with another port, three times
// in all, unless ctx is done.
func WithPort[T any](ctx context.Context, port int, early error, launch func(port int) (T, error)) (T, error) {
	attempts := 1
	if port == 0 {
		attempts = 3
	}
	var zero T
	var lastErr error
	for range attempts {
		p := port
		if p == 0 {
			var err error
			if p, err = FreePort(); err != nil {
				return zero, err
			}
		}
		s, err := launch(p)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !errors.Is(err, early) || ctx.Err() != nil {
			break
		}
	}
	return zero, lastErr
}

// Process is a child started by Start.
type Process struct {
	cmd *exec.Cmd
	out *tailBuffer

	exited  chan struct{} // closed once cmd.Wait has returned
	waitErr error         // valid after exited is closed
}

// Start starts cmd in its own process group (killed with the parent on
// Linux), keeping the last 8 KiB of its stdout and stderr for Output, and
// reaps it in the background. cmd should come from exec.Command, not
// exec.CommandContext: the child must outlive any start-up context, and
// Stop owns its shutdown. The error is cmd.Start's.
func Start(cmd *exec.Cmd) (*Process, error) {
	out := &tailBuffer{max: 8 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, out: out, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Pid is the child's process ID.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Output is the end of what the child wrote so far.
func (p *Process) Output() string { return p.out.String() }

// WaitReady calls ready every tick, first at once, until it reports true,
// the child exits, or timeout passes; ready gets a context that ends then.
// When the child exits the error wraps early; addr names the server in the
// timeout error. Both errors end with the child's output.
func (p *Process) WaitReady(ctx context.Context, timeout, tick time.Duration, addr string, early error, ready func(context.Context) bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if ready(ctx) {
			return nil
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%w (%v); output:\n%s", early, p.waitErr, p.Output())
		case <-ctx.Done():
			return fmt.Errorf("not answering on %s after %s: %w; output:\n%s", addr, timeout, ctx.Err(), p.Output())
		case <-t.C:
		}
	}
}

// ErrStillRunning is returned by Stop when the child survived SIGKILL.
var ErrStillRunning = errors.New("did not exit after SIGKILL")

// Stop signals the child's whole process group, SIGTERM first so that it can
// close files cleanly, SIGKILL if the child has not exited 5 s later, and
// waits up to 10 s more for it to exit.
func (p *Process) Stop() error {
	_ = signalGroup(p.cmd.Process, sigTerm)
	select {
	case <-p.exited:
		return nil
	case <-time.After(5 * time.Second):
	}
	_ = signalGroup(p.cmd.Process, sigKill)
	select {
	case <-p.exited:
		return nil
	case <-time.After(10 * time.Second):
		return ErrStillRunning
	}
}

// tailBuffer keeps the last max bytes written, for start-up error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

var _ io.Writer = (*tailBuffer)(nil)

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
