package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsguardduty"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/internal/attach"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/routes"
)

// ChartRetentionYears is the Object Lock default retention of the files
// in the chart: a pediatric record is kept past the age of majority plus
// the state's limitation period, so 25 years covers a newborn's. Governance
// mode: nobody deletes a version before then without the
// s3:BypassGovernanceRetention right, which no role of the stack has.
const ChartRetentionYears = 25

// UploadExpiryDays is how long the upload bucket keeps what the processor
// left there (refused and infected files): long enough to look at an
// incident, short enough that nothing lingers.
const UploadExpiryDays = 1

// attachments are the resources of uploaded files.
type attachments struct {
	uploads, chart awss3.Bucket
	scanDLQ        awssqs.Queue
}

// newAttachmentBuckets makes the two buckets: uploads, where browsers post
// and GuardDuty scans, and the chart, where only the processor writes what
// it made safe. Both use the stack's key, block every public access, take
// TLS 1.2 or later only, and log access to the access-log bucket.
func (m *messaging) newAttachmentBuckets() {
	s := m.stack
	common := func(prefix string) awss3.BucketProps {
		return awss3.BucketProps{
			BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
			Encryption:             awss3.BucketEncryption_KMS,
			EncryptionKey:          m.key,
			BucketKeyEnabled:       jsii.Bool(true),
			EnforceSSL:             jsii.Bool(true),
			MinimumTLSVersion:      jsii.Number(1.2),
			ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
			ServerAccessLogsBucket: m.logBucket,
			ServerAccessLogsPrefix: jsii.String("s3/" + prefix + "/"),
			RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		}
	}
	up := common("uploads")
	// The browser posts straight here from the pages' origin, and only
	// there; S3 then answers the POST with 204.
	up.Cors = &[]*awss3.CorsRule{{
		AllowedOrigins: jsii.Strings(*m.siteURL),
		AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_POST},
		AllowedHeaders: jsii.Strings("*"),
		MaxAge:         jsii.Number(3000),
	}}
	// Versioned, as every bucket of the stack; the processor's delete of
	// an original leaves a noncurrent version that expires within a day.
	up.Versioned = jsii.Bool(true)
	up.LifecycleRules = &[]*awss3.LifecycleRule{{
		Id:                                  jsii.String("ExpireLeftUploads"),
		Expiration:                          awscdk.Duration_Days(jsii.Number(UploadExpiryDays)),
		NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(UploadExpiryDays)),
		AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
	}}
	m.attach.uploads = awss3.NewBucket(s, jsii.String("UploadBucket"), &up)

	chart := common("chart")
	chart.Versioned = jsii.Bool(true)
	chart.ObjectLockEnabled = jsii.Bool(true)
	chart.ObjectLockDefaultRetention = awss3.ObjectLockRetention_Governance(awscdk.Duration_Days(jsii.Number(365 * ChartRetentionYears)))
	// Thumbnails load in <img> from the pages' origin; downloads are
	// plain navigations. GET only.
	chart.Cors = &[]*awss3.CorsRule{{
		AllowedOrigins: jsii.Strings(*m.siteURL),
		AllowedMethods: &[]awss3.HttpMethods{awss3.HttpMethods_GET},
		MaxAge:         jsii.Number(3000),
	}}
	m.attach.chart = awss3.NewBucket(s, jsii.String("ChartFilesBucket"), &chart)
	// The product never deletes from the chart: no principal may, Object
	// Lock or not.
	m.attach.chart.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("NeverDeleteChartFiles"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention", "s3:PutLifecycleConfiguration"),
		Resources:  jsii.Strings(*m.attach.chart.BucketArn(), *m.attach.chart.BucketArn()+"/*"),
	}))
	m.attach.scanDLQ = m.newDeadLetterQueue("ScanResultDLQ")
	// EventBridge writes the rule's dead-letter queue, which the key
	// encrypts.
	m.key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("EventBridgeWritesScanResultDLQ"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": *s.Account()}},
	}), jsii.Bool(false))
	m.newMalwareProtection()
}

