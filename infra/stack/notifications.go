package stack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

// The notification path in AWS (README, Notifications):
//
//   - the notifier reads the Messages table's stream through an event
//     source mapping (batches, partial-batch failures, bisect, bounded
//     retries) whose failures land in an encrypted SQS dead-letter queue;
//   - the flusher runs every minute on an EventBridge Scheduler schedule,
//     one run at a time, and sends through SES v2 (one identity, one
//     configuration set) and, when configured, End User Messaging SMS
//     (one origination identity);
//   - the configuration set publishes bounces and complaints to an
//     encrypted SNS topic, to which ses-events is subscribed (its failures
//     land in a second dead-letter queue).
//
// Every permission is written out in the function's one managed policy
// (triggerStatements); the CDK grants the constructs below would add to an
// execution role are dropped, because the roles accept no policy updates.

// Event source mapping of the notifier.
const (
	StreamBatchSize              = 100
	StreamBatchingWindowSeconds  = 5
	StreamRetryAttempts          = 3
	StreamMaxRecordAgeHours      = 24
	DeadLetterRetentionDays      = 14
	FlushScheduleExpression      = "rate(1 minute)"
	FlushAsyncMaxEventAgeSeconds = 120
	// The escalator counts business hours: every five minutes is soon
	// enough and a fifth of the invocations.
	EscalateScheduleExpression = "rate(5 minutes)"
)

// scheduleExpression is how often a scheduled function runs.
func scheduleExpression(t routes.Trigger) string {
	if t == routes.EveryFiveMinutes {
		return EscalateScheduleExpression
	}
	return FlushScheduleExpression
}

// scheduled reports whether a function runs on a schedule.
func scheduled(t routes.Trigger) bool { return t == routes.EveryMinute || t == routes.EveryFiveMinutes }

// NotifierFilterPattern lets only inserted message items reach the
// notifier. Lambda drops everything else before an invocation is paid
// for: every MODIFY (header updates: replies, mark read, manage) and
// REMOVE, and the INSERT of a conversation header, which carries no
// messageId. A message item (SK "CONV#<id>#MSG#<ulid>"; a filter cannot
// test "contains") is the only item of the table with one. A later event
// kind on the stream (assignment, overdue) must widen this pattern.
const NotifierFilterPattern = `{"eventName":["INSERT"],"dynamodb":{"NewImage":{"messageId":{"S":[{"exists":true}]}}}}`

// SES reputation alarms: AWS reviews an account whose bounce rate reaches
// 5% or whose complaint rate reaches 0.1%.
const (
	SESBounceRateAlarm    = 0.05
	SESComplaintRateAlarm = 0.001
)

// sesEventTypes are the configuration set's events that reach ses-events.
var sesEventTypes = []string{string(awsses.EmailSendingEvent_BOUNCE), string(awsses.EmailSendingEvent_COMPLAINT)}

// notifications holds the notification path's parts.
type notifications struct {
	// streamDLQ receives the notifier's failed stream batches (their
	// shard and sequence numbers, never the records).
	streamDLQ awssqs.Queue
	// sesEventsDLQ receives SES events that ses-events failed on, or that
	// SNS could not deliver to it.
	sesEventsDLQ awssqs.Queue
	// configSetName names the configuration set: fixed, so that the
	// topic's and the key's policies can name its ARN without a cycle.
	configSetName string
	configSet     awsses.CfnConfigurationSet
	// topicName is the SES events topic's fixed name, for the same reason.
	topicName string
	sesTopic  awssns.Topic
	// identityARN is the SES identity the flusher sends as; mailAddress
	// the bare address of MailFrom, which ses:FromAddress is held to.
	identityARN, mailAddress string
	// smsARN is the SMS origination identity's ARN, "" for none.
	smsARN string

	streamMapping awslambda.EventSourceMapping
	// schedules are the scheduled functions' schedules, by function.
	schedules map[string]awsscheduler.CfnSchedule
}

func (m *messaging) arn(service, resource string) string {
	s := m.stack
	return "arn:" + *s.Partition() + ":" + service + ":" + *s.Region() + ":" + *s.Account() + ":" + resource
}

