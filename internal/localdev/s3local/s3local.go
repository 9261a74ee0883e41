// Package s3local runs Versity's S3 gateway (versitygw, Apache-2.0, Go,
// installed into .tools/bin by `make tools` at the version pinned in the
// Makefile) as a child process over a plain folder: a local Amazon S3 that
// the ordinary SDK client and a browser talk to over real HTTP.
//
// Why versitygw: it verifies SigV4 on every request, presigned query URLs
// included (a changed byte or an expired X-Amz-Expires is 403), and it
// implements POST Object with the policy conditions (expiration, eq,
// starts-with, content-length-range), so "an 11 MB file is refused by S3's
// own policy" is S3's answer here too. It keeps tags, serves bucket CORS and
// posts S3 event notifications to a webhook, which is how the local stack
// learns of an upload as Lambda does from S3. s3rver (npm) skips SigV4
// checks and ignores POST policies; gofakes3 does not check POST policies;
// MinIO is AGPL.
//
// The child runs in its own process group so that Stop can kill it, and on
// Linux it is also killed by the kernel when the parent dies (Pdeathsig).
// It listens on 127.0.0.1 only.
package s3local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pedsportal/messaging/internal/localdev/childproc"
)

// BinPath is where `make tools` installs the gateway, relative to the
// repository root.
const BinPath = ".tools/bin/versitygw"

// The gateway's root credentials. Local only: they sign requests to a
// server on loopback, as the Lambda role's credentials do in AWS.
const (
	AccessKey = "local-access-key"
	SecretKey = "local-secret-key-not-a-secret"
	Region    = "us-east-1"
)

// ErrNotInstalled is returned by Start when the gateway binary is missing.
var ErrNotInstalled = errors.New("versitygw not installed")

// Options configure Start.
type Options struct {
	// DataDir holds the buckets (one folder each) and their metadata, so
	// objects survive restarts. Empty uses a temporary folder removed by
	// Stop.
	DataDir string
	// Port to listen on; 0 picks a free one.
	Port int
	// Buckets are created at start when missing.
	Buckets []string
	// WebhookURL, when set, receives S3 event notifications (the S3 event
	// JSON, Records[]) for every object created, tagged or removed.
	WebhookURL string
	// StartTimeout bounds how long Start waits. Zero means 30 s.
	StartTimeout time.Duration
	// Logger receives start and stop events. Nil uses slog.Default().
	Logger *slog.Logger
}

// Server is a running gateway.
type Server struct {
	proc     *childproc.Process
	endpoint string
	tmpDir   string
	log      *slog.Logger

	stopOnce sync.Once
	stopErr  error
}

// Start launches the gateway, waits until it answers, and creates
// opts.Buckets. It looks for the binary under the repository root (the
// nearest directory above the working directory that holds go.mod).
func Start(ctx context.Context, opts Options) (*Server, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("s3local: working directory: %w", err)
	}
	bin, err := locate(wd)
	if err != nil {
		return nil, err
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	var tmp string
	if opts.DataDir == "" {
		if tmp, err = os.MkdirTemp("", "s3local-"); err != nil {
			return nil, fmt.Errorf("s3local: data dir: %w", err)
		}
		opts.DataDir = tmp
	}
	// Objects in one folder, their metadata (tags, content type) in a
	// sidecar folder beside it: not every file system keeps user xattrs.
	for _, d := range []string{dataDir(opts.DataDir), metaDir(opts.DataDir)} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("s3local: data dir: %w", err)
		}
	}
	s, err := childproc.WithPort(ctx, opts.Port, errExitedEarly, func(port int) (*Server, error) {
		return launch(ctx, bin, port, opts)
	})
	if err != nil {
		if tmp != "" {
			_ = os.RemoveAll(tmp)
		}
		return nil, err
	}
	s.tmpDir = tmp
	if err := s.createBuckets(ctx, opts.Buckets); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func dataDir(root string) string { return filepath.Join(root, "buckets") }
func metaDir(root string) string { return filepath.Join(root, "meta") }

var errExitedEarly = errors.New("versitygw exited during start-up")

