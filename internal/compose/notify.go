package compose

import (
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/store"
)

// StoreFor is the store over exactly the tables function is granted;
// it fails when a granted table has no name.
func StoreFor(function string, src Source) (*store.Store, error) {
	f, ok := routes.FunctionNamed(function)
	if !ok {
		return nil, fmt.Errorf("unknown function %q", function)
	}
	if src.Env == nil || src.DynamoDB == nil {
		return nil, fmt.Errorf("function %s: compose.Source needs Env and DynamoDB", function)
	}
	var missing []string
	for _, table := range slices.Sorted(maps.Keys(f.Tables)) {
		if src.Env(envvar.Table(table)) == "" {
			missing = append(missing, envvar.Table(table))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("function %s: missing settings %v", function, missing)
	}
	return store.New(src.DynamoDB, tablesOf(f, src.Env)), nil
}

// LogOf is src's logger, slog.Default() when it has none.
func LogOf(src Source) *slog.Logger {
	if src.Log == nil {
		return slog.Default()
	}
	return src.Log
}
