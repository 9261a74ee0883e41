// Package seslocal runs aws-ses-v2-local (npm, pinned in .tools and
// installed by `make tools`) as a child process: a local Amazon SES v2 that
// accepts SendEmail from the ordinary SDK client, keeps every e-mail in
// memory and shows them on a web page.
//
// Point the SDK at it with AWS_ENDPOINT_URL_SESV2=Endpoint() or
// sesv2.Options.BaseEndpoint. Like SES it refuses unsigned requests, so the
// client needs credentials (any static pair does). Read what was sent with
// Emails, or open PageURL in a browser.
//
// The child runs in its own process group so that Stop can kill it and
// anything it spawned, and on Linux it is also killed by the kernel when the
// parent dies (Pdeathsig), so a Ctrl-C or a crashed test binary leaves no
// orphan node behind. It listens on 127.0.0.1 only.
package seslocal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/pedsportal/messaging/internal/localdev/childproc"
)

// CLIPath is the server's command-line entry, relative to the repository
// root.
const CLIPath = ".tools/node_modules/aws-ses-v2-local/dist/cli.js"

// ErrNotInstalled is returned by Start when the npm package is missing.
var ErrNotInstalled = errors.New("aws-ses-v2-local not installed")

// Options configure Start.
type Options struct {
	// Port to listen on; 0 picks a free one.
	Port int
	// StartTimeout bounds how long Start waits for the server to answer.
	// Zero means 30 s: node starts it in well under a second, but a
	// loaded CI machine can be much slower.
	StartTimeout time.Duration
	// Logger receives start and stop events. Nil uses slog.Default().
	Logger *slog.Logger
}

// Server is a running aws-ses-v2-local.
type Server struct {
	proc     *childproc.Process
	endpoint string
	log      *slog.Logger
	http     *http.Client

	stopOnce sync.Once
	stopErr  error
}

// Start launches the server and returns once it answers its health check.
// It looks for the package under the repository root (the nearest
// directory above the working directory that holds go.mod).
func Start(ctx context.Context, opts Options) (*Server, error) {
	wd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("seslocal: working directory: %w", err)
	}
	cli, err := locateCLI(wd)
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("seslocal: node not on PATH (install Node 20): %w", err)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}

	// A free port can be taken by someone else before node binds it; node
	// then exits early and WithPort retries with another port.
	return childproc.WithPort(ctx, opts.Port, errExitedEarly, func(port int) (*Server, error) {
		return launch(ctx, node, cli, port, opts)
	})
}

var errExitedEarly = errors.New("aws-ses-v2-local exited during start-up")

func launch(ctx context.Context, node, cli string, port int, opts Options) (*Server, error) {
	// Not exec.CommandContext: the server must outlive the start-up
	// context, and Stop owns its shutdown.
	cmd := exec.Command(node, cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Dir = filepath.Dir(cli)
	cmd.Env = childEnv(os.Environ())
	proc, err := childproc.Start(cmd)
	if err != nil {
		return nil, fmt.Errorf("seslocal: start node: %w", err)
	}
	s := &Server{
		proc:     proc,
		endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		log:      opts.Logger,
		http:     &http.Client{Timeout: 10 * time.Second},
	}

	if err := s.waitReady(ctx, opts.StartTimeout); err != nil {
		_ = s.Stop()
		return nil, err
	}
	s.log.Info("ses local started", "endpoint", s.endpoint, "page", s.PageURL(), "pid", proc.Pid())
	return s, nil
}

// childEnv is the parent's environment without SMTP_TRANSPORT: with it set,
// aws-ses-v2-local relays every e-mail to a real SMTP server, and a local
// stand-in must never deliver mail to real people.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if strings.HasPrefix(kv, "SMTP_TRANSPORT=") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// readyLine is what the CLI prints once it listens (dist/cli.js).
const readyLine = "aws-ses-v2-local: server running at"

// waitReady polls the health check, once node said it listens, until it
// answers 200, the process dies, or time runs out.
func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	err := s.proc.WaitReady(ctx, timeout, 50*time.Millisecond, s.endpoint, errExitedEarly, func(ctx context.Context) bool {
		// Only ask once node says it listens: before that, a port taken by
		// another program could answer for it.
		return strings.Contains(s.proc.Output(), readyLine) && s.healthy(ctx)
	})
	if err != nil {
		return fmt.Errorf("seslocal: %w", err)
	}
	return nil
}