func launch(ctx context.Context, bin string, port int, opts Options) (*Server, error) {
	args := []string{
		"--access", AccessKey, "--secret", SecretKey, "--region", Region,
		"--port", "127.0.0.1:" + strconv.Itoa(port), "--quiet",
	}
	if opts.WebhookURL != "" {
		args = append(args, "--event-webhook-url", opts.WebhookURL)
	}
	args = append(args, "posix", "--sidecar", metaDir(opts.DataDir), dataDir(opts.DataDir))
	// Not exec.CommandContext: the server must outlive the start-up
	// context, and Stop owns its shutdown.
	cmd := exec.Command(bin, args...)
	// Only what it needs: never the caller's AWS credentials.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	proc, err := childproc.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("s3local: start versitygw: %w", err)
	}
	s := &Server{proc: proc, endpoint: "http://127.0.0.1:" + strconv.Itoa(port), log: opts.Logger}
	hc := &http.Client{Timeout: 2 * time.Second}
	err = proc.WaitReady(ctx, opts.StartTimeout, 50*time.Millisecond, s.endpoint, errExitedEarly, func(ctx context.Context) bool {
		// Any S3 answer will do: an unsigned request gets 403 XML.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint+"/", nil)
		if err != nil {
			return false
		}
		resp, err := hc.Do(req)
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.Header.Get("Server") != "" || resp.StatusCode == http.StatusForbidden
	})
	if err != nil {
		_ = proc.Stop()
		return nil, fmt.Errorf("s3local: %w", err)
	}
	s.log.Info("s3 local started", "endpoint", s.endpoint, "pid", proc.Pid(), "dir", opts.DataDir)
	return s, nil
}

func (s *Server) createBuckets(ctx context.Context, buckets []string) error {
	c := NewClient(s.endpoint)
	for _, b := range buckets {
		if _, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(b)}); err == nil {
			continue
		}
		if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			return fmt.Errorf("s3local: create bucket %s: %w", b, err)
		}
	}
	return nil
}

// Endpoint is the server's base URL, e.g. http://127.0.0.1:41234: the value
// for AWS_ENDPOINT_URL_S3 or s3.Options.BaseEndpoint.
func (s *Server) Endpoint() string { return s.endpoint }

// Pid is the gateway's process ID.
func (s *Server) Pid() int { return s.proc.Pid() }

// Stop terminates the gateway, waits for it to exit, removes a temporary
// data folder, and returns nil when all went well. It is safe to call more
// than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if err := s.proc.Stop(); err != nil {
			s.stopErr = fmt.Errorf("s3local: versitygw (pid %d) %w", s.proc.Pid(), err)
			return
		}
		if s.tmpDir != "" {
			s.stopErr = os.RemoveAll(s.tmpDir)
		}
		s.log.Info("s3 local stopped", "endpoint", s.endpoint)
	})
	return s.stopErr
}

// NewClient returns an S3 client for a local endpoint, path-style (the
// gateway has no per-bucket host names). It is built from explicit options,
// never from the shared AWS config, so nothing local can reach a real
// account.
func NewClient(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
}

func locate(start string) (string, error) {
	root, err := childproc.RepoRoot(start)
	if err != nil {
		return "", fmt.Errorf("s3local: %w, so the repository root (and the gateway) cannot be found: %w", err, ErrNotInstalled)
	}
	bin := filepath.Join(root, BinPath)
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("s3local: %w: no %s: run `make tools` first", ErrNotInstalled, bin)
	}
	return bin, nil
}

// Event is the part of an S3 event notification the local stack reads.
// versitygw's notifications carry S3's field names, but fields that AWS
// sends as timestamps can be empty strings, which events.S3Event cannot
// decode.
type Event struct {
	Records []EventRecord `json:"Records"`
}

// EventRecord is one notification.
type EventRecord struct {
	EventName string `json:"eventName"` // "s3:ObjectCreated:Post", "s3:ObjectTagging:Put", …
	S3        struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
		} `json:"object"`
	} `json:"s3"`
}
