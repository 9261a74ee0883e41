package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

// API5xxRatePercent is the share of 5xx answers that raises the API alarm.
const API5xxRatePercent = 5

// The operations the functions call, for DynamoDB's per-operation metrics.
var dynamoOperations = []awsdynamodb.Operation{
	awsdynamodb.Operation_GET_ITEM, awsdynamodb.Operation_BATCH_GET_ITEM, awsdynamodb.Operation_QUERY,
	awsdynamodb.Operation_PUT_ITEM, awsdynamodb.Operation_UPDATE_ITEM, awsdynamodb.Operation_DELETE_ITEM,
	awsdynamodb.Operation_TRANSACT_WRITE_ITEMS,
}

// WriteCapMessage is the log message of the write-message function when a
// portal user reaches the per-patient daily write cap.
const WriteCapMessage = app.WriteCapLog

// WriteCapMetric is the metric the write-cap log filter counts, in the
// namespace WriteCapNamespace(stack name), so that two stacks in one account
// never raise each other's alarm.
const WriteCapMetric = "WriteCapReached"

// WriteCapNamespace is the CloudWatch namespace of the stack's log metrics.
func WriteCapNamespace(stackName string) string { return "Messaging/" + stackName }

// writeCapFilterPattern matches the JSON log line of a reached write cap.
// slog's JSON handler names the message "msg"; the Lambda logger
// (lambdacontext.NewLogger) renames it "message", as Lambda's JSON format
// does. Either spelling counts.
var writeCapFilterPattern = `{ ($.msg = "` + WriteCapMessage + `") || ($.message = "` + WriteCapMessage + `") }`

// logGroupOf is the log group a function writes to: newFunction gives each
// function its own (functions.go), which the function construct keeps.
func (m *messaging) logGroupOf(function string) awslogs.ILogGroup {
	return m.functions[function].LogGroup()
}

// newAlarms creates the operations topic (encrypted, TLS-only) and the
// alarms: API 5xx rate, each function's errors and throttles, each table's
// throttles and system errors, any portal user reaching the per-patient
// daily write cap (unusual growth of one chart: a runaway script, a stolen
// session or abuse), which the write-message function logs, and the
// notification path's (newNotificationAlarms).
func (m *messaging) newAlarms() {
	s := m.stack
	m.alarmTopic = awssns.NewTopic(s, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String(*s.StackName() + " alarms"),
		MasterKey:   m.key,
		EnforceSSL:  jsii.Bool(true),
	})
	if m.props.AlarmEmail != "" {
		m.alarmTopic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(m.props.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(m.alarmTopic)
	five := awscdk.Duration_Minutes(jsii.Number(5))
	var alarm alarmFunc = func(id, description string, metric awscloudwatch.IMetric, threshold float64, periods, datapoints float64) {
		a := awscloudwatch.NewAlarm(s, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(description),
			Metric:             metric,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(periods),
			DatapointsToAlarm:  jsii.Number(datapoints),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		a.AddOkAction(action)
	}

	sum := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: five}
	alarm("Api5xxRate", "More than 5% of API requests answered 5xx in 2 of the last 3 five-minute periods",
		awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String("IF(requests > 0, 100 * errors / requests, 0)"),
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"errors":   m.api.MetricServerError(sum),
				"requests": m.api.MetricCount(sum),
			},
			Label:  jsii.String("API 5xx %"),
			Period: five,
		}), API5xxRatePercent, 3, 2)

	for _, f := range routes.Functions() {
		fn := m.functions[f.Name]
		id := pascal(f.Name)
		alarm(id+"Errors", "The "+f.Name+" function failed (error or timeout)", fn.MetricErrors(sum), 1, 1, 1)
		alarm(id+"Throttles", "The "+f.Name+" function was throttled at its reserved concurrency", fn.MetricThrottles(sum), 1, 1, 1)
	}

	capFilter := awslogs.NewMetricFilter(s, jsii.String("WriteCapReachedFilter"), &awslogs.MetricFilterProps{
		LogGroup:        m.logGroupOf(routes.FnWriteMessage),
		FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(writeCapFilterPattern)),
		MetricNamespace: jsii.String(WriteCapNamespace(*s.StackName())),
		MetricName:      jsii.String(WriteCapMetric),
		MetricValue:     jsii.String("1"),
	})
	alarm("WriteCapReached", "A portal user reached the per-patient daily write cap (write-message logged \""+
		WriteCapMessage+"\"): unusual growth of one patient's chart", capFilter.Metric(sum), 1, 1, 1)

	m.newNotificationAlarms(alarm, sum)

	ops := &awsdynamodb.OperationsMetricOptions{Operations: &dynamoOperations, Period: five}
	for _, t := range schema.Tables() {
		tbl := m.tables[t.Name]
		alarm(t.Name+"TableThrottles", "Requests to the "+t.Name+" table were throttled",
			tbl.MetricThrottledRequestsForOperations(ops), 1, 1, 1)
		alarm(t.Name+"TableSystemErrors", "DynamoDB answered 5xx for the "+t.Name+" table",
			tbl.MetricSystemErrorsForOperations(&awsdynamodb.SystemErrorsForOperationsMetricOptions{Operations: &dynamoOperations, Period: five}), 1, 1, 1)
	}
}

