package seslocal_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/pedsportal/messaging/internal/localdev/seslocal"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild()
		return
	}
	os.Exit(m.Run())
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func start(tb testing.TB, opts seslocal.Options) *seslocal.Server {
	tb.Helper()
	opts.Logger = quiet
	srv, err := seslocal.Start(tb.Context(), opts)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { _ = srv.Stop() })
	return srv
}

// GIVEN a running server WHEN the real SDK client sends one e-mail THEN
// Emails returns it with its recipients, subject, bodies and headers.
func TestSendEmailThroughTheSDKAndReadItBack(t *testing.T) {
	srv := start(t, seslocal.Options{})
	ctx := t.Context()
	client := sesv2.New(sesv2.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(srv.Endpoint()),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""),
	})
	out, err := client.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("Maple Grove Pediatrics <no-reply@example.test>"),
		Destination:      &types.Destination{ToAddresses: []string{"parent@example.test"}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String("You have a new message"), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Text: &types.Content{Data: aws.String("Sign in to read it.")},
				Html: &types.Content{Data: aws.String("<p>Sign in to read it.</p>")},
			},
			Headers: []types.MessageHeader{
				{Name: aws.String("List-Unsubscribe"), Value: aws.String("<https://portal.example.test/u/abc>")},
				{Name: aws.String("List-Unsubscribe-Post"), Value: aws.String("List-Unsubscribe=One-Click")},
			},
		}},
	})
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}

	got, err := srv.Emails(ctx)
	if err != nil {
		t.Fatalf("Emails: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("Emails() = %d e-mails, want 1: %+v", len(got), got)
	}
	e := got[0]
	checks := []struct {
		what      string
		got, want any
	}{
		{"message ID", e.MessageID, aws.ToString(out.MessageId)},
		{"from", e.From, "Maple Grove Pediatrics <no-reply@example.test>"},
		{"to", strings.Join(e.To, ","), "parent@example.test"},
		{"subject", e.Subject, "You have a new message"},
		{"text", e.Text, "Sign in to read it."},
		{"html", e.HTML, "<p>Sign in to read it.</p>"},
		{"List-Unsubscribe", e.Header("list-unsubscribe"), "<https://portal.example.test/u/abc>"},
		{"List-Unsubscribe-Post", e.Header("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
		}
	}
	if d := time.Since(e.At); d < -2*time.Second || d > time.Minute {
		t.Errorf("At = %v, want about now", e.At)
	}

	if err := srv.Clear(ctx); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	if got, err := srv.Emails(ctx); err != nil || len(got) != 0 {
		t.Errorf("Emails after Clear = %d, %v; want none", len(got), err)
	}
}

// The page that shows every e-mail is served, and, as SES does, a request
// without a signature is refused.
func TestPageAndUnsignedRequests(t *testing.T) {
	srv := start(t, seslocal.Options{})
	resp, err := http.Get(srv.PageURL())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "/store") {
		t.Errorf("GET %s = %s, want 200 with the e-mail list page", srv.PageURL(), resp.Status)
	}

	resp, err = http.Post(srv.Endpoint()+"/v2/email/outbound-emails", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned SendEmail = %s, want 403", resp.Status)
	}
}

func TestFixedPortAndStop(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	srv := start(t, seslocal.Options{Port: port})
	if got, want := srv.Endpoint(), "http://127.0.0.1:"+strconv.Itoa(port); got != want {
		t.Errorf("Endpoint() = %s, want %s", got, want)
	}
	pid := srv.Pid()
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if alive(pid) {
		t.Errorf("node pid %d still alive after Stop", pid)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop: %v, want nil", err)
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
		c.Close()
		t.Errorf("port %d still accepts connections after Stop", port)
	}
}

// A port already taken makes Start fail at once with node's output, and the
// program holding the port is never mistaken for the server.
func TestPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = seslocal.Start(t.Context(), seslocal.Options{Port: l.Addr().(*net.TCPAddr).Port, Logger: quiet, StartTimeout: 20 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "failed to start server") {
		t.Errorf("Start on a taken port: err = %v, want one with node's output", err)
	}
}

// childEnv makes the test binary act as a parent program that starts the
// server, prints node's pid and waits to be killed.
const childEnv = "SESLOCAL_TEST_CHILD"

func runChild() {
	srv, err := seslocal.Start(context.Background(), seslocal.Options{Logger: quiet})
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("pid " + strconv.Itoa(srv.Pid()) + "\n")
	select {} // until killed
}

// The parent dying, by Ctrl-C or by SIGKILL, must not leave node behind.
func TestNoOrphanWhenParentDies(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux-only")
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"=1")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatalf("reading child: %v", err)
			}
			pidText, ok := strings.CutPrefix(strings.TrimSpace(line), "pid ")
			if !ok {
				t.Fatalf("child said %q", line)
			}
			nodePid, err := strconv.Atoi(pidText)
			if err != nil {
				t.Fatal(err)
			}
			if !alive(nodePid) {
				t.Fatalf("node pid %d not running while the parent is", nodePid)
			}
			t.Cleanup(func() { _ = syscall.Kill(nodePid, syscall.SIGKILL) })

			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			deadline := time.Now().Add(15 * time.Second)
			for alive(nodePid) {
				if time.Now().After(deadline) {
					t.Fatalf("node pid %d outlived its parent", nodePid)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// alive reports whether pid runs; a zombie counts as dead.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
