package stack_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pedsportal/messaging/infra/stack"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

// The reviewed settings of the notification path, written out here rather
// than read from the stack's constants.
const (
	reviewedFilter = `{"eventName":["INSERT"],"dynamodb":{"NewImage":{"messageId":{"S":[{"exists":true}]}}}}`
	fourteenDays   = 14 * 24 * 3600
)

func TestNotifierReadsOnlyMessageInsertsFromTheMessagesStream(t *testing.T) {
	for name, s := range map[string]synthesized{"full": full, "plain": plain} {
		// GIVEN the Messages table and the notifier
		ids := tableIDs(t, s)
		notifier := functionResource(t, s, routes.FnNotifier)
		dlq := s.withPrefix(t, "AWS::SQS::Queue", "NotifierDeadLetterQueue")

		// WHEN we read the one event source mapping
		esm := s.only(t, "AWS::Lambda::EventSourceMapping")
		p := esm.Props

		// THEN it reads the Messages stream into the notifier
		if !getAtt(p["EventSourceArn"], ids[schema.Messages], "StreamArn") || refID(p["FunctionName"]) != notifier.ID {
			t.Errorf("%s: mapping %v -> %v, want the Messages stream -> notifier", name, p["EventSourceArn"], p["FunctionName"])
		}
		// AND batches 100 records or 5 seconds from the latest record
		// AND reports single failed records, bisects failing batches, and
		// gives up after 3 retries or a day into the dead-letter queue
		want := map[string]any{
			"StartingPosition": "LATEST", "BatchSize": float64(100), "MaximumBatchingWindowInSeconds": float64(5),
			"FunctionResponseTypes": []any{"ReportBatchItemFailures"}, "BisectBatchOnFunctionError": true,
			"MaximumRetryAttempts": float64(3), "MaximumRecordAgeInSeconds": float64(86400),
		}
		for k, v := range want {
			if !reflect.DeepEqual(p[k], v) {
				t.Errorf("%s: %s = %v, want %v", name, k, p[k], v)
			}
		}
		if !getAtt(path(p, "DestinationConfig", "OnFailure", "Destination"), dlq.ID, "Arn") {
			t.Errorf("%s: on-failure destination %v, want %s", name, path(p, "DestinationConfig", "OnFailure", "Destination"), dlq.ID)
		}
		// AND only inserted message items (those with a messageId) pass its filter
		filters := asList(path(p, "FilterCriteria", "Filters"))
		if len(filters) != 1 {
			t.Fatalf("%s: filters %v, want one", name, filters)
		}
		var got, wantPattern any
		if err := json.Unmarshal([]byte(path(filters[0], "Pattern").(string)), &got); err != nil {
			t.Fatalf("%s: filter pattern: %v", name, err)
		}
		_ = json.Unmarshal([]byte(reviewedFilter), &wantPattern)
		if !reflect.DeepEqual(got, wantPattern) {
			t.Errorf("%s: filter %v, want %s", name, got, reviewedFilter)
		}
		// AND no other table has a stream
		for _, tbl := range schema.Tables() {
			has := path(s.resource(t, ids[tbl.Name]).Props, "StreamSpecification") != nil
			if has != (tbl.Name == schema.Messages) {
				t.Errorf("%s: table %s has a stream: %v", name, tbl.Name, has)
			}
		}
	}
}

