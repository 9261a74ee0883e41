package stack

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/pedsportal/messaging/internal/routes"
)

// Every cdk-nag suppression of the stack lives here, each on one named
// resource with its reason. There is no stack-wide suppression.

type suppression struct {
	id        string
	reason    string
	appliesTo []interface{}
}

func suppress(c constructs.IConstruct, children bool, list ...suppression) {
	var s []*cdknag.NagPackSuppression
	for _, x := range list {
		p := &cdknag.NagPackSuppression{Id: jsii.String(x.id), Reason: jsii.String(x.reason)}
		if len(x.appliesTo) > 0 {
			applies := x.appliesTo
			p.AppliesTo = &applies
		}
		s = append(s, p)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &s, jsii.Bool(children))
}

// Reasons shared by several resources.
const (
	reasonSyncNoDLQ = "Invoked synchronously by API Gateway only. A dead-letter target " +
		"applies to asynchronous invocations; here a failure returns to the caller as a 5xx and raises the function's Errors alarm."
	reasonStreamDLQ = "Invoked by the Messages stream's event source mapping only. A function's dead-letter target " +
		"applies to asynchronous invocations; the mapping's own on-failure destination is the encrypted SQS queue " +
		"NotifierDeadLetterQueue, whose depth raises the NotifierDeadLetters alarm."
	reasonScheduleNoDLQ = "Invoked on a schedule by EventBridge Scheduler, with retries off on both sides. A failed run " +
		"loses nothing: the pending notifications (or the waiting conversations) stay in their tables and the next run sends " +
		"(or marks) them; a failure raises the function's Errors alarm."
	reasonNoVPC = "The function reaches only AWS APIs (DynamoDB, Secrets Manager, SQS, SES, End User Messaging SMS, X-Ray) over TLS with IAM " +
		"authorisation and has no private network resource to reach; a VPC would add interface endpoints (about $15/month " +
		"per service) and cold-start time without narrowing access, which the role already limits to named tables and keys."
	reasonDeployOnly = "CDK's BucketDeployment handler runs only during deployments, invoked synchronously by " +
		"CloudFormation; it copies the public pages (no PHI) and a failure fails the deployment."
	reasonNoReplication = "Cross-region replication is not needed: "
	reasonScanRuleDLQ   = "EventBridge invokes attach-process; the rule's target retries for a day and keeps what still fails " +
		"in its own encrypted dead-letter queue (ScanResultDLQ), which is where a failed event waits."
)

// noDLQReason is why a function has no dead-letter queue of its own, or
// "" when it has one (ses-events).
func noDLQReason(f routes.Function) string {
	switch f.Trigger {
	case routes.HTTP:
		return reasonSyncNoDLQ
	case routes.MessagesStream:
		return reasonStreamDLQ
	case routes.EveryMinute, routes.EveryFiveMinutes:
		return reasonScheduleNoDLQ
	case routes.MalwareScanResult:
		return reasonScanRuleDLQ
	}
	return ""
}

