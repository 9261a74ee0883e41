// Command migrate brings a deployed Messages table up to the current data
// shape after `make deploy` (README, Deploying). It is idempotent.
//
//	TABLE_MESSAGES=<MessagesTableName output> go run ./internal/cmd/migrate
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/migrate"
)

func main() {
	table := os.Getenv(lambdaapp.EnvTableMessages)
	if table == "" {
		fmt.Fprintln(os.Stderr, "migrate: set TABLE_MESSAGES to the stack's Messages table name")
		os.Exit(1)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate: AWS configuration:", err)
		os.Exit(1)
	}
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if ep := os.Getenv("DYNAMODB_ENDPOINT"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
	fmt.Printf("Migrating %s…\n", table)
	err = migrate.Run(ctx, db, table, func(step string, n int) { fmt.Printf("  %-12s %d items updated\n", step, n) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "migrate:", err, "(safe to run again)")
		os.Exit(1)
	}
	fmt.Println("Done.")
}
