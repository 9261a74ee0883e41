package lambdaapp

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

// setEnv sets what infra sets for every function, and clears the rest.
func setEnv(t *testing.T) {
	t.Helper()
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv(envvar.PortalIssuer, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_p")
	t.Setenv(envvar.StaffIssuer, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_s")
	t.Setenv(envvar.PortalClientID, "portalclient")
	t.Setenv(envvar.StaffClientID, "staffclient")
	t.Setenv(envvar.CursorSecret, "")
	for _, tbl := range schema.Tables() {
		t.Setenv(envvar.Table(tbl.Name), "")
	}
}

func TestLoadNeedsOnlyTheTablesAFunctionIsGiven(t *testing.T) {
	setEnv(t)
	if _, err := Load(t.Context(), slog.Default(), routes.FnDirectory); err == nil {
		t.Fatal("Load accepted no table at all")
	}
	// The directory function is given TABLE_DIRECTORY and TABLE_AUDIT only.
	t.Setenv(envvar.Table(schema.Directory), "Stack-Directory-ABC")
	if _, err := Load(t.Context(), slog.Default(), routes.FnDirectory); err == nil || !strings.Contains(err.Error(), "TABLE_AUDIT") {
		t.Fatalf("Load without TABLE_AUDIT: %v", err)
	}
	t.Setenv(envvar.Table(schema.Audit), "Stack-Audit-ABC")
	deps, err := Load(t.Context(), slog.Default(), routes.FnDirectory)
	if err != nil {
		t.Fatalf("Load with the directory function's tables: %v", err)
	}
	if deps.Store == nil || deps.Cursors != nil {
		t.Fatalf("deps = %+v", deps)
	}
	if a := deps.Audiences[domain.SideStaff]; a.Issuer == "" || a.ClientID != "staffclient" {
		t.Fatalf("staff audience = %+v", a)
	}
}

func TestLoadFailsClosed(t *testing.T) {
	setEnv(t)
	t.Setenv(envvar.Table(schema.Directory), "d")
	t.Setenv(envvar.Table(schema.Messages), "m")
	t.Setenv(envvar.Table(schema.Audit), "a")
	t.Setenv(envvar.StaffClientID, "")
	if _, err := Load(t.Context(), slog.Default(), routes.FnDirectory); err == nil {
		t.Error("Load accepted a missing app client ID")
	}
	t.Setenv(envvar.StaffClientID, "staffclient")
	t.Setenv(envvar.StaffIssuer, "")
	if _, err := Load(t.Context(), slog.Default(), routes.FnDirectory); err == nil {
		t.Error("Load accepted a missing issuer")
	}
	t.Setenv(envvar.StaffIssuer, "https://s")
	// A paging function without its cursor setting stops at init, before
	// Secrets Manager is ever asked.
	if _, err := Load(t.Context(), slog.Default(), routes.FnListConversations); err == nil || !strings.Contains(err.Error(), envvar.CursorSecret) {
		t.Errorf("a paging function started without its cursor key: %v", err)
	}
	if _, err := Load(t.Context(), slog.Default(), "no-such-function"); err == nil {
		t.Error("Load accepted an unknown function")
	}
}