func (m *messaging) suppressNagFindings() {
	s := m.stack

	for _, f := range routes.Functions() {
		var list []suppression
		if reason := noDLQReason(f); reason != "" {
			list = append(list,
				suppression{id: "HIPAA.Security-LambdaDLQ", reason: reason},
				suppression{id: "Serverless-LambdaDLQ", reason: reason})
		}
		list = append(list, suppression{id: "HIPAA.Security-LambdaInsideVPC", reason: reasonNoVPC})
		suppress(m.functions[f.Name], false, list...)
		suppress(m.functionPolicies[f.Name], false, suppression{
			id:        "AwsSolutions-IAM5",
			reason:    xrayResourceNote,
			appliesTo: []interface{}{"Resource::*"},
		})
	}

	// Only the public routes have no authorizer, each suppressed on its own.
	for key, rt := range m.publicRoutes {
		suppress(rt, true, suppression{id: "AwsSolutions-APIG4", reason: "Route " + key + " is the RFC 8058 " +
			"one-click unsubscribe a mail provider calls without any sign-in. The HMAC-signed token in its URL is the " +
			"authorisation: bound to the unsubscribe purpose and one portal user, expiring after 90 days, checked by the " +
			"handler; it can only turn that user's e-mail off. The function may update only that attribute of portal-user " +
			"items, and stage throttling applies."})
	}

	suppress(m.backupSelection, true, suppression{
		id: "AwsSolutions-IAM4",
		reason: "AWS Backup's own service-role policies are the documented way to let the plan back up " +
			"and restore DynamoDB tables; the role is assumable only by backup.amazonaws.com.",
		appliesTo: []interface{}{
			"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
			"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
		},
	})

	cursorRotation := "The cursor key only signs pagination cursors, which expire within a day. It is rotated " +
		"by writing a new random value (README, Deploying: Rotation); doing so invalidates cursors in flight and nothing else. " +
		"A rotation Lambda would add a function with broader rights than the key is worth."
	suppress(m.cursorSecret, false,
		suppression{id: "AwsSolutions-SMG4", reason: cursorRotation},
		suppression{id: "HIPAA.Security-SecretsManagerRotationEnabled", reason: cursorRotation},
	)

	suppress(m.siteBucket, false,
		suppression{id: "HIPAA.Security-S3BucketReplicationEnabled", reason: reasonNoReplication +
			"the bucket holds the public pages, rebuilt from the repository by every deployment."},
		suppression{id: "HIPAA.Security-S3DefaultEncryptionKMS", reason: "The bucket holds the public pages " +
			"and config.json, no PHI. SSE-S3 encrypts them; SSE-KMS would need a key-policy grant to CloudFront on the data key."},
	)
	suppress(m.logBucket, false,
		suppression{id: "HIPAA.Security-S3BucketReplicationEnabled", reason: reasonNoReplication +
			"the bucket holds S3 and CloudFront access logs of the public pages, versioned and kept 365 days."},
		suppression{id: "HIPAA.Security-S3DefaultEncryptionKMS", reason: "S3 server access logs and " +
			"CloudFront standard logs can only be delivered to a bucket encrypted with SSE-S3."},
	)

	if m.props.DomainName == "" {
		suppress(m.distribution, false, suppression{id: "AwsSolutions-CFR4", reason: "No custom domain " +
			"is configured, so CloudFront serves its default certificate whose minimum protocol it fixes at TLSv1. " +
			"Production sets domainName and certificateArn, which applies TLSv1.2_2021 (README, Deploying)."})
	}
	suppress(m.distribution, false, suppression{id: "AwsSolutions-CFR1", reason: "Families travel and " +
		"must reach their practice from abroad; sign-in and the API, not geography, protect the data."})
	suppress(m.pools[routes.Portal].userPool, false, suppression{id: "AwsSolutions-COG2", reason: "Product " +
		"decision (issue 3): MFA is optional for portal users (parents); TOTP is offered, threat protection is " +
		"enforced, and staff MFA is required."})

	if m.props.AlarmEmail != "" {
		for _, c := range *m.alarmTopic.Node().Children() {
			if strings.Contains(*c.Node().Id(), "@") {
				suppress(c, false, suppression{id: "Serverless-SNSRedrivePolicy", reason: "E-mail " +
					"subscription for operators: SNS retries e-mail delivery itself, and the alarm state stays " +
					"in CloudWatch; a dead-letter queue would hold notices nobody reads."})
			}
		}
	}

	for id, q := range map[string]awssqs.Queue{"notifier's event source mapping": m.notify.streamDLQ, "ses-events function and its SNS subscription": m.notify.sesEventsDLQ,
		"scan result rule's target (attach-process)": m.attach.scanDLQ} {
		reason := "This queue is itself the dead-letter queue of the " + id + "; a message that lands here stays " +
			"14 days and raises an alarm, and is read by an operator, so it needs no dead-letter queue or redrive of its own."
		suppress(q, false,
			suppression{id: "AwsSolutions-SQS3", reason: reason},
			suppression{id: "Serverless-SQSRedrivePolicy", reason: reason})
	}
	// The scheduled functions' asynchronous-invocation settings (retries
	// off, events dropped after two minutes) deliberately have no failure
	// destination.
	for _, f := range routes.Functions() {
		if !scheduled(f.Trigger) {
			continue
		}
		if c := m.functions[f.Name].Node().TryFindChild(jsii.String("EventInvokeConfig")); c != nil {
			suppress(c, true, suppression{id: "Serverless-LambdaAsyncFailureDestination", reason: reasonScheduleNoDLQ})
		}
	}

	m.suppressAttachmentFindings()
	m.suppressBucketDeploymentHandler(s)
}

