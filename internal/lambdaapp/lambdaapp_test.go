package lambdaapp

import (
	"log/slog"
	"testing"

	"github.com/pedsportal/messaging/internal/schema"
)

func TestTableEnvMatchesConstants(t *testing.T) {
	for logical, want := range map[string]string{schema.Directory: EnvTableDirectory, schema.Messages: EnvTableMessages, schema.Audit: EnvTableAudit} {
		if got := TableEnv(logical); got != want {
			t.Errorf("TableEnv(%s) = %s, want %s", logical, got, want)
		}
	}
}

func TestLoadNeedsOnlyTheTablesAFunctionIsGiven(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv(EnvTableMessages, "")
	t.Setenv(EnvTableAudit, "")
	t.Setenv(EnvCursorSecret, "")
	t.Setenv(EnvTableDirectory, "")
	t.Setenv(EnvStaffIssuer, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_s")
	t.Setenv(EnvPortalIssuer, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_p")
	if _, err := Load(t.Context(), slog.Default(), "directory"); err == nil {
		t.Fatal("Load accepted no table at all")
	}
	// The directory function gets TABLE_DIRECTORY only.
	t.Setenv(EnvTableDirectory, "Stack-Directory-ABC")
	deps, err := Load(t.Context(), slog.Default(), "directory")
	if err != nil {
		t.Fatalf("Load with only TABLE_DIRECTORY: %v", err)
	}
	if deps.Store == nil || deps.Cursors != nil || deps.Issuers["staff"] == "" {
		t.Fatalf("deps = %+v", deps)
	}
}

func TestLoadFailsClosed(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv(EnvTableDirectory, "d")
	t.Setenv(EnvPortalIssuer, "https://p")
	t.Setenv(EnvStaffIssuer, "")
	if _, err := Load(t.Context(), slog.Default(), "directory"); err == nil {
		t.Error("Load accepted a missing issuer")
	}
	t.Setenv(EnvStaffIssuer, "https://s")
	t.Setenv(EnvCursorSecret, "")
	if _, err := Load(t.Context(), slog.Default(), "list-conversations"); err == nil {
		t.Error("a paging function started without its cursor key")
	}
	if _, err := Load(t.Context(), slog.Default(), "no-such-function"); err == nil {
		t.Error("Load accepted an unknown function")
	}
}
