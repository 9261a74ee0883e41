package lambdaapp

import (
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/lambdaapp/secretkey"
	"github.com/pedsportal/messaging/internal/localdev/secretslocal"
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
	if _, err := Load(t.Context(), slog.Default(), routes.FnDirectory, nil); err == nil {
		t.Fatal("Load accepted no table at all")
	}
	// The directory function is given TABLE_DIRECTORY and TABLE_AUDIT only.
	t.Setenv(envvar.Table(schema.Directory), "Stack-Directory-ABC")
	if _, err := Load(t.Context(), slog.Default(), routes.FnDirectory, nil); err == nil || !strings.Contains(err.Error(), "TABLE_AUDIT") {
		t.Fatalf("Load without TABLE_AUDIT: %v", err)
	}
	t.Setenv(envvar.Table(schema.Audit), "Stack-Audit-ABC")
	deps, err := Load(t.Context(), slog.Default(), routes.FnDirectory, nil)
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
	if _, err := Load(t.Context(), slog.Default(), routes.FnDirectory, nil); err == nil {
		t.Error("Load accepted a missing app client ID")
	}
	t.Setenv(envvar.StaffClientID, "staffclient")
	t.Setenv(envvar.StaffIssuer, "")
	if _, err := Load(t.Context(), slog.Default(), routes.FnDirectory, nil); err == nil {
		t.Error("Load accepted a missing issuer")
	}
	t.Setenv(envvar.StaffIssuer, "https://s")
	// A paging function without its cursor setting stops at init, before
	// Secrets Manager is ever asked.
	if _, err := Load(t.Context(), slog.Default(), routes.FnListConversations, secretkey.Read); err == nil || !strings.Contains(err.Error(), envvar.CursorSecret) {
		t.Errorf("a paging function started without its cursor key: %v", err)
	}
	if _, err := Load(t.Context(), slog.Default(), "no-such-function", nil); err == nil {
		t.Error("Load accepted an unknown function")
	}
}

// A function that pages reads its cursor key from Secrets Manager at init,
// here the local stand-in reached as in AWS through
// AWS_ENDPOINT_URL_SECRETS_MANAGER, and fails closed when the secret is
// not there, the credentials are refused, or main passes no reader.
func TestPagingFunctionReadsItsKeyFromSecretsManager(t *testing.T) {
	setEnv(t)
	const arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:cursor-AbCdEf"
	sm, err := secretslocal.Start(secretslocal.Config{
		Secrets:     []secretslocal.Secret{{ARN: arn, Name: "cursor", Value: strings.Repeat("k", 32)}},
		AccessKeyID: "local", SecretAccessKey: "local-secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sm.Close() })
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", sm.Endpoint())
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	for _, tbl := range []string{schema.Directory, schema.Messages, schema.Audit} {
		t.Setenv(envvar.Table(tbl), "t-"+tbl)
	}
	t.Setenv(envvar.CursorSecret, arn)
	deps, err := Load(t.Context(), slog.Default(), routes.FnListConversations, secretkey.Read)
	if err != nil {
		t.Fatalf("Load with the secret in place: %v", err)
	}
	if deps.Cursors == nil || string(deps.LinkKey) != strings.Repeat("k", 32) || sm.Calls() != 1 {
		t.Fatalf("codec %v, link key %q, %d secret reads", deps.Cursors != nil, deps.LinkKey, sm.Calls())
	}
	if _, err := Load(t.Context(), slog.Default(), routes.FnListConversations, nil); err == nil {
		t.Error("a paging function started with no key reader")
	}
	t.Setenv(envvar.CursorSecret, arn+"-gone")
	if _, err := Load(t.Context(), slog.Default(), routes.FnListConversations, secretkey.Read); err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("a paging function started without its secret: %v", err)
	}
	t.Setenv(envvar.CursorSecret, arn)
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	if _, err := Load(t.Context(), slog.Default(), routes.FnListConversations, secretkey.Read); err == nil {
		t.Error("a paging function started with refused credentials")
	}
}

// Exactly the functions given the cursor key link the Secrets Manager
// client: their mains, and only theirs, pass secretkey.Read.
func TestOnlyFunctionsGivenTheKeyLinkSecretsManager(t *testing.T) {
	for _, f := range routes.Functions() {
		deps, err := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "../../functions/"+f.Name).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", f.Name, err)
		}
		links := slices.Contains(strings.Fields(string(deps)), "github.com/aws/aws-sdk-go-v2/service/secretsmanager")
		if links != f.Cursors {
			t.Errorf("%s links Secrets Manager: %v; is given the cursor key: %v", f.Name, links, f.Cursors)
		}
	}
}
