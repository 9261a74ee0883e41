// Package compose is the one builder of a function's dependencies. Lambda
// (package lambdaapp) and the local stack (package devstack) both call
// Build, each with its own Source, so a function runs locally with exactly
// what it is given in AWS: its own tables and nothing else, its cursor key
// only if it pages or signs links, and the issuers and app clients every
// token is checked against.
//
// Build fails closed: a missing setting stops the function at init, where
// Lambda reports it, never inside a request.
package compose

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/linktoken"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/store"
)

// Source is where one environment's dependencies come from.
type Source struct {
	// Env reads a setting (package envvar names them): os.Getenv on
	// Lambda, the function's own map locally.
	Env func(string) string
	// DynamoDB is the client the function's store uses. Locally it is
	// wrapped in the function's IAM guard.
	DynamoDB store.API
	// CursorKey reads the cursor signing key from the secret the function
	// is told about. It is called only for functions that page.
	CursorKey func(ctx context.Context, secretARN string) ([]byte, error)
	// Log receives the handler's logs; nil means slog.Default().
	Log *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Blobs signs attachment requests, for the functions with
	// routes.BlobSign (package lambdaapp/blobs builds it on Lambda, so
	// that no other bootstrap links the S3 client).
	Blobs app.Blobs
}

// Build makes the named function's dependencies from routes.Functions():
// a store over the tables the function is granted (the others have no
// name, so no code path can reach them), the cursor key only when the
// function is given it (routes.Function.Cursors) — as a cursor codec and
// as the raw key the handler derives its e-mail link signer from (package
// linktoken keeps the two signatures apart) — and both audiences' issuer
// and app client. Every setting the function needs is required.
func Build(ctx context.Context, function string, src Source) (api.Deps, error) {
	f, ok := routes.FunctionNamed(function)
	if !ok || f.Trigger != routes.HTTP {
		return api.Deps{}, fmt.Errorf("unknown function %q", function)
	}
	if servesLinks(function) && !f.Cursors {
		// The link signer's key is the cursor key: without it every
		// unsubscribe link would be refused.
		return api.Deps{}, fmt.Errorf("function %s verifies e-mail links but is given no cursor key (routes.Function.Cursors)", function)
	}
	if src.Env == nil || src.DynamoDB == nil {
		return api.Deps{}, fmt.Errorf("function %s: compose.Source needs Env and DynamoDB", function)
	}
	auds := authz.Audiences{
		domain.SidePortal: {Issuer: src.Env(envvar.PortalIssuer), ClientID: src.Env(envvar.PortalClientID)},
		domain.SideStaff:  {Issuer: src.Env(envvar.StaffIssuer), ClientID: src.Env(envvar.StaffClientID)},
	}
	var missing []string
	for name, v := range map[string]string{
		envvar.PortalIssuer: auds[domain.SidePortal].Issuer, envvar.PortalClientID: auds[domain.SidePortal].ClientID,
		envvar.StaffIssuer: auds[domain.SideStaff].Issuer, envvar.StaffClientID: auds[domain.SideStaff].ClientID,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	// Only granted tables are named; each of them must be.
	for _, table := range slices.Sorted(maps.Keys(f.Tables)) {
		if src.Env(envvar.Table(table)) == "" {
			missing = append(missing, envvar.Table(table))
		}
	}
	if f.Blobs == routes.BlobSign && src.Blobs == nil {
		return api.Deps{}, fmt.Errorf("function %s signs attachment requests but compose.Source has no Blobs", function)
	}
	if f.Cursors && src.Env(envvar.CursorSecret) == "" {
		missing = append(missing, envvar.CursorSecret)
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return api.Deps{}, fmt.Errorf("function %s: missing settings %v", function, missing)
	}
	log := src.Log
	if log == nil {
		log = slog.Default()
	}
	deps := api.Deps{
		Store:     store.New(src.DynamoDB, tablesOf(f, src.Env)),
		Audiences: auds,
		Log:       log,
		Now:       src.Now,
	}
	if f.Blobs == routes.BlobSign {
		deps.Blobs = src.Blobs
	}
	if v := src.Env(envvar.DailyWriteLimit); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return api.Deps{}, fmt.Errorf("function %s: %s must be a positive whole number, not %q", function, envvar.DailyWriteLimit, v)
		}
		deps.DailyWriteLimit = n
	}
	if f.Cursors {
		if src.CursorKey == nil {
			return api.Deps{}, fmt.Errorf("function %s pages but compose.Source has no CursorKey reader", function)
		}
		key, err := src.CursorKey(ctx, src.Env(envvar.CursorSecret))
		if err != nil {
			return api.Deps{}, fmt.Errorf("function %s: read cursor key: %w", function, err)
		}
		if deps.Cursors, err = cursor.New(key); err != nil {
			return api.Deps{}, fmt.Errorf("function %s: %w", function, err)
		}
		if _, err := linktoken.New(key); err != nil {
			return api.Deps{}, fmt.Errorf("function %s: %w", function, err)
		}
		deps.LinkKey = key
	}
	return deps, nil
}

// servesLinks reports whether function serves a route that verifies a
// signed e-mail link.
func servesLinks(function string) bool {
	for _, r := range routes.All() {
		if r.Function == function && r.Op == routes.OpUnsubscribe {
			return true
		}
	}
	return false
}

// tablesOf names the tables f is granted from env; the others stay "",
// even if env names them.
func tablesOf(f routes.Function, env func(string) string) store.Tables {
	return store.TablesFrom(func(logical string) string {
		if _, granted := f.Tables[logical]; !granted {
			return ""
		}
		return env(envvar.Table(logical))
	})
}
