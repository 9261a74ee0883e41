package stack_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// finding is one annotation: the construct path and its message.
type finding struct {
	Path    string
	Message string
}

// nagFindings returns the error or warning annotations on a stack. They are
// read through JSON so as not to name cxapi's deprecated message type.
func nagFindings(t *testing.T, s synthesized, level string) []finding {
	t.Helper()
	annotations := assertions.Annotations_FromStack(s.stack)
	var raw []byte
	check(t, "annotations", func() {
		var err error
		if level == "error" {
			raw, err = json.Marshal(annotations.FindError(jsii.String("*"), assertions.Match_AnyValue()))
		} else {
			raw, err = json.Marshal(annotations.FindWarning(jsii.String("*"), assertions.Match_AnyValue()))
		}
		if err != nil {
			panic(err)
		}
	})
	var msgs []struct {
		ID    string `json:"id"`
		Entry struct {
			Data any `json:"data"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(raw, &msgs); err != nil {
		t.Fatalf("annotations: %v", err)
	}
	out := make([]finding, 0, len(msgs))
	for _, m := range msgs {
		out = append(out, finding{Path: m.ID, Message: firstLine(fmt.Sprint(m.Entry.Data))})
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

func TestCdkNagPacksReportNoUnsuppressedError(t *testing.T) {
	// GIVEN both stacks checked by the AwsSolutions, HIPAA Security and
	// Serverless packs (added in TestMain, as the app does)
	for name, s := range map[string]synthesized{"full": full, "plain": plain} {
		// WHEN we read the error annotations
		errs := nagFindings(t, s, "error")
		// THEN there are none
		for _, e := range errs {
			t.Errorf("%s: %s %s", name, e.Path, e.Message)
		}
		// (warnings are advice; list them for the reader)
		for _, w := range nagFindings(t, s, "warning") {
			t.Logf("%s warning: %s %s", name, w.Path, w.Message)
		}
	}
}

var nagRuleID = regexp.MustCompile(`^(AwsSolutions|HIPAA\.Security|Serverless)-[A-Za-z0-9]+$`)

func TestEverySuppressionIsScopedAndExplained(t *testing.T) {
	// GIVEN the cdk-nag suppressions in the template's metadata
	n := 0
	for _, s := range []synthesized{full, plain} {
		if md := path(s.json, "Metadata", "cdk_nag"); md != nil {
			t.Errorf("stack-wide suppression: %v", md)
		}
		for id, v := range s.json["Resources"].(map[string]any) {
			for _, sup := range asList(path(v, "Metadata", "cdk_nag", "rules_to_suppress")) {
				n++
				// THEN each names one rule, gives a specific reason, and sits on one resource
				rule, _ := path(sup, "id").(string)
				reason, _ := path(sup, "reason").(string)
				if !nagRuleID.MatchString(rule) {
					t.Errorf("%s: suppression of %q is not one rule", id, rule)
				}
				if len(reason) < 60 {
					t.Errorf("%s: %s reason too thin: %q", id, rule, reason)
				}
				if (rule == "AwsSolutions-IAM5" || rule == "AwsSolutions-IAM4") && path(sup, "applies_to") == nil {
					t.Errorf("%s: %s suppressed for every finding, not the exact ones", id, rule)
				}
			}
		}
	}
	if n == 0 {
		t.Error("no suppression found: is the metadata still read?")
	}
}

func TestCfnLintFindsNoError(t *testing.T) {
	// GIVEN cfn-lint, when the machine has it
	bin, err := exec.LookPath("cfn-lint")
	if err == nil {
		err = exec.Command(bin, "--version").Run() // a pyenv shim may exist without the tool
	}
	if err != nil {
		t.Skipf("cfn-lint not available (%v); install it with pip to run this check", err)
	}
	dir := t.TempDir()
	var files []string
	for name, s := range map[string]synthesized{"full": full, "plain": plain} {
		raw, err := json.Marshal(s.json)
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name+".template.json")
		if err := os.WriteFile(file, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}
	// WHEN it lints both synthesized templates
	out, err := exec.Command(bin, append([]string{"--format", "parseable", "--"}, files...)...).CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("cfn-lint: %v", err)
	}
	// THEN it reports no error (exit bits 1 and 2); warnings are logged
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		line = strings.TrimPrefix(line, dir+string(filepath.Separator))
		switch {
		case line == "":
		case strings.Contains(line, ":E"):
			t.Error(line)
		default:
			t.Log(line)
		}
	}
	if code&3 != 0 {
		t.Errorf("cfn-lint exit %d", code)
	}
}
