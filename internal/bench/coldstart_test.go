package bench

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/routes"
)

// BenchmarkColdStart times a function's init as Lambda sees it: from
// spawning its bootstrap (built for this machine, as make build builds it
// for arm64) to its first request for work on a minimal Runtime API, and
// prints p50 and p90 per function.
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir()
	for _, fn := range []string{routes.FnNotifier, routes.FnWriteMessage} {
		bin := filepath.Join(dir, fn)
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-tags", "lambda.norpc", "-o", bin, "../../functions/"+fn)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", fn, err, out)
		}
		f, _ := routes.FunctionNamed(fn)
		var tables []string
		for t := range f.Tables {
			tables = append(tables, t)
		}
		env := envvar.Function(tables, f.Cursors, f.Sends, envvar.Settings{
			PortalIssuer: "https://p", StaffIssuer: "https://s", PortalClientID: "pc", StaffClientID: "sc",
			TableName: func(l string) string { return "t-" + l }, CursorSecretARN: "arn:aws:secretsmanager:us-east-1:000000000000:secret:x",
		})
		if f.Cursors {
			continue // its init reads Secrets Manager, which is not here
		}
		var inits []time.Duration
		for range 15 {
			inits = append(inits, initTime(b, bin, env))
		}
		fmt.Printf("cold start %-20s init p50 %s  p90 %s  (%d runs)\n", fn,
			percentile(inits, .5).Round(100*time.Microsecond), percentile(inits, .9).Round(100*time.Microsecond), len(inits))
	}
}

// initTime spawns bin and waits for its first GET of the next invocation.
func initTime(b *testing.B, bin string, env map[string]string) time.Duration {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	asked := make(chan time.Time, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case asked <- time.Now():
		default:
		}
		<-r.Context().Done() // hold the request: no work comes
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	cmd := exec.Command(bin)
	cmd.Env = []string{"AWS_LAMBDA_RUNTIME_API=" + ln.Addr().String(), "AWS_REGION=us-east-1",
		"AWS_ACCESS_KEY_ID=x", "AWS_SECRET_ACCESS_KEY=x", "AWS_LAMBDA_FUNCTION_NAME=bench", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256"}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range env {
			if !yield(k) {
				return
			}
		}
	}) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	select {
	case t := <-asked:
		return t.Sub(start)
	case <-time.After(10 * time.Second):
		b.Fatal("the bootstrap never asked for work")
	}
	return 0
}