// NotificationsFailedMetric counts the notifications the flusher could not
// send on any channel, from the "failed" count of its summary log line, in
// WriteCapNamespace(stack name).
const NotificationsFailedMetric = "NotificationsFailed"

// FlushSummaryMessage is the flusher's log message after each run, with
// its sent, deferred, skipped and failed counts.
const FlushSummaryMessage = "notify: flushed"

// notificationsFailedPattern matches a flush summary with failures, under
// either spelling of the message key (see writeCapFilterPattern).
var notificationsFailedPattern = `{ (($.msg = "` + FlushSummaryMessage + `") || ($.message = "` + FlushSummaryMessage + `")) && ($.failed > 0) }`

type alarmFunc func(id, description string, metric awscloudwatch.IMetric, threshold float64, periods, datapoints float64)

// newNotificationAlarms watches the notification path: either dead-letter
// queue holding a message (the notifier gave up on a stream batch, or a
// bounce or complaint was not recorded); notifications that failed on
// every channel in two of three five-minute periods (one failure is
// retried a minute later; a lasting one means SES or SMS refuses us); and
// SES's bounce and complaint rates, for this configuration set and for the
// account, whose rates AWS reviews at 5% and 0.1%. The flusher's own
// failures (Errors) are alarmed with every function's.
func (m *messaging) newNotificationAlarms(alarm alarmFunc, sum *awscloudwatch.MetricOptions) {
	s := m.stack
	n := &m.notify
	five := awscdk.Duration_Minutes(jsii.Number(5))
	for _, q := range []struct {
		id    string
		queue awssqs.Queue
	}{{"NotifierDeadLetters", n.streamDLQ}, {"SesEventsDeadLetters", n.sesEventsDLQ}, {"ScanResultDeadLetters", m.attach.scanDLQ}} {
		alarm(q.id, "A message is waiting in a notification dead-letter queue: read it and replay or discard it (README, Deploying)",
			q.queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: five}), 1, 1, 1)
	}

	failed := awslogs.NewMetricFilter(s, jsii.String("NotificationsFailedFilter"), &awslogs.MetricFilterProps{
		LogGroup:        m.logGroupOf(routes.FnNotifyFlush),
		FilterPattern:   awslogs.FilterPattern_Literal(jsii.String(notificationsFailedPattern)),
		MetricNamespace: jsii.String(WriteCapNamespace(*s.StackName())),
		MetricName:      jsii.String(NotificationsFailedMetric),
		MetricValue:     jsii.String("$.failed"),
	})
	alarm("NotificationsFailed", "Notifications failed on every channel in 2 of the last 3 five-minute periods "+
		"(the flusher logged \""+FlushSummaryMessage+"\" with failed > 0): SES or SMS refuses to send",
		failed.Metric(sum), 1, 3, 2)

	hour := awscdk.Duration_Hours(jsii.Number(1))
	rate := func(name string, dims map[string]*string) awscloudwatch.Metric {
		p := &awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/SES"), MetricName: jsii.String(name),
			Statistic: jsii.String("Maximum"), Period: hour,
		}
		if dims != nil {
			p.DimensionsMap = &dims
		}
		return awscloudwatch.NewMetric(p)
	}
	set := map[string]*string{"ses:configuration-set": jsii.String(n.configSetName)}
	alarm("SesBounceRate", "The notification e-mails' bounce rate reached 5%", rate("Reputation.BounceRate", set), SESBounceRateAlarm, 1, 1)
	alarm("SesComplaintRate", "The notification e-mails' complaint rate reached 0.1%", rate("Reputation.ComplaintRate", set), SESComplaintRateAlarm, 1, 1)
	alarm("SesAccountBounceRate", "The account's SES bounce rate reached 5%, where AWS reviews the account",
		rate("Reputation.BounceRate", nil), SESBounceRateAlarm, 1, 1)
	alarm("SesAccountComplaintRate", "The account's SES complaint rate reached 0.1%, where AWS reviews the account",
		rate("Reputation.ComplaintRate", nil), SESComplaintRateAlarm, 1, 1)
}
