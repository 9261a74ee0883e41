package stack_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pedsportal/messaging/infra/stack"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

func TestAlarmsNotifyTheEncryptedOperationsTopic(t *testing.T) {
	// GIVEN the operations topic (the other topic carries SES events)
	topic := full.withPrefix(t, "AWS::SNS::Topic", "AlarmTopic")
	key := full.only(t, "AWS::KMS::Key").ID
	// THEN it is encrypted with the key and accepts TLS only
	if !getAtt(topic.Props["KmsMasterKeyId"], key, "Arn") {
		t.Errorf("topic KmsMasterKeyId = %v", topic.Props["KmsMasterKeyId"])
	}
	tlsOnly := false
	for _, st := range statements(path(full.withPrefix(t, "AWS::SNS::TopicPolicy", "AlarmTopic").Props, "PolicyDocument")) {
		if st["Effect"] == "Deny" && path(st, "Condition", "Bool", "aws:SecureTransport") == "false" {
			tlsOnly = true
		}
	}
	if !tlsOnly {
		t.Error("topic policy does not deny non-TLS publishing")
	}
	// AND the alarm e-mail is subscribed
	sub := full.withPrefix(t, "AWS::SNS::Subscription", "AlarmTopic")
	if sub.Props["Protocol"] != "email" || sub.Props["Endpoint"] != testAlarmEmail || refID(sub.Props["TopicArn"]) != topic.ID {
		t.Errorf("subscription %v", sub.Props)
	}

	// WHEN we read every alarm
	alarms := full.resources("AWS::CloudWatch::Alarm")
	covered := map[string]bool{}
	for _, a := range alarms {
		// THEN each notifies the topic on alarm and on recovery
		if len(asList(a.Props["AlarmActions"])) != 1 || refID(asList(a.Props["AlarmActions"])[0]) != topic.ID ||
			len(asList(a.Props["OKActions"])) != 1 {
			t.Errorf("%s actions %v / %v", a.ID, a.Props["AlarmActions"], a.Props["OKActions"])
		}
		for _, m := range asList(a.Props["Metrics"]) {
			covered[jsonString(path(m, "MetricStat", "Metric", "MetricName"))] = true
		}
		if n := path(a.Props, "MetricName"); n != nil {
			covered[n.(string)] = true
		}
	}
	// AND they cover API 5xx, function errors and throttles, table
	// throttles and system errors
	for _, metric := range []string{"5xx", "Errors", "Throttles", "ThrottledRequests", "SystemErrors"} {
		if !covered[metric] {
			t.Errorf("no alarm on %s (covered: %v)", metric, sortedKeys(covered))
		}
	}
	// AND there is one errors and one throttles alarm per function, two per
	// table, the write-cap alarm, the notification path's seven (two
	// dead-letter queues, failed sends, and SES bounce and complaint rates
	// for the configuration set and the account) and the scan results'
	// dead-letter queue
	if got, want := len(alarms), 1+2*len(routes.Functions())+2*len(schema.Tables())+1+7+1; got != want {
		t.Errorf("%d alarms, want %d", got, want)
	}
	// AND the 5xx alarm is a rate
	rate := false
	for _, a := range alarms {
		for _, m := range asList(a.Props["Metrics"]) {
			if e, _ := path(m, "Expression").(string); strings.Contains(e, "errors / requests") {
				rate = true
			}
		}
	}
	if !rate {
		t.Error("no API 5xx rate alarm")
	}
	// AND without an e-mail the alarm topic has no subscription
	for _, sub := range plain.resources("AWS::SNS::Subscription") {
		if refID(sub.Props["TopicArn"]) == plain.withPrefix(t, "AWS::SNS::Topic", "AlarmTopic").ID {
			t.Errorf("plain: subscription %s to the alarm topic", sub.ID)
		}
	}
}

