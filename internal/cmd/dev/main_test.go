package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// devProcess is one run of the built `make dev` program.
type devProcess struct {
	cmd    *exec.Cmd
	api    string
	issuer string
	mail   string // the local SES page
	banner string
}

var urlLine = regexp.MustCompile(`^\s+(API|Issuer|E-mail sent)\s+(http://\S+)`)

func startDev(t *testing.T, bin, dataDir string) *devProcess {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Dir = "../../.." // the repository root, as `make dev` runs it
	cmd.Env = append(os.Environ(), "DEV_DATA_DIR="+dataDir,
		"DEV_API_ADDR=127.0.0.1:0", "DEV_SITE_ADDR=127.0.0.1:0", "DEV_ISSUER_ADDR=127.0.0.1:0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &devProcess{cmd: cmd}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(90*time.Second, func() { _ = cmd.Process.Kill() })
	defer deadline.Stop()
	var banner strings.Builder
	for sc.Scan() {
		line := sc.Text()
		banner.WriteString(line + "\n")
		if m := urlLine.FindStringSubmatch(line); m != nil {
			switch m[1] {
			case "API":
				p.api = m[2]
			case "Issuer":
				p.issuer = m[2]
			default:
				p.mail = m[2]
			}
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, out) }()
	p.banner = banner.String()
	if p.api == "" || p.issuer == "" || p.mail == "" {
		t.Fatalf("make dev did not print its URLs:\n%s", p.banner)
	}
	return p
}

func (p *devProcess) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(p.issuer+"/portal/dev/token", url.Values{"username": {"parent.rivera"}})
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ := http.NewRequest("GET", p.api+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// interrupt sends Ctrl-C and waits for a clean exit.
func (p *devProcess) interrupt(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("make dev exited with %v after Ctrl-C", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("make dev did not stop within 30 s of Ctrl-C")
	}
}

// sesFor lists local SES processes listening on the port of pageURL.
func sesFor(pageURL string) []string {
	u, err := url.Parse(pageURL)
	if err != nil {
		return []string{"bad URL " + pageURL}
	}
	var found []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		args := strings.Split(string(b), "\x00")
		if err == nil && strings.Contains(string(b), "aws-ses-v2-local") && slices.Contains(args, u.Port()) {
			found = append(found, p)
		}
	}
	return found
}

// javaFor lists DynamoDB Local processes whose command line names dir.
func javaFor(dir string) []string {
	var found []string
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err == nil && strings.Contains(string(b), "DynamoDBLocal") && strings.Contains(string(b), dir) {
			found = append(found, p)
		}
	}
	return found
}

// GIVEN make dev WHEN a user writes and Ctrl-C is pressed THEN no java
// process is left, and the next start still has the data.
func TestDevStopsCleanlyAndKeepsData(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the dev program")
	}
	bin := filepath.Join(t.TempDir(), "dev")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	data := t.TempDir()

	first := startDev(t, bin, data)
	if !strings.Contains(first.banner, "fresh demo data") || !strings.Contains(first.banner, "parent.rivera") {
		t.Fatalf("first start banner:\n%s", first.banner)
	}
	if len(javaFor(data)) != 1 {
		t.Fatalf("want one DynamoDB Local for %s, found %v", data, javaFor(data))
	}
	status, body := first.get(t, "/portal/patients/pt-7K2M9Q4D/conversations")
	if status != 200 || !strings.Contains(body, "Rash after starting amoxicillin") {
		t.Fatalf("list: %d %s", status, body)
	}
	if len(sesFor(first.mail)) != 1 {
		t.Fatalf("want one local SES at %s, found %v", first.mail, sesFor(first.mail))
	}
	first.interrupt(t)
	if left := javaFor(data); len(left) != 0 {
		t.Fatalf("orphan java after Ctrl-C: %v", left)
	}
	if left := sesFor(first.mail); len(left) != 0 {
		t.Fatalf("orphan node (local SES) after Ctrl-C: %v", left)
	}

	second := startDev(t, bin, data)
	if !strings.Contains(second.banner, "existing data") {
		t.Fatalf("second start did not find the data:\n%s", second.banner)
	}
	if status, body := second.get(t, "/portal/patients/pt-7K2M9Q4D/conversations"); status != 200 || !strings.Contains(body, "Rash after starting amoxicillin") {
		t.Fatalf("after restart: %d %s", status, body)
	}
	second.interrupt(t)
	if left := javaFor(data); len(left) != 0 {
		t.Fatalf("orphan java after the second Ctrl-C: %v", left)
	}
}