// newMalwareProtection protects the upload bucket's incoming/ prefix with
// GuardDuty Malware Protection for S3, which scans each new object and
// tags it GuardDutyMalwareScanStatus; its role is the one AWS documents
// for the plan, held to this bucket and the key.
func (m *messaging) newMalwareProtection() {
	s := m.stack
	up := m.attach.uploads
	role := awsiam.NewRole(s, jsii.String("MalwareProtectionRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("malware-protection-plan.guardduty.amazonaws.com"), nil),
		Description: jsii.String("GuardDuty Malware Protection for S3 on the upload bucket"),
	})
	ruleARN := m.arn("events", "rule/DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3*")
	policy := awsiam.NewManagedPolicy(s, jsii.String("MalwareProtectionPolicy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("What GuardDuty needs to scan and tag the upload bucket's objects"),
		Roles:       &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("ManageScanRule"),
				Actions:   jsii.Strings("events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets"),
				Resources: jsii.Strings(ruleARN),
				Conditions: &map[string]interface{}{
					"StringLike": map[string]interface{}{"events:ManagedBy": "malware-protection-plan.guardduty.amazonaws.com"},
				},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("ReadScanRule"),
				Actions:   jsii.Strings("events:DescribeRule", "events:ListTargetsByRule"),
				Resources: jsii.Strings(ruleARN),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("BucketNotifications"),
				Actions:   jsii.Strings("s3:PutBucketNotification", "s3:GetBucketNotification", "s3:ListBucket"),
				Resources: &[]*string{up.BucketArn()},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid: jsii.String("ScanAndTagUploads"),
				Actions: jsii.Strings("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging", "s3:GetObjectVersionTagging",
					"s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
				Resources: jsii.Strings(*up.BucketArn() + "/incoming/*"),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("ValidationObject"),
				Actions:   jsii.Strings("s3:PutObject"),
				Resources: jsii.Strings(*up.BucketArn() + "/malware-protection-resource-validation-object"),
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("DecryptUploads"),
				Actions:   jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
				Resources: &[]*string{m.key.KeyArn()},
				Conditions: &map[string]interface{}{
					"StringLike": map[string]interface{}{"kms:ViaService": "s3.*.amazonaws.com"},
				},
			}),
		},
	})
	plan := awsguardduty.NewCfnMalwareProtectionPlan(s, jsii.String("UploadMalwareProtection"), &awsguardduty.CfnMalwareProtectionPlanProps{
		Role: role.RoleArn(),
		ProtectedResource: &awsguardduty.CfnMalwareProtectionPlan_CFNProtectedResourceProperty{
			S3Bucket: &awsguardduty.CfnMalwareProtectionPlan_S3BucketProperty{
				BucketName:     up.BucketName(),
				ObjectPrefixes: jsii.Strings("incoming/"),
			},
		},
		Actions: &awsguardduty.CfnMalwareProtectionPlan_CFNActionsProperty{
			Tagging: &awsguardduty.CfnMalwareProtectionPlan_CFNTaggingProperty{Status: jsii.String("ENABLED")},
		},
	})
	plan.Node().AddDependency(policy)
}

// newScanResultRule sends GuardDuty's scan results for the upload bucket
// to the processor, retrying for a day and keeping what still fails in
// its dead-letter queue.
func (m *messaging) newScanResultRule(fn awslambda.Function) {
	rule := awsevents.NewRule(m.stack, jsii.String("ScanResultRule"), &awsevents.RuleProps{
		Description: jsii.String("GuardDuty Malware Protection scan results of the upload bucket, to attach-process"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.guardduty"),
			DetailType: jsii.Strings(attach.ScanEventType),
			Detail: &map[string]interface{}{
				"s3ObjectDetails": map[string]interface{}{"bucketName": []*string{m.attach.uploads.BucketName()}},
			},
		},
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: m.attach.scanDLQ,
		RetryAttempts:   jsii.Number(8),
		MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
	}))
}

// blobEnv names the buckets for the functions that use them.
func (m *messaging) blobEnv(f routes.Function, env map[string]*string) {
	if f.Blobs == routes.BlobNone {
		return
	}
	env[envvar.UploadsBucket] = m.attach.uploads.BucketName()
	env[envvar.ChartBucket] = m.attach.chart.BucketName()
}

// blobStatements are a function's rights on the buckets. A presigned
// request carries its signer's rights, so the signer may put into
// incoming/ (the POST) and get from the chart (the links), and nothing
// else; the processor reads, reads the tags of and deletes uploads, and
// puts into the chart. The key is used only through S3.
func (m *messaging) blobStatements(f routes.Function) []awsiam.PolicyStatement {
	up, chart := *m.attach.uploads.BucketArn(), *m.attach.chart.BucketArn()
	viaS3 := func(sid string, actions ...string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: &[]*string{m.key.KeyArn()},
			Conditions: &map[string]interface{}{
				"StringEquals": map[string]interface{}{"kms:ViaService": "s3." + *m.stack.Region() + ".amazonaws.com"},
			},
		})
	}
	stmt := func(sid, resource string, actions ...string) awsiam.PolicyStatement {
		return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: jsii.Strings(resource),
		})
	}
	switch f.Blobs {
	case routes.BlobSign:
		return []awsiam.PolicyStatement{
			stmt("SignUploads", up+"/incoming/*", "s3:PutObject"),
			stmt("SignDownloads", chart+"/*", "s3:GetObject"),
			viaS3("UseFileKeyThroughS3", "kms:Decrypt", "kms:GenerateDataKey"),
		}
	case routes.BlobProcess:
		return []awsiam.PolicyStatement{
			stmt("ReadScannedUploads", up+"/incoming/*", "s3:GetObject", "s3:GetObjectTagging", "s3:DeleteObject"),
			stmt("StoreSafeFiles", chart+"/*", "s3:PutObject"),
			viaS3("UseFileKeyThroughS3", "kms:Decrypt", "kms:GenerateDataKey"),
		}
	}
	return nil
}
