// Command directory loads a practice's directory file into the deployed
// Directory table: how DevOps onboards a practice and its first admin.
//
//	TABLE_DIRECTORY=<DirectoryTableName output> go run ./internal/cmd/directory practice.json
//
// AWS credentials and region come from the usual environment. Set
// DYNAMODB_ENDPOINT to load into DynamoDB Local instead.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pedsportal/messaging/internal/directory"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/operator"
	"github.com/pedsportal/messaging/internal/schema"
	"github.com/pedsportal/messaging/internal/store"
)

func main() {
	if len(os.Args) != 2 {
		fail("usage: TABLE_DIRECTORY=<table> directory <practice.json>")
	}
	table := os.Getenv(envvar.Table(schema.Directory))
	if table == "" {
		fail("set TABLE_DIRECTORY to the stack's DirectoryTableName output")
	}
	in, err := os.Open(os.Args[1])
	if err != nil {
		fail(err.Error())
	}
	defer in.Close()
	f, err := directory.Parse(in)
	if err != nil {
		fail(err.Error())
	}
	ctx := context.Background()
	db, err := operator.DynamoDB(ctx)
	if err != nil {
		fail(err.Error())
	}
	st := store.New(db, store.Tables{Directory: table})
	fmt.Printf("Loading practice %s into %s…\n", f.Practice.ID, table)
	err = directory.Load(ctx, st, f, "directory-loader", func(what string, n int) {
		fmt.Printf("  %-13s %d written\n", what, n)
	})
	if err != nil {
		fail("load stopped: " + err.Error() + " (loading is idempotent: fix and run again)")
	}
	fmt.Println("Done.")
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "directory:", msg)
	os.Exit(1)
}
