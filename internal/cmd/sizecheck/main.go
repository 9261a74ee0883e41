// Command sizecheck prints the size of every built bootstrap and fails when
// one exceeds the 9 MB budget: Lambda cold starts grow with package size.
//
// A bootstrap links only its own handlers (package api has one constructor
// per function), reads its AWS configuration with package awsenv rather
// than config.LoadDefaultConfig, and links the notification records
// without the e-mail templates (package notify/outbox); today they are
// 8.4-8.7 MB. A function that links the DynamoDB client, the Lambda
// runtime and nothing else is about 7.25 MB; the rest is the function's
// own code, the embedded time-zone database (about 0.4 MB, package hours,
// in every function that reads a practice's calendar) and, in the six
// functions that page nothing, a Secrets Manager client they never call
// (about 0.13 MB). The 8 MB target needs those two cut as well;
// the budget stays just above today's largest bootstrap until they are.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

const budget = 9 << 20

// over are the functions allowed more, each with its reason.
var over = map[string]int64{
	// The one function that links the SES v2 and End User Messaging SMS
	// clients (about 9 MB of generated code between them); it runs once a
	// minute, so its cold start is paid rarely. Every other function
	// stays under the budget because only this one imports them. It is
	// about 18 MB.
	"notify-flush": 20 << 20,
	// The two functions that link the S3 client (about 1.7 MB of
	// generated code with its presigner and checksums); attach-process
	// also links the image codecs. Only these import package
	// lambdaapp/blobs. Each is about 9.8 MB.
	"attachments":    11 << 20,
	"attach-process": 11 << 20,
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