// newNotificationResources creates what the notification functions are
// told of or granted, before the functions: the two dead-letter queues, the
// SES configuration set with its bounce and complaint destination, and the
// encrypted topic that destination publishes to. It also settles the
// sender identities from Props.
func (m *messaging) newNotificationResources() error {
	s := m.stack
	n := &m.notify
	n.streamDLQ = m.newDeadLetterQueue("NotifierDeadLetterQueue")
	n.sesEventsDLQ = m.newDeadLetterQueue("SesEventsDeadLetterQueue")

	addr, err := mailFromAddress(m.props.MailFrom)
	if err != nil {
		return err
	}
	n.mailAddress = addr
	n.identityARN = m.props.SESIdentityARN
	if n.identityARN == "" {
		n.identityARN = m.arn("ses", "identity/"+addr[strings.LastIndexByte(addr, '@')+1:])
	}
	switch o := m.props.SMSOriginationIdentity; {
	case o == "":
	case strings.HasPrefix(o, "arn:"):
		n.smsARN = o
	case strings.HasPrefix(o, "phone-"):
		n.smsARN = m.arn("sms-voice", "phone-number/"+o)
	case strings.HasPrefix(o, "pool-"):
		n.smsARN = m.arn("sms-voice", "pool/"+o)
	}

	n.configSetName = *s.StackName() + "-notifications"
	if len(n.configSetName) > 64 {
		return fmt.Errorf("SES configuration set name %q is over 64 characters: use a shorter stack name", n.configSetName)
	}
	configSetARN := m.arn("ses", "configuration-set/"+n.configSetName)
	n.configSet = awsses.NewCfnConfigurationSet(s, jsii.String("NotificationsConfigurationSet"), &awsses.CfnConfigurationSetProps{
		Name: jsii.String(n.configSetName),
		// Mail goes to the recipient's server over TLS or not at all.
		DeliveryOptions: &awsses.CfnConfigurationSet_DeliveryOptionsProperty{TlsPolicy: jsii.String("REQUIRE")},
		// Bounce and complaint rates of this set in CloudWatch (alarms.go).
		ReputationOptions: &awsses.CfnConfigurationSet_ReputationOptionsProperty{ReputationMetricsEnabled: jsii.Bool(true)},
		SendingOptions:    &awsses.CfnConfigurationSet_SendingOptionsProperty{SendingEnabled: jsii.Bool(true)},
		// SES itself refuses addresses on the account's suppression list,
		// and reports each refusal as a bounce, which ses-events records.
		SuppressionOptions: &awsses.CfnConfigurationSet_SuppressionOptionsProperty{SuppressedReasons: jsii.Strings("BOUNCE", "COMPLAINT")},
	})

	n.topicName = *s.StackName() + "-ses-events"
	n.sesTopic = awssns.NewTopic(s, jsii.String("SesEventsTopic"), &awssns.TopicProps{
		TopicName:   jsii.String(n.topicName),
		DisplayName: jsii.String(*s.StackName() + " e-mail bounces and complaints"),
		MasterKey:   m.key,
		EnforceSSL:  jsii.Bool(true),
	})
	published := n.sesTopic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("SesPublishesThisConfigurationSetsEvents"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("ses.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{n.sesTopic.TopicArn()},
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"AWS:SourceAccount": *s.Account()},
			"ArnLike":      map[string]interface{}{"AWS:SourceArn": configSetARN},
		},
	}))
	dest := awsses.NewCfnConfigurationSetEventDestination(s, jsii.String("NotificationsBouncesAndComplaints"), &awsses.CfnConfigurationSetEventDestinationProps{
		ConfigurationSetName: n.configSet.Ref(),
		EventDestination: &awsses.CfnConfigurationSetEventDestination_EventDestinationProperty{
			Name:               jsii.String("bounces-and-complaints"),
			Enabled:            jsii.Bool(true),
			MatchingEventTypes: jsii.Strings(sesEventTypes...),
			SnsDestination:     &awsses.CfnConfigurationSetEventDestination_SnsDestinationProperty{TopicArn: n.sesTopic.TopicArn()},
		},
	})
	if published.PolicyDependable != nil {
		dest.Node().AddDependency(published.PolicyDependable)
	}

	// The key policy: SES encrypts what it publishes to the topic, and SNS
	// what it moves to the dead-letter queue after its own retries. Neither
	// can use IAM; both are held to this account, and SNS to this topic.
	m.key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("SesPublishesToEncryptedEventTopic"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("ses.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": *s.Account()},
		},
	}), jsii.Bool(false))
	m.key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("SnsMovesUndeliveredSesEventsToEncryptedQueue"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("sns.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": *s.Account()},
			"ArnLike":      map[string]interface{}{"aws:SourceArn": m.arn("sns", n.topicName)},
		},
	}), jsii.Bool(false))
	return nil
}

// newDeadLetterQueue is an SQS queue for failed events: encrypted with the
// key, TLS only, and kept 14 days (SQS's longest), so a failure found on
// Monday is still there to replay.
func (m *messaging) newDeadLetterQueue(id string) awssqs.Queue {
	return awssqs.NewQueue(m.stack, jsii.String(id), &awssqs.QueueProps{
		Encryption:          awssqs.QueueEncryption_KMS,
		EncryptionMasterKey: m.key,
		// Fewer KMS calls; a dead-letter queue is written rarely anyway.
		DataKeyReuse:    awscdk.Duration_Hours(jsii.Number(1)),
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(DeadLetterRetentionDays)),
	})
}