// suppressAttachmentFindings explains what cdk-nag flags on the attachment
// path and why it stands.
func (m *messaging) suppressAttachmentFindings() {
	s := m.stack
	arnOf := func(b awss3.Bucket) string {
		return "<" + *s.GetLogicalId(b.Node().DefaultChild().(awss3.CfnBucket)) + ".Arn>"
	}
	up, chart := arnOf(m.attach.uploads), arnOf(m.attach.chart)
	suppress(m.attach.uploads, false, suppression{id: "HIPAA.Security-S3BucketReplicationEnabled", reason: reasonNoReplication +
		"uploads live here for minutes (until processed) and at most a day (the lifecycle rule); nothing in it is the record."})
	suppress(m.attach.chart, false, suppression{id: "HIPAA.Security-S3BucketReplicationEnabled", reason: reasonNoReplication +
		"the chart's files are versioned and held by Object Lock in this region; a second region is DevOps' choice " +
		"(README, Deploying) and needs a key and a bucket there."})
	objectKeys := "Object keys are the patient's and the file's IDs, made per upload: the grant can name the prefix, not the objects."
	for _, name := range []string{routes.FnAttachments, routes.FnAttachProcess} {
		suppress(m.functionPolicies[name], false, suppression{id: "AwsSolutions-IAM5", reason: objectKeys,
			appliesTo: []interface{}{"Resource::" + up + "/incoming/*", "Resource::" + chart + "/*"}})
	}
	for _, c := range *s.Node().Children() {
		if *c.Node().Id() != "MalwareProtectionPolicy" {
			continue
		}
		suppress(c, false, suppression{id: "AwsSolutions-IAM5", reason: objectKeys + " The rule pattern is the " +
			"name GuardDuty gives the EventBridge rule it manages for the plan (AWS's documented policy for the plan's role).",
			appliesTo: []interface{}{"Resource::" + up + "/incoming/*",
				// The region and account are tokens in an environment-agnostic synth.
				&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:events:[^:]+:.+:rule\/DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3\*$/`)}}})
	}
}

// suppressBucketDeploymentHandler covers the singleton Lambda that CDK's
// BucketDeployment adds at the stack's top level. Its code, runtime and
// role are CDK's, not ours.
func (m *messaging) suppressBucketDeploymentHandler(s awscdk.Stack) {
	siteBucketArn := "Resource::<" + *s.GetLogicalId(m.siteBucket.Node().DefaultChild().(awss3.CfnBucket)) + ".Arn>/*"
	for _, c := range *s.Node().Children() {
		if !strings.HasPrefix(*c.Node().Id(), "Custom::CDKBucketDeployment") {
			continue
		}
		suppress(c, true,
			suppression{id: "AwsSolutions-L1", reason: reasonDeployOnly + " Its Python runtime is pinned by aws-cdk-lib and moves with CDK upgrades."},
			suppression{id: "Serverless-LambdaLatestVersion", reason: reasonDeployOnly + " Its Python runtime is pinned by aws-cdk-lib and moves with CDK upgrades."},
			suppression{id: "HIPAA.Security-LambdaConcurrency", reason: reasonDeployOnly + " It runs once per deployment."},
			suppression{id: "HIPAA.Security-LambdaDLQ", reason: reasonDeployOnly},
			suppression{id: "Serverless-LambdaDLQ", reason: reasonDeployOnly},
			suppression{id: "HIPAA.Security-LambdaInsideVPC", reason: reasonDeployOnly + " It calls only the S3 and CloudFront APIs."},
			suppression{id: "Serverless-LambdaTracing", reason: reasonDeployOnly + " Tracing a deployment step adds nothing."},
			suppression{id: "AwsSolutions-IAM4", reason: reasonDeployOnly + " CDK gives it the AWS basic execution policy to write its own logs.",
				appliesTo: []interface{}{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}},
			suppression{id: "HIPAA.Security-IAMNoInlinePolicy", reason: reasonDeployOnly + " CDK attaches its grants as the role's default policy."},
			suppression{id: "AwsSolutions-IAM5", reason: reasonDeployOnly + " CDK grants it object read on the " +
				"CDK asset bucket, read/write/delete on the site bucket's objects (to sync and prune), and CloudFront invalidation, " +
				"which has no resource-level scoping in this grant.",
				appliesTo: []interface{}{
					"Action::s3:GetObject*", "Action::s3:GetBucket*", "Action::s3:List*", "Action::s3:DeleteObject*", "Action::s3:Abort*",
					siteBucketArn,
					"Resource::*",
					&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-[^/]+\/\*$/`)},
				}},
		)
	}
}