func TestDeadLetterQueuesAreEncryptedTLSOnlyAndAlarmed(t *testing.T) {
	key := full.only(t, "AWS::KMS::Key").ID
	topic := full.withPrefix(t, "AWS::SNS::Topic", "AlarmTopic").ID
	queues := full.resources("AWS::SQS::Queue")
	if len(queues) != 3 {
		t.Fatalf("%d queues, want the three dead-letter queues (notifier, ses-events, scan results)", len(queues))
	}
	for _, q := range queues {
		// GIVEN each dead-letter queue
		// THEN it is encrypted with the stack's key and keeps messages 14 days
		if !getAtt(q.Props["KmsMasterKeyId"], key, "Arn") {
			t.Errorf("%s: KmsMasterKeyId = %v, want the stack's key", q.ID, q.Props["KmsMasterKeyId"])
		}
		if q.Props["MessageRetentionPeriod"] != float64(fourteenDays) {
			t.Errorf("%s: retention %v, want 14 days", q.ID, q.Props["MessageRetentionPeriod"])
		}
		// AND its policy refuses anything but TLS
		tlsOnly := false
		for _, p := range full.resources("AWS::SQS::QueuePolicy") {
			if len(asList(p.Props["Queues"])) != 1 || refID(asList(p.Props["Queues"])[0]) != q.ID {
				continue
			}
			for _, st := range statements(p.Props["PolicyDocument"]) {
				if st["Effect"] == "Deny" && path(st, "Condition", "Bool", "aws:SecureTransport") == "false" {
					tlsOnly = true
				}
			}
		}
		if !tlsOnly {
			t.Errorf("%s: no TLS-only queue policy", q.ID)
		}
		// AND a message in it raises an alarm on the operations topic
		alarmed := false
		for _, a := range full.resources("AWS::CloudWatch::Alarm") {
			p := a.Props
			dims := asList(p["Dimensions"])
			if p["MetricName"] != "ApproximateNumberOfMessagesVisible" || len(dims) != 1 ||
				!getAtt(path(dims[0], "Value"), q.ID, "QueueName") {
				continue
			}
			alarmed = p["ComparisonOperator"] == "GreaterThanOrEqualToThreshold" && p["Threshold"] == float64(1) &&
				len(asList(p["AlarmActions"])) == 1 && refID(asList(p["AlarmActions"])[0]) == topic
		}
		if !alarmed {
			t.Errorf("%s: no depth >= 1 alarm to the operations topic", q.ID)
		}
	}
}

func TestFlusherRunsEveryMinuteOneRunAtATime(t *testing.T) {
	for name, s := range map[string]synthesized{"full": full, "plain": plain} {
		// GIVEN the flusher
		flusher := functionResource(t, s, routes.FnNotifyFlush)
		// WHEN we read its schedule
		sched := scheduleOf(t, s, flusher.ID)
		// THEN it runs every minute, on the minute, and invokes the flusher
		if sched["ScheduleExpression"] != "rate(1 minute)" || path(sched, "FlexibleTimeWindow", "Mode") != "OFF" {
			t.Errorf("%s: schedule %v / %v", name, sched["ScheduleExpression"], sched["FlexibleTimeWindow"])
		}
		if !getAtt(path(sched, "Target", "Arn"), flusher.ID, "Arn") {
			t.Errorf("%s: target %v, want the flusher", name, path(sched, "Target", "Arn"))
		}
		// AND without retries (the next run does the same work)
		if path(sched, "Target", "RetryPolicy", "MaximumRetryAttempts") != float64(0) {
			t.Errorf("%s: retry policy %v", name, path(sched, "Target", "RetryPolicy"))
		}
		// AND it is enabled only when a sender is configured
		wantState := map[string]string{"full": "ENABLED", "plain": "DISABLED"}[name]
		if sched["State"] != wantState {
			t.Errorf("%s: State = %v, want %s", name, sched["State"], wantState)
		}
		// AND its role is Scheduler's and may invoke the flusher only
		role := s.resource(t, refID(path(sched, "Target", "RoleArn")))
		trust := statements(role.Props["AssumeRolePolicyDocument"])
		if len(trust) != 1 || path(trust[0], "Principal", "Service") != "scheduler.amazonaws.com" ||
			path(trust[0], "Condition", "StringEquals", "aws:SourceAccount") == nil {
			t.Errorf("%s: scheduler role trust %v", name, trust)
		}
		var allowed []string
		for _, p := range s.resources("AWS::IAM::ManagedPolicy") {
			for _, r := range asList(p.Props["Roles"]) {
				if refID(r) != role.ID {
					continue
				}
				for _, st := range statements(p.Props["PolicyDocument"]) {
					for _, a := range strs(st["Action"]) {
						for _, res := range resourcesOf(st["Resource"]) {
							allowed = append(allowed, a+" "+res)
						}
					}
				}
			}
		}
		if want := []string{"lambda:InvokeFunction " + flusher.ID}; !slices.Equal(allowed, want) {
			t.Errorf("%s: scheduler role may %v, want %v", name, allowed, want)
		}
		if role.Props["Policies"] != nil || role.Props["ManagedPolicyArns"] != nil {
			t.Errorf("%s: scheduler role has other policies", name)
		}
		// AND the flusher runs one at a time (two could send twice), and
		// Lambda does not retry a failed run either
		if flusher.Props["ReservedConcurrentExecutions"] != float64(1) {
			t.Errorf("%s: flusher reserved concurrency %v, want 1", name, flusher.Props["ReservedConcurrentExecutions"])
		}
		if cfg := asyncConfigOf(t, s, flusher.ID); cfg["MaximumRetryAttempts"] != float64(0) {
			t.Errorf("%s: async config %v", name, cfg)
		}
		// AND it finishes well within its minute
		if to, _ := flusher.Props["Timeout"].(float64); to <= 0 || to >= 60 {
			t.Errorf("%s: flusher timeout %v s, want under a minute", name, flusher.Props["Timeout"])
		}
	}
}

