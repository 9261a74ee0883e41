package bench

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/awsenv"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/localdev/secretslocal"
	"github.com/pedsportal/messaging/internal/routes"
)

// BenchmarkColdStart times a function's init as Lambda sees it: from
// spawning its bootstrap (built for this machine, as make build builds it
// for arm64) to its first request for work on a minimal Runtime API, and
// prints p50 and p90 for every function. The functions given the cursor
// key read it at init from the local Secrets Manager (package
// localdev/secretslocal), reached through AWS_ENDPOINT_URL_SECRETS_MANAGER
// as on Lambda; nothing else is called before the first request.
func BenchmarkColdStart(b *testing.B) {
	dir := b.TempDir()
	const secretARN = "arn:aws:secretsmanager:us-east-1:000000000000:secret:cursor-AbCdEf"
	sm, err := secretslocal.Start(secretslocal.Config{
		Secrets:     []secretslocal.Secret{{ARN: secretARN, Name: "cursor", Value: strings.Repeat("k", 40)}},
		AccessKeyID: "x", SecretAccessKey: "x", // what initTime gives the bootstrap
	})
	if err != nil {
		b.Fatal(err)
	}
	defer sm.Close()
	for _, f := range routes.Functions() {
		bin := filepath.Join(dir, f.Name)
		build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-tags", "lambda.norpc,nethttpomithttp2", "-o", bin, "../../functions/"+f.Name)
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			b.Fatalf("build %s: %v\n%s", f.Name, err, out)
		}
		var tables []string
		for t := range f.Tables {
			tables = append(tables, t)
		}
		env := envvar.Function(tables, f.Cursors, f.Sends, envvar.Settings{
			PortalIssuer: "https://p", StaffIssuer: "https://s", PortalClientID: "pc", StaffClientID: "sc",
			TableName: func(l string) string { return "t-" + l }, CursorSecretARN: secretARN,
			MailFrom: "messages@example.com", SMSOrigin: "+15555550100", APIURL: "https://api.example",
		})
		env["AWS_ENDPOINT_URL_"+awsenv.SecretsManager] = sm.Endpoint()
		if f.Blobs != routes.BlobNone { // as infra names them
			env[envvar.UploadsBucket], env[envvar.ChartBucket] = "uploads", "chart"
		}
		reads := sm.Calls()
		var inits []time.Duration
		for range 15 {
			inits = append(inits, initTime(b, bin, env))
		}
		if read := sm.Calls() - reads; f.Cursors && read != 15 || !f.Cursors && read != 0 {
			b.Fatalf("%s read the cursor key %d times in 15 starts; is given it: %v", f.Name, read, f.Cursors)
		}
		closed := ""
		if f.Cursors {
			closed = "; stops at init without its secret"
			// Fail closed: without its secret the bootstrap stops at
			// init and never asks for work.
			gone := maps.Clone(env)
			gone[envvar.CursorSecret] = secretARN + "-gone"
			if err := initFails(b, bin, gone); err != nil {
				b.Fatalf("%s without its secret: %v", f.Name, err)
			}
		}
		size, _ := os.Stat(bin)
		fmt.Printf("cold start %-20s init p50 %s  p90 %s  (%d runs; %s build here %.2f MB%s)\n", f.Name,
			percentile(inits, .5).Round(100*time.Microsecond), percentile(inits, .9).Round(100*time.Microsecond), len(inits),
			runtime.GOARCH, float64(size.Size())/(1<<20), closed)
	}
}

// initTime spawns bin and waits for its first GET of the next invocation.
func initTime(b *testing.B, bin string, env map[string]string) time.Duration {
	b.Helper()
	t, err := spawn(b, bin, env)
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// initFails reports an error unless bin, spawned with env, stops at init
// without asking for work.
func initFails(b *testing.B, bin string, env map[string]string) error {
	b.Helper()
	if _, err := spawn(b, bin, env); err == nil {
		return errors.New("it asked for work")
	} else if !errors.Is(err, errStopped) {
		return err
	}
	return nil
}

var errStopped = errors.New("stopped at init")

// spawn starts bin on a minimal Runtime API and returns how long it took
// to ask for work, or why it did not.
func spawn(b *testing.B, bin string, env map[string]string) (time.Duration, error) {
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
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill(); <-exited }()
	select {
	case t := <-asked:
		return t.Sub(start), nil
	case err := <-exited:
		exited <- err
		return 0, fmt.Errorf("%s %w (%v): %s", filepath.Base(bin), errStopped, err, stderr.String())
	case <-time.After(10 * time.Second):
		return 0, fmt.Errorf("%s never asked for work", filepath.Base(bin))
	}
}
