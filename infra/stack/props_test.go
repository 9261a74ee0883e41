package stack_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/infra/stack"
	"github.com/pedsportal/messaging/internal/routes"
)

func contextNode(ctx map[string]any) awscdk.App {
	return awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
}

func TestPropsFromContext(t *testing.T) {
	base := stack.Props{FunctionsDir: "f", SiteDir: "s"}
	// GIVEN `cdk deploy -c ...` values, which arrive as strings
	app := contextNode(map[string]any{
		"domainName": "messages.example.org", "certificateArn": "arn:cert",
		"apiDomainName": "api.messages.example.org", "apiCertificateArn": "arn:regional",
		"waf": "true", "alarmEmail": "ops@example.org", "reservedConcurrency": "5", "logLevel": "DEBUG",
	})
	// WHEN they are read
	p, err := stack.PropsFromContext(app.Node(), base)
	// THEN every option is set
	if err != nil {
		t.Fatal(err)
	}
	if p.DomainName != "messages.example.org" || p.CertificateArn != "arn:cert" || p.APIDomainName != "api.messages.example.org" ||
		p.APICertificateArn != "arn:regional" || !p.WAF || p.AlarmEmail != "ops@example.org" || p.ReservedConcurrency != 5 || p.LogLevel != "DEBUG" {
		t.Errorf("props = %+v", p)
	}
	// AND the notification sender settings are read
	p, err = stack.PropsFromContext(contextNode(map[string]any{
		"mailFrom": "Practice <n@messages.example.org>", "sesIdentityArn": testSESIdentity, "smsOriginationIdentity": "pool-0123abcd",
	}).Node(), base)
	if err != nil || p.MailFrom != "Practice <n@messages.example.org>" || p.SESIdentityARN != testSESIdentity || p.SMSOriginationIdentity != "pool-0123abcd" {
		t.Errorf("sender settings: %+v, %v", p, err)
	}
	// AND cdk.json's typed values work too
	p, err = stack.PropsFromContext(contextNode(map[string]any{"waf": false, "reservedConcurrency": 3}).Node(), base)
	if err != nil || p.WAF || p.ReservedConcurrency != 3 {
		t.Errorf("typed context: %+v, %v", p, err)
	}
}

func TestPropsRejectsSettingsThatCannotDeploy(t *testing.T) {
	base := stack.Props{FunctionsDir: "f", SiteDir: "s"}
	tests := map[string]map[string]any{
		"domain without certificate": {"domainName": "x.example.org"},
		"api domain without cert":    {"apiDomainName": "api.example.org"},
		"waf not a bool":             {"waf": "yes please"},
		"concurrency not a number":   {"reservedConcurrency": "lots"},
		"concurrency zero":           {"reservedConcurrency": "0"},
		"unknown log level":          {"logLevel": "CHATTY"},
		"mailFrom not an address":    {"mailFrom": "notifications"},
		"identity without mailFrom":  {"sesIdentityArn": testSESIdentity},
		"identity not an SES ARN":    {"mailFrom": "n@example.org", "sesIdentityArn": "arn:aws:iam::123456789012:role/x"},
		// IAM can only be limited to an origination identity named by ARN
		// (or an ID the stack turns into one), never a bare number.
		"SMS origin a phone number": {"smsOriginationIdentity": "+15555550100"},
		"SMS origin not SMS":        {"smsOriginationIdentity": "arn:aws:sns:us-east-1:123456789012:topic"},
	}
	for name, ctx := range tests {
		if _, err := stack.PropsFromContext(contextNode(ctx).Node(), base); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := stack.PropsFromContext(contextNode(nil).Node(), stack.Props{}); err == nil {
		t.Error("missing FunctionsDir accepted")
	}
}

func TestStackRefusesWAFOutsideUSEast1AndMissingBuilds(t *testing.T) {
	// GIVEN a WAF request in a region where CloudFront web ACLs cannot live
	app := awscdk.NewApp(nil)
	_, err := stack.NewMessagingStack(app, "Waf", stack.Props{
		StackProps:   awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String(testAccount), Region: jsii.String("eu-west-1")}},
		FunctionsDir: t.TempDir(), SiteDir: t.TempDir(), WAF: true,
	})
	// THEN the stack says so before CloudFormation would
	if err == nil || !strings.Contains(err.Error(), "us-east-1") {
		t.Errorf("err = %v", err)
	}
	// AND a missing bootstrap names `make build`
	_, err = stack.NewMessagingStack(app, "NoBuild", stack.Props{
		StackProps:   awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String(testAccount), Region: jsii.String(testRegion)}},
		FunctionsDir: t.TempDir(), SiteDir: t.TempDir(),
	})
	if err == nil || !strings.Contains(err.Error(), "make build") {
		t.Errorf("err = %v", err)
	}
}

func TestSMSOriginationIDsBecomeARNsOfTheStacksAccount(t *testing.T) {
	// GIVEN a stack whose SMS origination identity is a phone-number ID
	dir := t.TempDir()
	for _, f := range routes.Functions() {
		if err := os.MkdirAll(filepath.Join(dir, f.Name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name, "bootstrap"), []byte("x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	site, err := siteFolder()
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := cdkContext()
	if err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(t.TempDir())})
	var s awscdk.Stack
	if err := catch(func() {
		s, err = stack.NewMessagingStack(app, "Sms", stack.Props{
			StackProps:   awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String(testAccount), Region: jsii.String(testRegion)}},
			FunctionsDir: dir, SiteDir: site,
			MailFrom: "n@messages.example.org", SMSOriginationIdentity: "phone-0123abcd",
		})
	}); err != nil || s == nil {
		t.Fatalf("stack: %v", err)
	}
	// WHEN we read the flusher's environment
	var tpl map[string]any
	if err := catch(func() {
		raw, _ := json.Marshal(assertions.Template_FromStack(s, nil).ToJSON())
		err = json.Unmarshal(raw, &tpl)
	}); err != nil {
		t.Fatal(err)
	}
	syn := synthesized{json: tpl}
	vars, _ := path(functionResource(t, syn, routes.FnNotifyFlush).Props, "Environment", "Variables").(map[string]any)
	// THEN it sends from that number's ARN in the stack's account and
	// region, and its identity defaults to the sender's domain
	if got, _ := resolveString(vars["SMS_ORIGINATION_IDENTITY"]); got != "arn:aws:sms-voice:us-east-1:123456789012:phone-number/phone-0123abcd" {
		t.Errorf("SMS_ORIGINATION_IDENTITY = %v", vars["SMS_ORIGINATION_IDENTITY"])
	}
	if got, _ := resolveString(vars["MAIL_FROM_ARN"]); got != "arn:aws:ses:us-east-1:123456789012:identity/messages.example.org" {
		t.Errorf("MAIL_FROM_ARN = %v", vars["MAIL_FROM_ARN"])
	}
}
