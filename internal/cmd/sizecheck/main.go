// Command sizecheck prints the size of every built bootstrap and fails when
// one exceeds the 8 MB budget (MiB, as it prints them): Lambda cold starts
// grow with package size. A function that needs AWS clients besides
// DynamoDB may exceed it by what those clients alone cost, measured on
// every run (see over).
//
// A bootstrap links only its own handlers (package api has one constructor
// per function; the download has its own, export-chart, so that only it
// links the HTML and FHIR encoders and the unfiltered listing; only
// attach-process, the image codecs, package attach/safe), reads
// its AWS configuration with package awsenv rather
// than config.LoadDefaultConfig, links the notification records without
// the e-mail rendering (package notify/outbox), links the Secrets Manager
// client only if it is given the cursor key (package lambdaapp/secretkey),
// carries the United States' time zones only (package hours, 35 KB
// instead of time/tzdata's 0.37 MB), is built without net/http's bundled
// HTTP/2 (tag nethttpomithttp2, 0.31 MB; see the Makefile), and renders
// notifications without text/template (package notify, 0.31 MB; 8.37 MB
// in notify-flush): today 7.44-7.94 MB.
package main

import (
	"flag"
	"fmt"
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
// DynamoDB-only bootstrap, measured on every run with the functions' own
// flags: our code gets the same room in every function, and only the SDK
// can take one past 8 MB. An entry must be needed (its function is over
// the budget) and true (the clients are the ones the function links).
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

// clients are command floor's build tags: each client's name and SDK
// package.
var clients = map[string]struct{ name, pkg string }{
	"s3":             {"S3", "github.com/aws/aws-sdk-go-v2/service/s3"},
	"presign":        {"its presigner", "github.com/aws/aws-sdk-go-v2/service/s3"},
	"sesv2":          {"SES v2", "github.com/aws/aws-sdk-go-v2/service/sesv2"},
	"sms":            {"SMS", "github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"},
	"secretsmanager": {"Secrets Manager", "github.com/aws/aws-sdk-go-v2/service/secretsmanager"},
}

func main() {
	tags := flag.String("tags", "", "the functions' build tags")
	ldflags := flag.String("ldflags", "", "the functions' linker flags")
	flag.Parse()
	dir := ".build/functions"
	if flag.NArg() > 0 {
		dir = flag.Arg(0)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "bootstrap"))
	sort.Strings(paths)
	if len(paths) == 0 {
		fail("no bootstrap under %s; run make build", dir)
	}
	b := builder{tags: *tags, ldflags: *ldflags, dir: filepath.Join(filepath.Dir(dir), "floor")}
	base := b.size(nil)
	fmt.Printf("  %-28s %6.2f MB  the Lambda runtime and the DynamoDB client alone\n", "(floor)", mib(base))
	failed := false
	for _, p := range paths {
		fn := filepath.Base(filepath.Dir(p))
		fi, err := os.Stat(p)
		if err != nil {
			fail("%v", err)
		}
		limit, note := int64(budget), ""
		if tags, ok := over[fn]; ok {
			if err := ownClients(fn, tags); err != nil {
				fail("%v", err)
			}
			extra := b.size(tags) - base
			limit += extra
			var names []string
			for _, t := range tags {
				names = append(names, clients[t].name)
			}
			note = fmt.Sprintf(" (allowed %.2f: %s add %.2f to the floor)", mib(limit), strings.Join(names, ", "), mib(extra))
			if fi.Size() <= budget {
				fmt.Fprintf(os.Stderr, "sizecheck: %s is within the budget now: remove it from over\n", fn)
				failed = true
			}
		}
		mark := "ok"
		if fi.Size() > limit {
			mark, failed = "OVER BUDGET", true
		}
		fmt.Printf("  %-28s %6.2f MB  %s%s\n", fn, mib(fi.Size()), mark, note)
	}
	if failed {
		fail("a bootstrap is over its budget (%d MB; see over)", budget>>20)
	}
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "sizecheck: "+format+"\n", args...)
	os.Exit(1)
}

// builder builds command floor as make build builds a function.
type builder struct{ tags, ldflags, dir string }

// size builds floor with the clients of tags and returns its size.
func (b builder) size(tags []string) int64 {
	all := []string{}
	if b.tags != "" {
		all = append(all, b.tags)
	}
	for _, t := range tags {
		all = append(all, "floor."+t)
	}
	out := filepath.Join(b.dir, strings.Join(append([]string{"dynamodb"}, tags...), "+"))
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", b.ldflags, "-tags", strings.Join(all, ","), "-o", out, "./internal/cmd/sizecheck/floor")
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fail("building the floor with %v: %v", tags, err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		fail("%v", err)
	}
	return fi.Size()
}

// ownClients checks that the SDK service packages fn links, besides
// DynamoDB's, are exactly those of tags.
func ownClients(fn string, tags []string) error {
	var want []string
	for _, t := range tags {
		c, ok := clients[t]
		if !ok {
			return fmt.Errorf("%s: unknown client %q (command floor has no such tag)", fn, t)
		}
		want = append(want, c.pkg)
	}
	out, err := exec.Command("go", "list", "-deps", "./functions/"+fn).Output()
	if err != nil {
		return fmt.Errorf("go list %s: %v", fn, err)
	}
	var got []string
	for _, p := range strings.Fields(string(out)) {
		if svc, ok := strings.CutPrefix(p, "github.com/aws/aws-sdk-go-v2/service/"); ok && !strings.Contains(svc, "/") && !strings.HasPrefix(svc, "dynamodb") {
			got = append(got, p)
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	want = slices.Compact(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s links the clients %v, but over gives it %v", fn, got, want)
	}
	return nil
}
