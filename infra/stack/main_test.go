package stack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/infra/stack"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/web"
)

// Test settings of the fully optioned stack.
const (
	testAccount        = "123456789012"
	testRegion         = "us-east-1"
	testDomain         = "messages.example.org"
	testCertificateArn = "arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555"
	testAPIDomain      = "api.messages.example.org"
	testAlarmEmail     = "ops@example.org"
	testMailFrom       = "Maple Grove Pediatrics <notifications@messages.example.org>"
	testMailAddress    = "notifications@messages.example.org"
	testSESIdentity    = "arn:aws:ses:us-east-1:123456789012:identity/messages.example.org"
	testSMSOrigin      = "arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-0123456789abcdef"
)

// synthesized is one stack, synthesized once per test binary: synthesis
// takes seconds, so every test reads these.
type synthesized struct {
	stack    awscdk.Stack
	template assertions.Template
	json     map[string]any // the template, for loops in plain Go
}

var (
	// full has every option on: custom domains, WAF, alarm e-mail, the
	// notification sender and an SMS origination identity.
	full synthesized
	// plain has the defaults: no domain, no WAF, no e-mail, no sender.
	plain synthesized
)

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		code = 1
	}
	jsii.Close()
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	tmp, err := os.MkdirTemp("", "infra-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)

	// The stack only needs a bootstrap file per function, not a real build.
	functions := filepath.Join(tmp, "functions")
	for _, f := range routes.Functions() {
		dir := filepath.Join(functions, f.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("dummy "+f.Name), 0o755); err != nil {
			return 0, err
		}
	}
	siteDir, err := siteFolder()
	if err != nil {
		return 0, err
	}

	// The same context as `cdk synth` (feature flags in infra/cdk.json).
	context, err := cdkContext()
	if err != nil {
		return 0, err
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(filepath.Join(tmp, "cdk.out")), Context: &context})
	env := &awscdk.Environment{Account: jsii.String(testAccount), Region: jsii.String(testRegion)}
	fullStack, err := stack.NewMessagingStack(app, "Full", stack.Props{
		StackProps:             awscdk.StackProps{Env: env},
		FunctionsDir:           functions,
		SiteDir:                siteDir,
		DomainName:             testDomain,
		CertificateArn:         testCertificateArn,
		APIDomainName:          testAPIDomain,
		APICertificateArn:      testCertificateArn,
		WAF:                    true,
		AlarmEmail:             testAlarmEmail,
		MailFrom:               testMailFrom,
		SESIdentityARN:         testSESIdentity,
		SMSOriginationIdentity: testSMSOrigin,
	})
	if err != nil {
		return 0, err
	}
	plainStack, err := stack.NewMessagingStack(app, "Plain", stack.Props{
		StackProps:   awscdk.StackProps{Env: env},
		FunctionsDir: functions,
		SiteDir:      siteDir,
	})
	if err != nil {
		return 0, err
	}
	stack.AddNagChecks(app, false)

	for _, s := range []struct {
		dst   *synthesized
		stack awscdk.Stack
	}{{&full, fullStack}, {&plain, plainStack}} {
		var tpl assertions.Template
		if err := catch(func() { tpl = assertions.Template_FromStack(s.stack, nil) }); err != nil {
			return 0, err
		}
		raw, err := json.Marshal(tpl.ToJSON())
		if err != nil {
			return 0, err
		}
		*s.dst = synthesized{stack: s.stack, template: tpl}
		if err := json.Unmarshal(raw, &s.dst.json); err != nil {
			return 0, err
		}
	}
	return m.Run(), nil
}

// repoRoot is the module root, two folders up from this file.
func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("no caller")
	}
	return filepath.Join(filepath.Dir(file), "..", ".."), nil
}

// siteFolder is web.SiteDir, the folder the local server serves.
func siteFolder() (string, error) {
	root, err := repoRoot()
	return filepath.Join(root, web.SiteDir), err
}

// cdkContext reads the context (feature flags) of infra/cdk.json.
func cdkContext() (map[string]any, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(filepath.Join(root, "infra", "cdk.json"))
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("infra/cdk.json: %w", err)
	}
	return cfg.Context, nil
}

// catch turns a panic (a failed assertions check, a jsii error) into an
// error, so one failing check does not abort the whole test binary.
func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	f()
	return nil
}

// check runs an assertions call and reports its failure on t.
func check(t *testing.T, what string, f func()) {
	t.Helper()
	if err := catch(f); err != nil {
		t.Errorf("%s: %v", what, err)
	}
}
