package stack

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsbackup"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/internal/schema"
)

// LogRetention is the retention of every log group in the stack.
const LogRetention = awslogs.RetentionDays_ONE_YEAR

// BackupRetentionDays is how long AWS Backup keeps each daily recovery point.
const BackupRetentionDays = 35

// newKey creates the one customer-managed key. The key policy keeps CDK's
// default statement (the account may delegate use through IAM, so each
// function's role names exactly the key actions it needs) and adds only the
// two service principals that cannot use IAM: CloudWatch alarms publishing
// to the encrypted alarm topic, here, and CloudWatch Logs, for this stack's
// log groups only, once they all exist (allowLogsToUseKey).
func (m *messaging) newKey() {
	s := m.stack
	m.key = awskms.NewKey(s, jsii.String("DataKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the messaging tables, secrets, logs, alarm topic and backups"),
		Alias:             jsii.String("alias/" + *s.StackName() + "-data"),
		EnableKeyRotation: jsii.Bool(true),
		PendingWindow:     awscdk.Duration_Days(jsii.Number(30)),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	m.key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublishToEncryptedTopic"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Decrypt", "kms:GenerateDataKey"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"aws:SourceAccount": *s.Account()},
		},
	}), jsii.Bool(false))
}

// allowLogsToUseKey lets CloudWatch Logs use the key for exactly the log
// groups this stack creates: their ARNs are the encryption context of
// every request it makes. A log group CloudFormation names is
// "<stack>-<logical ID>-<random>"; any other log group, of this account or
// another stack, is refused. Called once every log group exists.
func (m *messaging) allowLogsToUseKey() {
	s := m.stack
	arns := make([]string, 0, len(m.logGroupNames))
	for _, name := range m.logGroupNames {
		arns = append(arns, "arn:"+*s.Partition()+":logs:"+*s.Region()+":"+*s.Account()+":log-group:"+name)
	}
	m.key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchLogsEncryptsThisStacksLogGroups"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("logs."+*s.Region()+".amazonaws.com"), nil)},
		Actions: jsii.Strings("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
			"kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"),
		Resources: jsii.Strings("*"),
		Conditions: &map[string]interface{}{
			"ArnLike": map[string]interface{}{"kms:EncryptionContext:aws:logs:arn": arns},
		},
	}), jsii.Bool(false))
}

// newLogGroup creates a log group encrypted with the key, with retention,
// named by CloudFormation. Log groups are retained on stack deletion: they
// are audit evidence.
func (m *messaging) newLogGroup(id string) awslogs.LogGroup { return m.newNamedLogGroup(id, "") }

// newNamedLogGroup is newLogGroup with a fixed name, or CloudFormation's
// when name is "". Every log group of the stack is made here, so that the
// key policy names each one.
func (m *messaging) newNamedLogGroup(id, name string) awslogs.LogGroup {
	var fixed *string
	if name != "" {
		fixed = jsii.String(name)
	}
	lg := awslogs.NewLogGroup(m.stack, jsii.String(id), &awslogs.LogGroupProps{
		LogGroupName:  fixed,
		EncryptionKey: m.key,
		Retention:     LogRetention,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	if name == "" {
		cfn := lg.Node().DefaultChild().(awslogs.CfnLogGroup)
		name = *m.stack.StackName() + "-" + *m.stack.GetLogicalId(cfn) + "-*"
	}
	m.logGroupNames = append(m.logGroupNames, name)
	return lg
}

func attribute(k schema.Key) *awsdynamodb.Attribute {
	t := awsdynamodb.AttributeType_STRING
	if k.Type == schema.Number {
		t = awsdynamodb.AttributeType_NUMBER
	}
	return &awsdynamodb.Attribute{Name: jsii.String(k.Name), Type: t}
}

func optAttribute(k *schema.Key) *awsdynamodb.Attribute {
	if k == nil {
		return nil
	}
	return attribute(*k)
}

// AppendOnlyDeniedActions are denied to every principal, the account's
// administrators and CloudFormation included, by the resource policy of each
// schema.Table marked AppendOnly (the audit table): whatever IAM grants,
// nothing can change or remove a record once written.
//   - UpdateItem, DeleteItem: also the Update and Delete parts of a
//     TransactWriteItems, which IAM authorises item by item;
//   - BatchWriteItem: IAM authorises it as one action whatever it carries,
//     so allowing it for puts would let it delete too; nothing writes the
//     audit table in batches (each record is one PutItem);
//   - PartiQLUpdate, PartiQLDelete: ExecuteStatement and its batch and
//     transaction forms;
//   - UpdateTimeToLive: a TTL would let DynamoDB delete records;
//   - DeleteTable: the table is retained by the stack and has deletion
//     protection, so CloudFormation never calls it.
//
// PutItem (and PartiQLInsert) stay allowed, to whom IAM allows them. The
// policy itself can still be changed through the stack, on review.
var AppendOnlyDeniedActions = []string{
	"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
	"dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete",
	"dynamodb:UpdateTimeToLive", "dynamodb:DeleteTable",
}

// appendOnlyPolicy is the resource policy of an append-only table. "*" as
// the resource is the table itself (and its indexes and stream): a table's
// policy cannot name the table's own ARN before the table exists.
func appendOnlyPolicy() awsiam.PolicyDocument {
	return awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AppendOnlyNoUpdateOrDeleteByAnyone"),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewStarPrincipal()},
			Actions:    jsii.Strings(AppendOnlyDeniedActions...),
			Resources:  jsii.Strings("*"),
		})},
	})
}

