// Command sizecheck prints the size of every built bootstrap and fails when
// one exceeds the 8 MB budget (MiB, as it prints them): Lambda cold starts
// grow with package size. A function that needs AWS clients besides
// DynamoDB may exceed it by what those clients alone cost, measured on
// every run (see over).
//
// A bootstrap links only its own handlers (package api has one constructor
// per function; the download has its own, export-chart, so that only it
// links the HTML and FHIR encoders and the unfiltered listing; the image
// codecs are in package attach/safe, which only attach-process imports),
// reads its AWS configuration with package awsenv rather than
// config.LoadDefaultConfig, links the notification records without
// the e-mail rendering (package notify/outbox), links the Secrets Manager
// client only if it is given the cursor key (package lambdaapp/secretkey),
// carries the United States' time zones only (package hours, 35 KB
// instead of time/tzdata's 0.37 MB), is built without net/http's bundled
// HTTP/2 (tag nethttpomithttp2, 0.31 MB; see the Makefile), and renders
// notifications without text/template (package notify, 0.31 MB; 8.37 MB
// in notify-flush): today 7.44-7.94 MB.
package main

import (
	"bytes"
	"cmp"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

const budget = 8 << 20

// over are the functions allowed more than the budget, each with the AWS
// clients besides DynamoDB it needs (command floor's build tags). Its
// allowance is the budget plus what those clients alone add to floor's
// DynamoDB-only bootstrap, built as the functions were on every run: our
// code gets the same room in every function, and only the SDK can take one
// past 8 MB. An entry must be needed (its function is over the budget)
// and true (the clients are the ones the bootstrap links). Sizes move in
// 64 KB steps (segment alignment), so an allowance is exact to a step.
var over = map[string][]string{
	// The S3 client with its presigner (the upload slot is a presigned
	// POST, whose policy signing only the presigner offers).
	"attachments": {"s3", "presign"},
	// The S3 client; the image codecs that make uploads safe are ours.
	"attach-process": {"s3"},
	// The SES v2 and End User Messaging SMS senders, and Secrets Manager
	// for the unsubscribe links' key. It runs once a minute, so its cold
	// start is paid rarely. (It was 17.31 MB while text/template kept
	// every SDK method; see package notify.)
	"notify-flush": {"sesv2", "sms", "secretsmanager"},
}

// clients are command floor's build tags: each client's name and the
// prefix of its methods' names in a bootstrap's function table, which
// stripping keeps (the runtime needs it for stack traces).
var clients = map[string]struct{ name, methods string }{
	"s3":             {"S3", "github.com/aws/aws-sdk-go-v2/service/s3.(*Client)."},
	"presign":        {"its presigner", "github.com/aws/aws-sdk-go-v2/service/s3.(*PresignClient)."},
	"sesv2":          {"SES v2", "github.com/aws/aws-sdk-go-v2/service/sesv2.(*Client)."},
	"sms":            {"SMS", "github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2.(*Client)."},
	"secretsmanager": {"Secrets Manager", "github.com/aws/aws-sdk-go-v2/service/secretsmanager.(*Client)."},
}

// bootstrap is what sizecheck reads of one built function.
type bootstrap struct {
	fn      string
	size    int64
	clients []string // the tags of the clients whose methods it links
}

func main() {
	dir := ".build/functions"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := run(dir); err != nil {
		fmt.Fprintf(os.Stderr, "sizecheck: %v\n", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "bootstrap"))
	sort.Strings(paths)
	if len(paths) == 0 {
		return fmt.Errorf("no bootstrap under %s; run make build", dir)
	}
	var boots []bootstrap
	var how *build
	for _, p := range paths {
		b, h, err := read(p)
		if err != nil {
			return err
		}
		if how != nil && (h.goVersion != how.goVersion || !slices.Equal(h.env, how.env) || !slices.Equal(h.flags, how.flags)) {
			return fmt.Errorf("%s was built unlike the others (%s %v %v, not %s %v %v); run make build", p, h.goVersion, h.env, h.flags, how.goVersion, how.env, how.flags)
		}
		boots, how = append(boots, b), h
	}
	tmp, err := os.MkdirTemp("", "sizecheck-floor-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	how.dir = tmp
	base, err := how.floor(nil)
	if err != nil {
		return err
	}
	fmt.Printf("  %-28s %6.2f MB  the Lambda runtime and the DynamoDB client alone\n", "(floor)", mib(base))
	var buildErr error
	lines, problems := check(boots, over, func(tags []string) int64 {
		n, err := how.floor(tags)
		buildErr = cmp.Or(buildErr, err)
		return n - base
	})
	if buildErr != nil {
		return buildErr
	}
	for _, l := range lines {
		fmt.Println(l)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "\nsizecheck: "))
	}
	return nil
}

