package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const mb = 1 << 20

// extras stands in for the floor builds: what each client adds.
func extras(tags []string) int64 {
	add := map[string]int64{"s3": mb, "presign": mb / 4, "sesv2": 3 * mb / 4, "sms": mb / 4, "secretsmanager": mb / 4}
	var n int64
	for _, t := range tags {
		n += add[t]
	}
	return n
}

func TestCheck(t *testing.T) {
	exceptions := map[string][]string{"attachments": {"s3", "presign"}, "attach-process": {"s3"}}
	for _, c := range []struct {
		name  string
		boots []bootstrap
		over  map[string][]string
		want  []string // substrings of the problems, in order; none: passes
	}{
		{"within the budget", []bootstrap{{fn: "write-message", size: 8 * mb}}, nil, nil},
		{"over the budget", []bootstrap{{fn: "write-message", size: 8*mb + 1}}, nil,
			[]string{"write-message is 8.00 MB, over its budget of 8.00 MB"}},
		{"an exception within its allowance", []bootstrap{
			{fn: "attachments", size: 9*mb + mb/4, clients: []string{"presign", "s3"}},
			{fn: "attach-process", size: 9 * mb, clients: []string{"s3"}},
		}, exceptions, nil},
		{"an exception over its allowance", []bootstrap{
			{fn: "attachments", size: 9*mb + mb/4 + 1, clients: []string{"presign", "s3"}},
			{fn: "attach-process", size: 9*mb + 1, clients: []string{"s3"}},
		}, exceptions, []string{"attachments is 9.25 MB, over its budget of 9.25 MB", "attach-process is 9.00 MB, over its budget of 9.00 MB"}},
		{"an exception no longer needed", []bootstrap{{fn: "attach-process", size: 8 * mb, clients: []string{"s3"}}},
			map[string][]string{"attach-process": {"s3"}}, []string{"attach-process is within the budget now"}},
		{"a client the bootstrap does not link", []bootstrap{{fn: "attach-process", size: 9 * mb, clients: []string{"s3"}}},
			map[string][]string{"attach-process": {"s3", "presign"}}, []string{"attach-process links the clients [s3], but over gives it [presign s3]"}},
		{"a client named twice", []bootstrap{{fn: "attach-process", size: 9 * mb, clients: []string{"s3"}}},
			map[string][]string{"attach-process": {"s3", "s3"}}, []string{"over gives attach-process a client twice", "links the clients [s3], but over gives it [s3 s3]"}},
		{"an unknown client", []bootstrap{{fn: "attach-process", size: 9 * mb, clients: []string{"s3"}}},
			map[string][]string{"attach-process": {"s3", "sqs"}}, []string{`over gives attach-process the unknown client "sqs"`, "but over gives it [s3 sqs]"}},
		{"an exception without a bootstrap", []bootstrap{{fn: "write-message", size: 7 * mb}},
			map[string][]string{"attach-process": {"s3"}}, []string{"over names attach-process, which has no bootstrap"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			lines, problems := check(c.boots, c.over, extras)
			if len(lines) != len(c.boots) {
				t.Errorf("%d lines for %d bootstraps: %q", len(lines), len(c.boots), lines)
			}
			if len(problems) != len(c.want) {
				t.Fatalf("problems %q, want %d: %q", problems, len(c.want), c.want)
			}
			for i, w := range c.want {
				if !strings.Contains(problems[i], w) {
					t.Errorf("problem %q, want one containing %q", problems[i], w)
				}
			}
		})
	}
}

// read finds the clients in a stripped bootstrap's function table, reads
// back how it was built, and refuses one that is not stripped.
func TestReadBootstrap(t *testing.T) {
	dir := t.TempDir()
	arch := "arm64"
	build := func(name string, args ...string) string {
		out := filepath.Join(dir, name, "bootstrap")
		cmd := exec.Command("go", append(append([]string{"build"}, args...), "-o", out, "../../../functions/attachments")...)
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+arch, "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, msg)
		}
		return out
	}
	p := build("attachments", "-trimpath", "-ldflags", "-s -w", "-tags", "lambda.norpc")
	b, h, err := read(p)
	if err != nil {
		t.Fatal(err)
	}
	if b.fn != "attachments" || b.size == 0 || !slices.Equal(b.clients, []string{"presign", "s3"}) {
		t.Errorf("read %+v, want attachments linking [presign s3]", b)
	}
	for _, want := range []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"} {
		if !slices.Contains(h.env, want) {
			t.Errorf("environment %v lacks %s", h.env, want)
		}
	}
	if !slices.Equal(h.flags, []string{"-ldflags", "-s -w", "-tags", "lambda.norpc", "-trimpath"}) {
		t.Errorf("flags %q", h.flags)
	}
	if _, _, err := read(build("unstripped", "-trimpath")); err == nil || !strings.Contains(err.Error(), "not stripped") {
		t.Errorf("an unstripped bootstrap: %v", err)
	}
	arch = "amd64"
	if _, _, err := read(build("amd64", "-trimpath", "-ldflags", "-s -w")); err == nil || !strings.Contains(err.Error(), "not linux/arm64") {
		t.Errorf("an amd64 bootstrap: %v", err)
	}
}