// newTables creates every table of schema.Tables(), and nothing else: keys,
// indexes, TTL, streams and the append-only policy all come from the
// schema, so a table added there needs no change here. Table names are left to
// CloudFormation and passed to the functions in the environment, so two
// stacks (stages) can live in one account.
func (m *messaging) newTables() {
	m.tables = map[string]awsdynamodb.Table{}
	for _, t := range schema.Tables() {
		var ttl *string
		if t.TTLAttribute != "" {
			ttl = jsii.String(t.TTLAttribute)
		}
		var policy awsiam.PolicyDocument
		if t.AppendOnly {
			policy = appendOnlyPolicy()
		}
		// The schema's view types are DynamoDB's own names (NEW_IMAGE, ...),
		// which CDK's enum spells the same way.
		var stream awsdynamodb.StreamViewType
		if t.Stream != "" {
			stream = awsdynamodb.StreamViewType(t.Stream)
		}
		tbl := awsdynamodb.NewTable(m.stack, jsii.String(t.Name+"Table"), &awsdynamodb.TableProps{
			PartitionKey:  attribute(t.PartitionKey),
			SortKey:       optAttribute(t.SortKey),
			BillingMode:   awsdynamodb.BillingMode_PAY_PER_REQUEST,
			Encryption:    awsdynamodb.TableEncryption_CUSTOMER_MANAGED,
			EncryptionKey: m.key,
			PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
				PointInTimeRecoveryEnabled: jsii.Bool(true),
				RecoveryPeriodInDays:       jsii.Number(BackupRetentionDays),
			},
			DeletionProtection:  jsii.Bool(true),
			RemovalPolicy:       awscdk.RemovalPolicy_RETAIN,
			TimeToLiveAttribute: ttl,
			ResourcePolicy:      policy,
			Stream:              stream,
		})
		for _, g := range t.GSIs {
			tbl.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
				IndexName:      jsii.String(g.Name),
				PartitionKey:   attribute(g.PartitionKey),
				SortKey:        optAttribute(g.SortKey),
				ProjectionType: awsdynamodb.ProjectionType_ALL,
			})
		}
		for _, l := range t.LSIs {
			tbl.AddLocalSecondaryIndex(&awsdynamodb.LocalSecondaryIndexProps{
				IndexName:      jsii.String(l.Name),
				SortKey:        attribute(*l.SortKey),
				ProjectionType: awsdynamodb.ProjectionType_ALL,
			})
		}
		m.tables[t.Name] = tbl
	}
}

// newBackups puts every table in a daily AWS Backup plan whose vault is
// encrypted with the key. This is on top of PITR: a backup survives the
// table's deletion and PITR's 35-day window.
func (m *messaging) newBackups() {
	s := m.stack
	vault := awsbackup.NewBackupVault(s, jsii.String("BackupVault"), &awsbackup.BackupVaultProps{
		EncryptionKey: m.key,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	plan := awsbackup.NewBackupPlan(s, jsii.String("BackupPlan"), &awsbackup.BackupPlanProps{
		BackupVault: vault,
		BackupPlanRules: &[]awsbackup.BackupPlanRule{
			awsbackup.NewBackupPlanRule(&awsbackup.BackupPlanRuleProps{
				RuleName:           jsii.String("Daily35Days"),
				ScheduleExpression: awsevents.Schedule_Cron(&awsevents.CronOptions{Hour: jsii.String("5"), Minute: jsii.String("0")}),
				DeleteAfter:        awscdk.Duration_Days(jsii.Number(BackupRetentionDays)),
			}),
		},
	})
	var resources []awsbackup.BackupResource
	for _, t := range schema.Tables() {
		resources = append(resources, awsbackup.BackupResource_FromDynamoDbTable(m.tables[t.Name]))
	}
	m.backupSelection = plan.AddSelection(jsii.String("Tables"), &awsbackup.BackupSelectionOptions{
		Resources:     &resources,
		AllowRestores: jsii.Bool(true),
	})
}

// newCursorSecret creates the HMAC key that signs pagination cursors: a
// generated 64-character value, encrypted with the key. Losing it only
// invalidates cursors in flight, so it is not retained.
func (m *messaging) newCursorSecret() {
	m.cursorSecret = awssecretsmanager.NewSecret(m.stack, jsii.String("CursorKey"), &awssecretsmanager.SecretProps{
		Description:   jsii.String("HMAC key that signs pagination cursors"),
		EncryptionKey: m.key,
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			PasswordLength:     jsii.Number(64),
			ExcludePunctuation: jsii.Bool(true),
			IncludeSpace:       jsii.Bool(false),
		},
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
}
