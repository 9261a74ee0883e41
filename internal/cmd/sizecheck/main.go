// Command sizecheck prints the size of every built bootstrap and fails when
// one exceeds the 8 MB budget (MiB, as it prints them): Lambda cold starts
// grow with package size.
//
// A bootstrap links only its own handlers (package api has one constructor
// per function; the download has its own, export-chart, so that only it
// links the HTML and FHIR encoders and the unfiltered listing), reads
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
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

const budget = 8 << 20

// over are the functions allowed more, each with its reason.
var over = map[string]int64{
	// The one function that links the SES v2 and End User Messaging SMS
	// clients (only it imports them), plus the Secrets Manager client for
	// the unsubscribe links' key: 8.94 MB, 1.38 MB more than notifier on
	// the same stack. Built without the two clients it is 8.44 MB; the
	// rest is the sesv2 package's schema tables, which its init builds
	// whatever is called, Secrets Manager, and the flusher. It runs once a
	// minute, so its cold start is paid rarely. (It was 17.31 MB while
	// text/template kept every SDK method; see package notify.)
	"notify-flush": 9 << 20,
	// The two functions that link the S3 client (about 1.7 MB of
	// generated code with its presigner and checksums); attach-process
	// also links the image codecs. Only these import package
	// lambdaapp/blobs. Each is 8.94 MB.
	"attachments":    9 << 20,
	"attach-process": 9 << 20,
}

func main() {
	dir := ".build/functions"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "bootstrap"))
	sort.Strings(paths)
	if len(paths) == 0 {
		fmt.Fprintf(os.Stderr, "sizecheck: no bootstrap under %s; run make build\n", dir)
		os.Exit(1)
	}
	failed := false
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		limit := int64(budget)
		if l, ok := over[filepath.Base(filepath.Dir(p))]; ok {
			limit = l
		}
		mark := "ok"
		if fi.Size() > limit {
			mark, failed = "OVER BUDGET", true
		}
		fmt.Printf("  %-28s %6.2f MB  %s\n", filepath.Base(filepath.Dir(p)), float64(fi.Size())/(1<<20), mark)
	}
	if failed {
		fmt.Fprintf(os.Stderr, "sizecheck: a bootstrap is over its budget (%d MB; see over)\n", budget>>20)
		os.Exit(1)
	}
}