// scheduleOf is the one schedule whose target is the function fnID.
func scheduleOf(t *testing.T, s synthesized, fnID string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, r := range s.resources("AWS::Scheduler::Schedule") {
		if getAtt(path(r.Props, "Target", "Arn"), fnID, "Arn") {
			found = append(found, r.Props)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d schedules target %s, want 1", len(found), fnID)
	}
	return found[0]
}

// asyncConfigOf is the asynchronous-invocation config of the function fnID.
func asyncConfigOf(t *testing.T, s synthesized, fnID string) map[string]any {
	t.Helper()
	for _, r := range s.resources("AWS::Lambda::EventInvokeConfig") {
		if refID(r.Props["FunctionName"]) == fnID {
			return r.Props
		}
	}
	t.Fatalf("no async config for %s", fnID)
	return nil
}

func TestEscalatorRunsEveryFiveMinutesAlways(t *testing.T) {
	for name, s := range map[string]synthesized{"full": full, "plain": plain} {
		// GIVEN the escalator
		esc := functionResource(t, s, routes.FnEscalate)
		// WHEN we read its schedule
		sched := scheduleOf(t, s, esc.ID)
		// THEN it runs every five minutes, enabled even without a sender
		// (the overdue marks show in the inbox either way)
		if sched["ScheduleExpression"] != "rate(5 minutes)" || sched["State"] != "ENABLED" {
			t.Errorf("%s: schedule %v, state %v", name, sched["ScheduleExpression"], sched["State"])
		}
		if path(sched, "Target", "RetryPolicy", "MaximumRetryAttempts") != float64(0) {
			t.Errorf("%s: retry policy %v", name, path(sched, "Target", "RetryPolicy"))
		}
		// AND one run at a time, within the API's timeout budget
		if esc.Props["ReservedConcurrentExecutions"] != float64(1) {
			t.Errorf("%s: reserved concurrency %v, want 1", name, esc.Props["ReservedConcurrentExecutions"])
		}
		if cfg := asyncConfigOf(t, s, esc.ID); cfg["MaximumRetryAttempts"] != float64(0) {
			t.Errorf("%s: async config %v", name, cfg)
		}
	}
}

// sendGrants lists every ses: and sms-voice: action a function's role
// holds, as "action resource condition".
func sendGrants(t *testing.T, s synthesized, name string) []string {
	t.Helper()
	_, sts := functionGrants(t, s, functionResource(t, s, name))
	var out []string
	for _, st := range sts {
		for _, a := range strs(st["Action"]) {
			if !strings.HasPrefix(a, "ses:") && !strings.HasPrefix(a, "sms-voice:") {
				continue
			}
			for _, r := range asList(orList(st["Resource"])) {
				res, ok := resolveString(r)
				if !ok {
					t.Errorf("%s: %s on unresolved %v", name, a, r)
				}
				cond := ""
				if st["Condition"] != nil {
					cond = jsonString(st["Condition"])
				}
				out = append(out, a+" "+res+" "+cond)
			}
		}
	}
	slices.Sort(out)
	return out
}

func TestOnlyTheFlusherSendsAndOnlyAsTheConfiguredIdentity(t *testing.T) {
	// GIVEN the configured sender, identity and origination identity
	from := `{"StringEquals":{"ses:FromAddress":"` + testMailAddress + `"}}`
	wantFull := []string{
		"ses:SendEmail arn:aws:ses:us-east-1:123456789012:configuration-set/Full-notifications " + from,
		"ses:SendEmail " + testSESIdentity + " " + from,
		"sms-voice:SendTextMessage " + testSMSOrigin + " ",
	}
	slices.Sort(wantFull)
	// WHEN we read what the flusher may send
	// THEN it is e-mail as that identity, through that configuration set,
	// from that address, and texts from that number
	if got := sendGrants(t, full, routes.FnNotifyFlush); !slices.Equal(got, wantFull) {
		t.Errorf("full: flusher may\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantFull, "\n"))
	}
	// AND without settings, only the placeholder, which no identity can
	// verify, and no texts at all
	placeholder := `{"StringEquals":{"ses:FromAddress":"` + stack.PlaceholderMailFrom + `"}}`
	wantPlain := []string{
		"ses:SendEmail arn:aws:ses:us-east-1:123456789012:configuration-set/Plain-notifications " + placeholder,
		"ses:SendEmail arn:aws:ses:us-east-1:123456789012:identity/example.invalid " + placeholder,
	}
	if got := sendGrants(t, plain, routes.FnNotifyFlush); !slices.Equal(got, wantPlain) {
		t.Errorf("plain: flusher may\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantPlain, "\n"))
	}
	// AND no other function may send anything
	for _, f := range routes.Functions() {
		if f.Name == routes.FnNotifyFlush {
			continue
		}
		if got := sendGrants(t, full, f.Name); len(got) > 0 {
			t.Errorf("%s may send: %v", f.Name, got)
		}
	}
}

// reviewedOtherGrants are the notification functions' permissions beyond
// DynamoDB, logs and traces, as "action resource" (resources as
// resourcesOf names them, with the key use's service).
var reviewedOtherGrants = map[string][]string{
	routes.FnNotifier: {
		"kms:Decrypt DataKey via sqs", "kms:GenerateDataKey DataKey via sqs",
		"sqs:SendMessage NotifierDeadLetterQueue",
	},
	routes.FnSESEvents: {
		"kms:Decrypt DataKey via sqs", "kms:GenerateDataKey DataKey via sqs",
		"sqs:SendMessage SesEventsDeadLetterQueue",
	},
	routes.FnNotifyFlush: {
		"kms:Decrypt DataKey via secretsmanager", "secretsmanager:GetSecretValue CursorKey",
		"ses:SendEmail (literal)", "ses:SendEmail (literal)", "sms-voice:SendTextMessage (literal)",
	},
}

func TestNotificationFunctionsHoldOnlyTheReviewedOtherGrants(t *testing.T) {
	for name, want := range reviewedOtherGrants {
		t.Run(name, func(t *testing.T) {
			// GIVEN the function's statements
			_, sts := functionGrants(t, full, functionResource(t, full, name))
			var got []string
			for _, st := range sts {
				for _, a := range strs(st["Action"]) {
					if strings.HasPrefix(a, "dynamodb:") || strings.HasPrefix(a, "logs:") || strings.HasPrefix(a, "xray:") {
						continue
					}
					via, _ := path(st, "Condition", "StringEquals", "kms:ViaService").(string)
					if strings.HasPrefix(via, "dynamodb.") {
						continue // the table access, checked with it
					}
					for _, r := range asList(orList(st["Resource"])) {
						res := resourcesOf(r)
						id := "(literal)"
						if len(res) == 1 && !strings.HasPrefix(res[0], "arn:") {
							id = res[0]
							for _, prefix := range []string{"DataKey", "CursorKey", "NotifierDeadLetterQueue", "SesEventsDeadLetterQueue"} {
								if strings.HasPrefix(id, prefix) {
									id = prefix
								}
							}
						}
						if via != "" {
							id += " via " + strings.SplitN(via, ".", 2)[0]
						}
						got = append(got, a+" "+id)
					}
				}
			}
			slices.Sort(got)
			w := slices.Clone(want)
			slices.Sort(w)
			// THEN they are exactly the reviewed ones
			if !slices.Equal(got, w) {
				t.Errorf("holds\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(w, "\n"))
			}
		})
	}
}

func orList(v any) any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func TestBouncesAndComplaintsReachSesEventsThroughTheEncryptedTopic(t *testing.T) {
	key := full.only(t, "AWS::KMS::Key").ID
	// GIVEN the configuration set
	set := full.only(t, "AWS::SES::ConfigurationSet")
	// THEN it requires TLS, publishes reputation metrics and may send
	if path(set.Props, "DeliveryOptions", "TlsPolicy") != "REQUIRE" ||
		path(set.Props, "ReputationOptions", "ReputationMetricsEnabled") != true ||
		path(set.Props, "SendingOptions", "SendingEnabled") != true {
		t.Errorf("configuration set %v", set.Props)
	}
	// AND the functions are told its name
	vars, _ := path(functionResource(t, full, routes.FnNotifyFlush).Props, "Environment", "Variables").(map[string]any)
	if vars["SES_CONFIGURATION_SET"] != set.Props["Name"] {
		t.Errorf("SES_CONFIGURATION_SET %v, configuration set %v", vars["SES_CONFIGURATION_SET"], set.Props["Name"])
	}

	// WHEN we read its event destination
	dest := full.only(t, "AWS::SES::ConfigurationSetEventDestination").Props
	topic := full.withPrefix(t, "AWS::SNS::Topic", "SesEventsTopic")
	// THEN bounces and complaints, and nothing else, go to the SES events topic
	if refID(dest["ConfigurationSetName"]) != set.ID || path(dest, "EventDestination", "Enabled") != true {
		t.Errorf("destination %v", dest)
	}
	types := strs(path(dest, "EventDestination", "MatchingEventTypes"))
	slices.Sort(types)
	if !slices.Equal(types, []string{"BOUNCE", "COMPLAINT"}) {
		t.Errorf("event types %v, want BOUNCE and COMPLAINT", types)
	}
	if refID(path(dest, "EventDestination", "SnsDestination", "TopicARN")) != topic.ID {
		t.Errorf("destination topic %v, want %s", path(dest, "EventDestination", "SnsDestination"), topic.ID)
	}
	// AND that topic is encrypted with the key, takes TLS only, and lets
	// SES publish for this account's configuration set only
	if !getAtt(topic.Props["KmsMasterKeyId"], key, "Arn") {
		t.Errorf("topic KmsMasterKeyId = %v", topic.Props["KmsMasterKeyId"])
	}
	var tlsOnly, sesOnly bool
	for _, st := range statements(path(full.withPrefix(t, "AWS::SNS::TopicPolicy", "SesEventsTopic").Props, "PolicyDocument")) {
		if st["Effect"] == "Deny" && path(st, "Condition", "Bool", "aws:SecureTransport") == "false" {
			tlsOnly = true
		}
		if st["Effect"] == "Allow" {
			src, _ := resolveString(path(st, "Condition", "ArnLike", "AWS:SourceArn"))
			sesOnly = path(st, "Principal", "Service") == "ses.amazonaws.com" && slices.Equal(strs(st["Action"]), []string{"sns:Publish"}) &&
				path(st, "Condition", "StringEquals", "AWS:SourceAccount") != nil &&
				src == "arn:aws:ses:us-east-1:123456789012:configuration-set/"+set.Props["Name"].(string)
			if !sesOnly {
				t.Errorf("topic policy statement %v", st)
			}
		}
	}
	if !tlsOnly || !sesOnly {
		t.Errorf("topic policy: TLS only %v, SES for this configuration set %v", tlsOnly, sesOnly)
	}
	// AND ses-events is subscribed, with a dead-letter queue for what SNS
	// cannot deliver, and the same queue for events it fails on
	sesEvents := functionResource(t, full, routes.FnSESEvents)
	dlq := full.withPrefix(t, "AWS::SQS::Queue", "SesEventsDeadLetterQueue")
	var sub *resource
	for _, r := range full.resources("AWS::SNS::Subscription") {
		if refID(r.Props["TopicArn"]) == topic.ID {
			sub = &r
		}
	}
	if sub == nil || sub.Props["Protocol"] != "lambda" || !getAtt(sub.Props["Endpoint"], sesEvents.ID, "Arn") ||
		!getAtt(path(sub.Props, "RedrivePolicy", "deadLetterTargetArn"), dlq.ID, "Arn") {
		t.Fatalf("subscription %v", sub)
	}
	if !getAtt(path(sesEvents.Props, "DeadLetterConfig", "TargetArn"), dlq.ID, "Arn") {
		t.Errorf("ses-events dead-letter config %v", sesEvents.Props["DeadLetterConfig"])
	}
}

func TestNotificationFailuresAndSESReputationRaiseAlarms(t *testing.T) {
	// GIVEN the flusher's log group
	flusher := functionResource(t, full, routes.FnNotifyFlush)
	logGroup := refID(path(flusher.Props, "LoggingConfig", "LogGroup"))
	ns := stack.WriteCapNamespace(*full.stack.StackName())
	// THEN a metric filter counts the failed sends of each run's summary line
	var filter map[string]any
	for _, f := range full.resources("AWS::Logs::MetricFilter") {
		if refID(f.Props["LogGroupName"]) == logGroup {
			filter = f.Props
		}
	}
	if filter == nil {
		t.Fatal("no metric filter on the flusher's log group")
	}
	pattern, _ := filter["FilterPattern"].(string)
	for _, want := range []string{`$.msg = "notify: flushed"`, `$.message = "notify: flushed"`, `$.failed > 0`} {
		if !strings.Contains(pattern, want) {
			t.Errorf("filter pattern %q lacks %s", pattern, want)
		}
	}
	mt := asList(filter["MetricTransformations"])
	if len(mt) != 1 || path(mt[0], "MetricValue") != "$.failed" || path(mt[0], "MetricNamespace") != ns {
		t.Errorf("metric transformation %v", mt)
	}
	// AND alarms watch it and SES's bounce and complaint rates
	want := map[string]float64{
		stack.NotificationsFailedMetric + " " + ns: 1,
		"Reputation.BounceRate AWS/SES set":        0.05,
		"Reputation.ComplaintRate AWS/SES set":     0.001,
		"Reputation.BounceRate AWS/SES account":    0.05,
		"Reputation.ComplaintRate AWS/SES account": 0.001,
	}
	got := map[string]float64{}
	for _, a := range full.resources("AWS::CloudWatch::Alarm") {
		p := a.Props
		name, _ := p["MetricName"].(string)
		k := name + " " + jsonString(p["Namespace"])
		if p["Namespace"] == "AWS/SES" {
			scope := "account"
			for _, d := range asList(p["Dimensions"]) {
				if path(d, "Name") == "ses:configuration-set" && path(d, "Value") == "Full-notifications" {
					scope = "set"
				}
			}
			k = name + " AWS/SES " + scope
		}
		if _, ok := want[k]; ok {
			if p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" {
				t.Errorf("%s: %v", k, p["ComparisonOperator"])
			}
			got[k], _ = p["Threshold"].(float64)
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("alarm %s: threshold %v, want %v", k, got[k], v)
		}
	}
}