// check decides every bootstrap against the budget, and each of over's
// entries against its bootstrap; extra is what the clients of the tags
// add to the floor. It returns a line per bootstrap and the problems.
func check(boots []bootstrap, over map[string][]string, extra func(tags []string) int64) (lines, problems []string) {
	seen := map[string]bool{}
	for _, b := range boots {
		seen[b.fn] = true
		limit, note := int64(budget), ""
		if tags, ok := over[b.fn]; ok {
			for _, t := range tags {
				if _, ok := clients[t]; !ok {
					problems = append(problems, fmt.Sprintf("over gives %s the unknown client %q (command floor has no such tag)", b.fn, t))
				}
			}
			want := slices.Sorted(slices.Values(tags))
			if !slices.Equal(slices.Compact(slices.Clone(want)), want) {
				problems = append(problems, fmt.Sprintf("over gives %s a client twice: %v", b.fn, tags))
			}
			if !slices.Equal(b.clients, want) {
				problems = append(problems, fmt.Sprintf("%s links the clients %v, but over gives it %v", b.fn, b.clients, want))
			}
			if b.size <= budget {
				problems = append(problems, fmt.Sprintf("%s is within the budget now: remove it from over", b.fn))
			}
			x := extra(tags)
			limit += x
			var names []string
			for _, t := range tags {
				names = append(names, clients[t].name)
			}
			note = fmt.Sprintf(" (allowed %.2f: %s add %.2f to the floor)", mib(limit), strings.Join(names, ", "), mib(x))
		}
		mark := "ok"
		if b.size > limit {
			mark = "OVER BUDGET"
			problems = append(problems, fmt.Sprintf("%s is %.2f MB, over its budget of %.2f MB", b.fn, mib(b.size), mib(limit)))
		}
		lines = append(lines, fmt.Sprintf("  %-28s %6.2f MB  %s%s", b.fn, mib(b.size), mark, note))
	}
	for _, fn := range slices.Sorted(maps.Keys(over)) {
		if !seen[fn] {
			problems = append(problems, fmt.Sprintf("over names %s, which has no bootstrap: remove it from over or run make build", fn))
		}
	}
	return lines, problems
}

// build is how the functions were built, read back from a bootstrap: the
// environment and flags to build command floor the same way, into dir.
type build struct {
	goVersion  string
	env, flags []string
	dir        string
}

// read returns what p is and how it was built. It must be stripped (make
// build links with -s -w), so that its size is the one Lambda loads and
// the floor's is comparable.
func read(p string) (bootstrap, *build, error) {
	b := bootstrap{fn: filepath.Base(filepath.Dir(p))}
	fi, err := os.Stat(p)
	if err != nil {
		return b, nil, err
	}
	b.size = fi.Size()
	f, err := elf.Open(p)
	if err != nil {
		return b, nil, fmt.Errorf("%s: %v", p, err)
	}
	defer f.Close()
	if f.Section(".symtab") != nil || f.Section(".debug_info") != nil || f.Section(".zdebug_info") != nil {
		return b, nil, fmt.Errorf("%s is not stripped; run make build (-ldflags '-s -w')", p)
	}
	tab := f.Section(".gopclntab")
	if tab == nil {
		return b, nil, fmt.Errorf("%s has no Go function table", p)
	}
	names, err := tab.Data()
	if err != nil {
		return b, nil, fmt.Errorf("%s: %v", p, err)
	}
	for tag, c := range clients {
		if bytes.Contains(names, []byte(c.methods)) {
			b.clients = append(b.clients, tag)
		}
	}
	slices.Sort(b.clients)
	info, err := buildinfo.ReadFile(p)
	if err != nil {
		return b, nil, fmt.Errorf("%s: %v", p, err)
	}
	// The link flags are not recorded under -trimpath; stripped, as
	// checked above, they are make build's -s -w.
	h := &build{goVersion: info.GoVersion, flags: []string{"-ldflags", "-s -w"}}
	for _, s := range info.Settings {
		switch s.Key {
		case "GOOS", "GOARCH", "CGO_ENABLED", "GOARM64", "GOAMD64":
			h.env = append(h.env, s.Key+"="+s.Value)
		case "-trimpath":
			if s.Value == "true" {
				h.flags = append(h.flags, "-trimpath")
			}
		case "-tags":
			h.flags = append(h.flags, "-tags", s.Value)
		}
	}
	if !slices.Contains(h.env, "GOOS=linux") || !slices.Contains(h.env, "GOARCH=arm64") {
		return b, nil, fmt.Errorf("%s is built for %v, not linux/arm64 as Lambda runs it; run make build", p, h.env)
	}
	return b, h, nil
}

// floor builds command floor with the clients of tags and returns its size.
func (h *build) floor(tags []string) (int64, error) {
	flags := slices.Clone(h.flags)
	var extra []string
	for _, t := range tags {
		extra = append(extra, "floor."+t)
	}
	if i := slices.Index(flags, "-tags"); i >= 0 && len(extra) > 0 {
		flags[i+1] += "," + strings.Join(extra, ",")
	} else if len(extra) > 0 {
		flags = append(flags, "-tags", strings.Join(extra, ","))
	}
	out := filepath.Join(h.dir, strings.Join(append([]string{"dynamodb"}, tags...), "+"))
	cmd := exec.Command("go", append(append([]string{"build"}, flags...), "-o", out, "./internal/cmd/sizecheck/floor")...)
	cmd.Env = append(os.Environ(), h.env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("building the floor with %v: %v", tags, err)
	}
	// The floor must come from the bootstraps' toolchain: make build may
	// have been given another one (GO=...) than the go on PATH.
	if info, err := buildinfo.ReadFile(out); err != nil {
		return 0, err
	} else if info.GoVersion != h.goVersion {
		return 0, fmt.Errorf("the floor was built with %s, the bootstraps with %s: run sizecheck with the go that built them", info.GoVersion, h.goVersion)
	}
	fi, err := os.Stat(out)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
