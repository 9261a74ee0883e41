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
	if _, err := Load(t.Context(), slog.Default()); err == nil {
		t.Fatal("Load accepted no table at all")
	}
	// The directory function gets TABLE_DIRECTORY only.
	t.Setenv(EnvTableDirectory, "Stack-Directory-ABC")
	t.Setenv(EnvStaffIssuer, "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_x")
	deps, err := Load(t.Context(), slog.Default())
	if err != nil {
		t.Fatalf("Load with only TABLE_DIRECTORY: %v", err)
	}
	if deps.Store == nil || deps.Cursors != nil || deps.Issuers["staff"] == "" {
		t.Fatalf("deps = %+v", deps)
	}
}
