package stack_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The CDK app must not link handler wiring or SDK clients: it shares only
// definitions (routes, schema, grants, envvar, the store's header
// attributes) with the functions, never their composition.
func TestCDKAppImportsNoHandlerWiringOrSDKClients(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/pedsportal/messaging/infra/app").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v: %s", err, out)
	}
	forbidden := []string{
		"github.com/pedsportal/messaging/internal/api",
		"github.com/pedsportal/messaging/internal/lambdaapp",
		"github.com/pedsportal/messaging/internal/compose",
		"github.com/pedsportal/messaging/internal/devstack",
		"github.com/pedsportal/messaging/internal/localdev/iamguard",
		"github.com/aws/aws-lambda-go/lambda",
		"github.com/aws/aws-sdk-go-v2/config",
		"github.com/aws/aws-sdk-go-v2/service/secretsmanager",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if pkg == f {
				t.Errorf("the CDK app imports %s", pkg)
			}
		}
	}
}
