// Command migrate brings a deployed stack's tables up to the current data
// shape after `make deploy` (README, Deploying). It is idempotent: run it
// again after any failure.
//
//	TABLE_DIRECTORY=… TABLE_MESSAGES=… TABLE_IDEMPOTENCY=… go run ./internal/cmd/migrate
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/migrate"
	"github.com/pedsportal/messaging/internal/operator"
	"github.com/pedsportal/messaging/internal/schema"
	"github.com/pedsportal/messaging/internal/store"
)

func main() {
	tables := store.TablesFrom(func(logical string) string { return os.Getenv(envvar.Table(logical)) })
	for _, t := range []string{schema.Directory, schema.Messages, schema.Idempotency} {
		if os.Getenv(envvar.Table(t)) == "" {
			fmt.Fprintf(os.Stderr, "migrate: set %s to the stack's %s table name (stack outputs)\n", envvar.Table(t), t)
			os.Exit(1)
		}
	}
	ctx := context.Background()
	db, err := operator.DynamoDB(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
	fmt.Printf("Migrating %s, %s and %s…\n", tables.Directory, tables.Messages, tables.Idempotency)
	err = migrate.Run(ctx, db, tables, func(step string, n int) { fmt.Printf("  %-18s %d items updated\n", step, n) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err, "(safe to run again)")
		os.Exit(1)
	}
	fmt.Println("Done.")
}
