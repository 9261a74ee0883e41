// Package migrate brings stored data up to the current shape after a schema
// change. Each step is idempotent and safe to run while the product serves
// traffic: it only adds attributes or moves records that are not chart
// content, never rewrites a message or a conversation's text.
package migrate

import (
	"context"
	"fmt"
	"time"

	"github.com/pedsportal/messaging/internal/store"
)

// Step is one migration.
type Step struct {
	Name string
	Run  func(ctx context.Context, db store.MigrationAPI, t store.Tables) (changed int, err error)
}

// Steps lists every migration in order.
func Steps() []Step {
	return []Step{
		{Name: "open-index", Run: store.MigrateOpenIndex},
		{Name: "idempotency-table", Run: func(ctx context.Context, db store.MigrationAPI, t store.Tables) (int, error) {
			return store.MigrateIdempotency(ctx, db, t, time.Now())
		}},
		{Name: "portal-active", Run: store.MigratePortalUsersActive},
		{Name: "conversation-turns", Run: store.MigrateTurns},
		{Name: "practice-registry", Run: store.MigratePracticeRegistry},
		{Name: "search-tokens", Run: store.MigrateSearchTokens},
		{Name: "conversation-audiences", Run: store.MigrateAudiences},
	}
}

// Run applies every step; progress is told each step's result.
func Run(ctx context.Context, db store.MigrationAPI, t store.Tables, progress func(step string, changed int)) error {
	for _, s := range Steps() {
		n, err := s.Run(ctx, db, t)
		if err != nil {
			return fmt.Errorf("migration %s: %w", s.Name, err)
		}
		progress(s.Name, n)
	}
	return nil
}
