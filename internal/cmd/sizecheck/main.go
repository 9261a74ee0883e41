// Command sizecheck prints the size of every built bootstrap and fails when
// one exceeds the 12 MB budget: Lambda cold starts grow with package size.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

const budget = 12 << 20

// over are the functions allowed more, each with its reason.
var over = map[string]int64{
	// The one function that links the SES v2 and End User Messaging SMS
	// clients (about 9 MB of generated code between them); it runs once a
	// minute, so its cold start is paid rarely. Every other function
	// stays under the budget because only this one imports them.
	"notify-flush": 24 << 20,
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
