package stack_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

func TestAlarmsNotifyTheEncryptedOperationsTopic(t *testing.T) {
	// GIVEN the operations topic
	topic := full.only(t, "AWS::SNS::Topic")
	key := full.only(t, "AWS::KMS::Key").ID
	// THEN it is encrypted with the key and accepts TLS only
	if !getAtt(topic.Props["KmsMasterKeyId"], key, "Arn") {
		t.Errorf("topic KmsMasterKeyId = %v", topic.Props["KmsMasterKeyId"])
	}
	tlsOnly := false
	for _, st := range statements(path(full.only(t, "AWS::SNS::TopicPolicy").Props, "PolicyDocument")) {
		if st["Effect"] == "Deny" && path(st, "Condition", "Bool", "aws:SecureTransport") == "false" {
			tlsOnly = true
		}
	}
	if !tlsOnly {
		t.Error("topic policy does not deny non-TLS publishing")
	}
	// AND the alarm e-mail is subscribed
	sub := full.only(t, "AWS::SNS::Subscription")
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
	// AND there is one errors and one throttles alarm per function, two per table
	if got, want := len(alarms), 1+2*len(routes.Functions())+2*len(schema.Tables()); got != want {
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
	// AND without an e-mail there is no subscription
	if n := len(plain.resources("AWS::SNS::Subscription")); n != 0 {
		t.Errorf("plain: %d subscriptions", n)
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
