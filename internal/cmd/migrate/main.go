// Command migrate brings a deployed Messages table up to the current data
// shape after `make deploy` (README, Deploying). It is idempotent.
//
//	TABLE_MESSAGES=<MessagesTableName output> go run ./internal/cmd/migrate
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/migrate"
	"github.com/pedsportal/messaging/internal/schema"
)

func main() {
	table := os.Getenv(envvar.Table(schema.Messages))
	if table == "" {
		fmt.Fprintln(os.Stderr, "migrate: set TABLE_MESSAGES to the stack's Messages table name")
		os.Exit(1)
	}
	ctx := context.Background()
	db, err := lambdaapp.OperatorDynamoDB(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err)
		os.Exit(1)
	}
	fmt.Printf("Migrating %s…\n", table)
	err = migrate.Run(ctx, db, table, func(step string, n int) { fmt.Printf("  %-12s %d items updated\n", step, n) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err, "(safe to run again)")
		os.Exit(1)
	}
	fmt.Println("Done.")
}