// functionTimeoutSeconds is a function's timeout by what invokes it: the
// API's functions answer within API Gateway's limit; the notifier gets a
// whole batch's time; the flusher most of its minute, and never longer
// (one run at a time: the next run would be throttled).
func functionTimeoutSeconds(f routes.Function) float64 {
	switch f.Trigger {
	case routes.MessagesStream:
		return 30
	case routes.EveryMinute, routes.EveryFiveMinutes:
		return 50
	case routes.MalwareScanResult:
		return 60 // read, decode, re-encode and store a 10 MB photo
	}
	return FunctionTimeoutSeconds
}

// reservedConcurrency is a function's reserved concurrency: 1 for the
// scheduled ones, since two flushes at once could send the same
// notification twice (and one escalation at a time is all the work
// there is); the setting for the others.
func (m *messaging) reservedConcurrency(f routes.Function) float64 {
	if scheduled(f.Trigger) {
		return 1
	}
	return float64(m.props.ReservedConcurrency)
}

// triggerStatements are what a function needs for its trigger and its
// sends, on top of its table access: the notifier reads the Messages
// stream and writes its dead-letter queue; ses-events writes its own; the
// flusher sends e-mail as one identity through one configuration set and,
// when an origination identity is set, texts from it.
func (m *messaging) triggerStatements(f routes.Function) []awsiam.PolicyStatement {
	s := m.stack
	n := &m.notify
	var st []awsiam.PolicyStatement
	sendToQueue := func(q awssqs.Queue) {
		st = append(st,
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("SendToDeadLetterQueue"),
				Actions:   jsii.Strings("sqs:SendMessage"),
				Resources: &[]*string{q.QueueArn()},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("UseDataKeyThroughSQS"),
				Actions:   jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
				Resources: &[]*string{m.key.KeyArn()},
				Conditions: &map[string]interface{}{
					"StringEquals": map[string]interface{}{"kms:ViaService": "sqs." + *s.Region() + ".amazonaws.com"},
				},
			}))
	}
	switch f.Trigger {
	case routes.MessagesStream:
		// The mapping polls with the function's role. dynamodb:ListStreams
		// supports no resource-level permission, so naming it on the stream
		// grants nothing more; the mapping is given the stream's ARN and
		// never needs to list. The records' key use is the table's
		// (UseDataKeyThroughDynamoDB).
		st = append(st, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String("ReadMessagesStream"),
			Actions: jsii.Strings("dynamodb:DescribeStream", "dynamodb:GetRecords",
				"dynamodb:GetShardIterator", "dynamodb:ListStreams"),
			Resources: &[]*string{m.tables[schema.Messages].TableStreamArn()},
		}))
		sendToQueue(n.streamDLQ)
	case routes.SESEvents:
		sendToQueue(n.sesEventsDLQ)
	}
	if f.Sends {
		// SES v2 authorises SendEmail on the identity and on the
		// configuration set named in the request; the From address is
		// held to the configured one, whatever the identity verifies.
		st = append(st, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("SendEmailAsTheConfiguredIdentity"),
			Actions:   jsii.Strings("ses:SendEmail"),
			Resources: jsii.Strings(n.identityARN, m.arn("ses", "configuration-set/"+n.configSetName)),
			Conditions: &map[string]interface{}{
				"StringEquals": map[string]interface{}{"ses:FromAddress": n.mailAddress},
			},
		}))
		if n.smsARN != "" {
			st = append(st, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("SendTextsFromTheConfiguredIdentity"),
				Actions:   jsii.Strings("sms-voice:SendTextMessage"),
				Resources: jsii.Strings(n.smsARN),
			}))
		}
	}
	return st
}

// newTriggers connects each function that serves no route to what invokes
// it, once the functions exist.
func (m *messaging) newTriggers() error {
	for _, f := range routes.Functions() {
		fn := m.functions[f.Name]
		switch f.Trigger {
		case routes.HTTP:
		case routes.MessagesStream:
			m.newStreamMapping(fn)
		case routes.EveryMinute, routes.EveryFiveMinutes:
			m.newSchedule(f, fn)
		case routes.SESEvents:
			m.notify.sesTopic.AddSubscription(awssnssubscriptions.NewLambdaSubscription(fn, &awssnssubscriptions.LambdaSubscriptionProps{
				DeadLetterQueue: m.notify.sesEventsDLQ,
			}))
		case routes.MalwareScanResult:
			m.newScanResultRule(fn)
		default:
			return fmt.Errorf("function %s: unknown trigger %q", f.Name, f.Trigger)
		}
	}
	return nil
}