func TestWriteCapReachedRaisesAnAlarm(t *testing.T) {
	for name, s := range map[string]synthesized{"full": full, "plain": plain} {
		// GIVEN the write-message function's own log group
		fn := s.withPrefix(t, "AWS::Lambda::Function", "WriteMessageFunction")
		logGroup := refID(path(fn.Props, "LoggingConfig", "LogGroup"))
		if logGroup == "" {
			t.Fatalf("%s: write-message has no log group of its own: %v", name, fn.Props["LoggingConfig"])
		}
		// THEN a metric filter on it counts the "write cap reached" line,
		// under slog's key (msg) or the Lambda logger's (message)
		var filter *resource
		for _, f := range s.resources("AWS::Logs::MetricFilter") {
			if refID(f.Props["LogGroupName"]) == logGroup {
				filter = &f
			}
		}
		if filter == nil {
			t.Fatalf("%s: no metric filter on the write-message log group", name)
		}
		pattern, _ := filter.Props["FilterPattern"].(string)
		for _, want := range []string{`$.msg = "write cap reached"`, `$.message = "write cap reached"`} {
			if !strings.Contains(pattern, want) {
				t.Errorf("%s: filter pattern %q lacks %s", name, pattern, want)
			}
		}
		if !strings.HasPrefix(strings.TrimSpace(pattern), "{") || !strings.Contains(pattern, "||") {
			t.Errorf("%s: filter pattern %q is not a JSON pattern matching either key", name, pattern)
		}
		transforms := asList(filter.Props["MetricTransformations"])
		if len(transforms) != 1 {
			t.Fatalf("%s: metric transformations %v", name, transforms)
		}
		mt := transforms[0]
		wantNS := stack.WriteCapNamespace(*s.stack.StackName())
		if path(mt, "MetricName") != stack.WriteCapMetric || path(mt, "MetricNamespace") != wantNS || path(mt, "MetricValue") != "1" {
			t.Errorf("%s: metric transformation %v, want %s/%s = 1", name, mt, wantNS, stack.WriteCapMetric)
		}
		// AND an alarm on that metric notifies the topic at 1 or more in 5 minutes
		topic := s.withPrefix(t, "AWS::SNS::Topic", "AlarmTopic").ID
		var found bool
		for _, a := range s.resources("AWS::CloudWatch::Alarm") {
			p := a.Props
			if p["MetricName"] != stack.WriteCapMetric || p["Namespace"] != wantNS {
				continue
			}
			found = true
			if p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" || p["Threshold"] != float64(1) ||
				p["Period"] != float64(300) || p["Statistic"] != "Sum" ||
				p["EvaluationPeriods"] != float64(1) || p["DatapointsToAlarm"] != float64(1) ||
				p["TreatMissingData"] != "notBreaching" {
				t.Errorf("%s: write-cap alarm %v, want Sum >= 1 over one 5-minute period", name, p)
			}
			if acts := asList(p["AlarmActions"]); len(acts) != 1 || refID(acts[0]) != topic {
				t.Errorf("%s: write-cap alarm actions %v", name, p["AlarmActions"])
			}
		}
		if !found {
			t.Errorf("%s: no alarm on %s/%s", name, wantNS, stack.WriteCapMetric)
		}
	}
}

func TestOutputs(t *testing.T) {
	// GIVEN the synthesized stacks THEN they export what DevOps and the pages need
	want := []string{"AlarmTopicArn", "ApiUrl", "DirectoryTableName", "PortalAuthDomain", "PortalClientId", "PortalUserPoolId",
		"SiteDnsTarget", "SiteUrl", "StaffAuthDomain", "StaffClientId", "StaffUserPoolId"}
	outputs := plain.json["Outputs"].(map[string]any)
	for _, name := range want {
		if _, ok := outputs[name]; !ok {
			t.Errorf("no output %s (have %v)", name, sortedKeys(outputs))
		}
	}
	if _, ok := full.json["Outputs"].(map[string]any)["ApiDnsTarget"]; !ok {
		t.Error("full: no ApiDnsTarget output")
	}
	if got := full.json["Outputs"].(map[string]any)["ApiUrl"].(map[string]any)["Value"]; got != "https://"+testAPIDomain {
		t.Errorf("full ApiUrl = %v", got)
	}
	if !slices.Contains(sortedKeys(outputs), "SiteUrl") {
		t.Error("no SiteUrl")
	}
}