func (s *Server) healthy(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint+"/health-check", nil)
	if err != nil {
		return false
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Endpoint is the server's base URL, e.g. http://127.0.0.1:41234: the value
// for AWS_ENDPOINT_URL_SESV2 or sesv2.Options.BaseEndpoint.
func (s *Server) Endpoint() string { return s.endpoint }

// PageURL is the web page that lists every e-mail received.
func (s *Server) PageURL() string { return s.endpoint + "/" }

// Pid is the node process ID.
func (s *Server) Pid() int { return s.proc.Pid() }

// Header is one message header as sent.
type Header struct {
	Name, Value string
}

// Received is one e-mail the server accepted.
type Received struct {
	MessageID string
	From      string
	ReplyTo   []string
	To        []string
	Cc, Bcc   []string
	Subject   string
	Text      string
	HTML      string
	// Headers are the custom headers of Simple and Template content, in
	// the order sent. The server keeps none for Raw content.
	Headers []Header
	// At is when the server received it, to the second.
	At time.Time
}

// Header returns the value of the first header named name (compared
// case-insensitively, as mail header names are), or "".
func (r Received) Header(name string) string {
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// storeJSON is the shape of GET /store (see the package's dist/index.js
// and dist/v2/sendEmail.js).
type storeJSON struct {
	Emails []struct {
		MessageID   string   `json:"messageId"`
		From        string   `json:"from"`
		ReplyTo     []string `json:"replyTo"`
		Destination struct {
			To  []string `json:"to"`
			Cc  []string `json:"cc"`
			Bcc []string `json:"bcc"`
		} `json:"destination"`
		Subject string `json:"subject"`
		Body    struct {
			HTML string `json:"html"`
			Text string `json:"text"`
		} `json:"body"`
		Headers []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"headers"`
		At int64 `json:"at"`
	} `json:"emails"`
}

// Emails lists every e-mail received since start (or the last Clear),
// oldest first, from the server's JSON API (GET /store).
func (s *Server) Emails(ctx context.Context) ([]Received, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint+"/store", nil)
	if err != nil {
		return nil, fmt.Errorf("seslocal: %w", err)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("seslocal: read store: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("seslocal: read store: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("seslocal: GET /store: %s", resp.Status)
	}
	var st storeJSON
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, fmt.Errorf("seslocal: decode store: %w", err)
	}
	out := make([]Received, 0, len(st.Emails))
	for _, e := range st.Emails {
		r := Received{
			MessageID: e.MessageID,
			From:      e.From,
			ReplyTo:   e.ReplyTo,
			To:        e.Destination.To,
			Cc:        e.Destination.Cc,
			Bcc:       e.Destination.Bcc,
			Subject:   e.Subject,
			Text:      e.Body.Text,
			HTML:      e.Body.HTML,
			At:        time.Unix(e.At, 0).UTC(),
		}
		for _, h := range e.Headers {
			r.Headers = append(r.Headers, Header{Name: h.Name, Value: h.Value})
		}
		out = append(out, r)
	}
	return out, nil
}

// Clear forgets every e-mail received (POST /clear-store).
func (s *Server) Clear(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint+"/clear-store", nil)
	if err != nil {
		return fmt.Errorf("seslocal: %w", err)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("seslocal: clear store: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("seslocal: POST /clear-store: %s", resp.Status)
	}
	return nil
}

// Stop terminates the whole process group, waits for node to exit and
// returns nil when it did. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if err := s.proc.Stop(); err != nil {
			s.stopErr = fmt.Errorf("seslocal: node (pid %d) %w", s.proc.Pid(), err)
			return
		}
		s.log.Info("ses local stopped", "endpoint", s.endpoint)
	})
	return s.stopErr
}

// NewClient returns an SES v2 client for a local endpoint. It is built from
// explicit options, never from the shared AWS config or environment
// credentials, so that nothing local can ever talk to a real account. The
// static credentials make the SDK sign its requests, which the server
// requires.
func NewClient(endpoint string) *sesv2.Client {
	return sesv2.New(sesv2.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
}

// locateCLI finds the server's entry under the repository root above start.
func locateCLI(start string) (string, error) {
	root, err := childproc.RepoRoot(start)
	if err != nil {
		return "", fmt.Errorf("seslocal: %w, so the repository root (and the server) cannot be found: %w", err, ErrNotInstalled)
	}
	cli := filepath.Join(root, CLIPath)
	if _, err := os.Stat(cli); err != nil {
		return "", fmt.Errorf("seslocal: %w: no %s: run `make tools` (cd .tools && npm ci) first", ErrNotInstalled, cli)
	}
	return cli, nil
}