// newStreamMapping reads the Messages stream into the notifier: from the
// latest record (a new stack has no backlog to notify of), 100 records or
// 5 seconds at a time, only message inserts (NotifierFilterPattern). A
// failing record is reported alone (ReportBatchItemFailures) and a failing
// batch is halved until the bad record stands alone (bisect); after 3
// retries, or once a record is a day old, the batch's description goes to
// the dead-letter queue, whose depth alarms.
func (m *messaging) newStreamMapping(fn awslambda.Function) {
	m.notify.streamMapping = fn.AddEventSourceMapping(jsii.String("MessagesStream"), &awslambda.EventSourceMappingOptions{
		EventSourceArn:          m.tables[schema.Messages].TableStreamArn(),
		StartingPosition:        awslambda.StartingPosition_LATEST,
		BatchSize:               jsii.Number(StreamBatchSize),
		MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(StreamBatchingWindowSeconds)),
		ReportBatchItemFailures: jsii.Bool(true),
		BisectBatchOnError:      jsii.Bool(true),
		RetryAttempts:           jsii.Number(StreamRetryAttempts),
		MaxRecordAge:            awscdk.Duration_Hours(jsii.Number(StreamMaxRecordAgeHours)),
		OnFailure:               awslambdaeventsources.NewSqsDlq(m.notify.streamDLQ),
		Filters:                 &[]*map[string]interface{}{{"pattern": NotifierFilterPattern}},
	})
}

// newSchedule runs a scheduled function from EventBridge Scheduler (the
// flusher every minute, the escalator every five), with a role that may
// invoke that function only. The schedule has no flexible window and no
// retries: a missed run is made good by the next one, which reads the
// same items. Without a configured sender (mailFrom) the flusher's
// schedule exists but is DISABLED, so nothing is sent; the escalator's
// always runs (its overdue marks show in the inbox; its alerts wait for
// the flusher).
func (m *messaging) newSchedule(f routes.Function, fn awslambda.Function) {
	s := m.stack
	n := &m.notify
	id := pascal(f.Name)
	role := awsiam.NewRole(s, jsii.String(id+"SchedulerRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]interface{}{
				"StringEquals": map[string]interface{}{"aws:SourceAccount": *s.Account()},
			},
		}),
		Description: jsii.String("Lets EventBridge Scheduler start the " + f.Name + " function"),
	})
	policy := awsiam.NewManagedPolicy(s, jsii.String(id+"SchedulerPolicy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("Invoke the " + f.Name + " function, and nothing else"),
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("InvokeTheFunction"),
			Actions:   jsii.Strings("lambda:InvokeFunction"),
			Resources: &[]*string{fn.FunctionArn()},
		})},
		Roles: &[]awsiam.IRole{role},
	})
	state := "ENABLED"
	if f.Sends && !m.props.notificationsOn() {
		state = "DISABLED"
		awscdk.Annotations_Of(fn).AddWarningV2(jsii.String("messaging:NotificationsOff"), jsii.String(
			"No mailFrom is set: the "+f.Name+" schedule is created DISABLED and no notification is sent. "+
				"Deploy with -c mailFrom=... (a verified SES identity) to send them (README, Deploying)."))
	}
	description := "Sends the notifications that are due"
	if !f.Sends {
		description = "Marks conversations past their response target overdue and alerts the pool's staff"
	}
	sched := awsscheduler.NewCfnSchedule(s, jsii.String(id+"Schedule"), &awsscheduler.CfnScheduleProps{
		Description:        jsii.String(description),
		ScheduleExpression: jsii.String(scheduleExpression(f.Trigger)),
		FlexibleTimeWindow: &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		State:              jsii.String(state),
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn:     fn.FunctionArn(),
			RoleArn: role.RoleArn(),
			// Neither function reads anything from its event.
			Input:       jsii.String("{}"),
			RetryPolicy: &awsscheduler.CfnSchedule_RetryPolicyProperty{MaximumRetryAttempts: jsii.Number(0), MaximumEventAgeInSeconds: jsii.Number(60)},
		},
	})
	sched.Node().AddDependency(policy)
	if n.schedules == nil {
		n.schedules = map[string]awsscheduler.CfnSchedule{}
	}
	n.schedules[f.Name] = sched
	// Scheduler invokes asynchronously. A failed or throttled run is not
	// retried by Lambda either, and an event waiting longer than two
	// minutes is dropped: the next run does the same work.
	fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(0),
		MaxEventAge:   awscdk.Duration_Seconds(jsii.Number(FlushAsyncMaxEventAgeSeconds)),
	})
}
