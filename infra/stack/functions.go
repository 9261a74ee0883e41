package stack

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/grants"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
	"github.com/pedsportal/messaging/internal/store"
)

// Function sizing. Go handlers are small and I/O bound: 256 MB gives enough
// CPU for TLS and JSON, and 10 s leaves room for DynamoDB retries inside
// API Gateway's 30 s integration limit. Functions no route serves may take
// longer (functionTimeoutSeconds).
const (
	FunctionMemoryMB       = 256
	FunctionTimeoutSeconds = 10
)

const (
	bootstrapBinary  = "bootstrap"
	lambdaPrincipal  = "lambda.amazonaws.com"
	xrayResourceNote = "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; the statement holds only those two actions."
)

// ProcessorMemoryMB is attach-process's memory: decoding a 50-megapixel
// photo takes 200 MB of pixels, and Lambda's CPU grows with memory, which
// is what re-encoding spends.
const ProcessorMemoryMB = 1024

func functionMemoryMB(f routes.Function) float64 {
	if f.Blobs == routes.BlobProcess {
		return ProcessorMemoryMB
	}
	return FunctionMemoryMB
}

// updateAttributes are, per table whose updates grants may limit, the
// store's list of attributes such an update may touch and the Sid suffix
// of the statement that allows it.
var updateAttributes = map[string]struct {
	list func(function string) []string
	sid  string
}{
	schema.Messages:  {store.HeaderAttributesFor, "HeaderUpdates"},
	schema.Directory: {func(string) []string { return store.PreferenceAttributes() }, "PreferenceUpdates"},
}

// KMS actions a function needs on the data key, only through DynamoDB.
var (
	kmsReadActions  = []string{"kms:Decrypt", "kms:DescribeKey"}
	kmsWriteActions = []string{"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"}
)

// pascal turns "list-conversations" into "ListConversations" for construct IDs.
func pascal(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// checkBuilds fails when a function's bootstrap is missing, before any
// construct is made, so the error names `make build` rather than whatever
// construct would trip first.
func (m *messaging) checkBuilds() error {
	for _, f := range routes.Functions() {
		if _, err := os.Stat(filepath.Join(m.props.FunctionsDir, f.Name, bootstrapBinary)); err != nil {
			return fmt.Errorf("function %s: %w (run `make build` first)", f.Name, err)
		}
	}
	return nil
}

// newFunctions creates one function per routes.Functions() entry, each with
// its own role, managed policy and encrypted log group.
func (m *messaging) newFunctions() error {
	// Refuse grants that disagree with the route table or the schema (an
	// unknown table, a write on the append-only audit trail, a partition
	// limit that would limit nothing) before building any policy.
	if err := grants.Check(); err != nil {
		return err
	}
	m.functions = map[string]awslambda.Function{}
	for _, f := range routes.Functions() {
		fn, err := m.newFunction(f)
		if err != nil {
			return err
		}
		m.functions[f.Name] = fn
	}
	return nil
}

// functionSettings are the values envvar.Function hands out, as
// CloudFormation tokens: the pools' issuers and app clients (which the
// handlers cross-check against every token's iss and client_id), the
// tables' names and the cursor secret, and for the functions that send,
// the sender (mailFrom and its SES identity), the configuration set, the
// SMS origination identity when set, and the API's URL, which unsubscribe
// links point to.
func (m *messaging) functionSettings() envvar.Settings {
	portal, staff := m.pools[routes.Portal], m.pools[routes.Staff]
	return envvar.Settings{
		PortalIssuer:    *portal.issuer,
		StaffIssuer:     *staff.issuer,
		PortalClientID:  *portal.client.UserPoolClientId(),
		StaffClientID:   *staff.client.UserPoolClientId(),
		CursorSecretARN: *m.cursorSecret.SecretArn(),
		TableName:       func(logical string) string { return *m.tables[logical].TableName() },

		MailFrom:            m.props.MailFrom,
		MailFromARN:         m.notify.identityARN,
		SESConfigurationSet: m.notify.configSetName,
		SMSOrigin:           m.notify.smsARN,
		APIURL:              *m.apiURL,
	}
}

func (m *messaging) newFunction(f routes.Function) (awslambda.Function, error) {
	s := m.stack
	id := pascal(f.Name)
	dir := filepath.Join(m.props.FunctionsDir, f.Name)

	logs := m.newLogGroup(id + "Logs")
	role := awsiam.NewRole(s, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String(lambdaPrincipal), nil),
		Description: jsii.String("Runs the " + f.Name + " function"),
	})
	statements, err := m.functionStatements(f, logs)
	if err != nil {
		return nil, err
	}
	statements = append(statements, m.triggerStatements(f)...)
	statements = append(statements, m.blobStatements(f)...)
	policy := awsiam.NewManagedPolicy(s, jsii.String(id+"Policy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("Least privilege for the " + f.Name + " function"),
		Statements:  &statements,
		Roles:       &[]awsiam.IRole{role},
	})

	env := map[string]*string{}
	for k, v := range envvar.Function(slices.Sorted(maps.Keys(f.Tables)), f.Cursors, f.Sends, m.functionSettings()) {
		env[k] = jsii.String(v)
	}
	m.blobEnv(f, env)

	// ses-events is invoked asynchronously (by SNS): an event it fails on
	// three times goes to its dead-letter queue rather than being lost. The
	// HTTP functions answer their caller, the notifier's mapping has its
	// own on-failure queue, and the flusher's next run redoes its work.
	var dlq awssqs.IQueue
	if f.Trigger == routes.SESEvents {
		dlq = m.notify.sesEventsDLQ
	}

	fn := awslambda.NewFunction(s, jsii.String(id+"Function"), &awslambda.FunctionProps{
		Description:  jsii.String("messaging " + f.Name),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String(bootstrapBinary),
		Code:         awslambda.Code_FromAsset(jsii.String(dir), nil),
		MemorySize:   jsii.Number(functionMemoryMB(f)),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(functionTimeoutSeconds(f))),
		// Caps what one function can take from the account and what it can
		// push at DynamoDB; API throttling sits in front of it.
		ReservedConcurrentExecutions: jsii.Number(m.reservedConcurrency(f)),
		DeadLetterQueue:              dlq,
		Tracing:                      awslambda.Tracing_ACTIVE,
		// The policy above is the whole of the role's permissions: CDK's
		// automatic grants (X-Ray, logs) would add an inline policy.
		Role:                  role.WithoutPolicyUpdates(&awsiam.WithoutPolicyUpdatesOptions{AddGrantsToResources: jsii.Bool(false)}),
		LogGroup:              logs,
		LoggingFormat:         awslambda.LoggingFormat_JSON,
		ApplicationLogLevelV2: awslambda.ApplicationLogLevel(m.props.LogLevel),
		SystemLogLevelV2:      awslambda.SystemLogLevel_WARN,
		Environment:           &env,
	})
	fn.Node().AddDependency(policy)
	m.functionPolicies[f.Name] = policy
	return fn, nil
}

// functionStatements is the whole of a function's permissions: write its
// own log group, send traces, the table access routes.Functions() lists
// (as package grants spells it, with its partition and attribute limits),
// the key actions that access needs (only through DynamoDB), and for
// cursor functions, read the cursor key.
func (m *messaging) functionStatements(f routes.Function, logs awslogs.LogGroup) ([]awsiam.PolicyStatement, error) {
	s := m.stack
	st := []awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("WriteOwnLogs"),
			Actions:   jsii.Strings("logs:CreateLogStream", "logs:PutLogEvents"),
			Resources: &[]*string{logs.LogGroupArn()},
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:       jsii.String("SendTraces"),
			Actions:   jsii.Strings("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
			Resources: jsii.Strings("*"),
		}),
	}

	mayWrite := false
	for _, name := range slices.Sorted(maps.Keys(f.Tables)) { // deterministic template
		access := f.Tables[name]
		tbl, ok := m.tables[name]
		if !ok {
			return nil, fmt.Errorf("function %s: unknown table %q", f.Name, name)
		}
		reads, writes, onIndexes := grants.TableActions(name, access)
		if len(reads)+len(writes) == 0 {
			continue
		}
		if len(writes) > 0 {
			mayWrite = true
		}
		// Writes limited to some partitions carry dynamodb:LeadingKeys.
		var leading map[string]interface{}
		if prefixes := grants.WritePartitionPrefixes(f.Name, name); len(prefixes) > 0 {
			var like []string
			for _, p := range prefixes {
				like = append(like, p+"*")
			}
			leading = map[string]interface{}{
				"ForAllValues:StringLike": map[string]interface{}{"dynamodb:LeadingKeys": like},
			}
		}
		// Updates limited to some attributes (Messages: a message is never
		// edited in place, only its header; the directory, for
		// preferences: a portal user's channels only) get a statement of
		// their own.
		limitedUpdates := grants.UpdatesLimited(f.Name, name) && slices.Contains(writes, grants.UpdateItem)
		if limitedUpdates {
			writes = slices.DeleteFunc(writes, func(a string) bool { return a == grants.UpdateItem })
		}
		items := reads
		if leading == nil {
			items = slices.Concat(reads, writes)
		}
		if len(items) > 0 {
			st = append(st, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String(name + "Items"),
				Actions:   jsii.Strings(items...),
				Resources: &[]*string{tbl.TableArn()},
			}))
		}
		if leading != nil && len(writes) > 0 {
			st = append(st, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String(name + "WritesInPrefixedPartitions"),
				Actions:    jsii.Strings(writes...),
				Resources:  &[]*string{tbl.TableArn()},
				Conditions: &leading,
			}))
		}
		if limitedUpdates {
			attrs, ok := updateAttributes[name]
			if !ok {
				return nil, fmt.Errorf("function %s: updates on %s are limited, but the store names no attributes for it", f.Name, name)
			}
			cond := map[string]interface{}{
				"ForAllValues:StringEquals": map[string]interface{}{
					"dynamodb:Attributes": grants.UpdateAttributes(name, attrs.list(f.Name)),
				},
			}
			maps.Copy(cond, leading)
			st = append(st, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:        jsii.String(name + attrs.sid),
				Actions:    jsii.Strings(grants.UpdateItem),
				Resources:  &[]*string{tbl.TableArn()},
				Conditions: &cond,
			}))
		}
		if idx := grants.FunctionIndexNames(f.Name, name); len(onIndexes) > 0 && len(idx) > 0 {
			var arns []*string
			for _, i := range idx {
				arns = append(arns, jsii.String(*tbl.TableArn()+"/index/"+i))
			}
			st = append(st, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String(name + "Indexes"),
				Actions:   jsii.Strings(onIndexes...),
				Resources: &arns,
			}))
		}
	}

	kmsActions := kmsReadActions
	if mayWrite {
		kmsActions = kmsWriteActions
	}
	st = append(st, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("UseDataKeyThroughDynamoDB"),
		Actions:   jsii.Strings(kmsActions...),
		Resources: &[]*string{m.key.KeyArn()},
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{"kms:ViaService": "dynamodb." + *s.Region() + ".amazonaws.com"},
		},
	}))

	if f.Cursors {
		st = append(st,
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("ReadCursorKey"),
				Actions:   jsii.Strings("secretsmanager:GetSecretValue"),
				Resources: &[]*string{m.cursorSecret.SecretArn()},
			}),
			awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String("DecryptCursorKey"),
				Actions:   jsii.Strings("kms:Decrypt"),
				Resources: &[]*string{m.key.KeyArn()},
				Conditions: &map[string]interface{}{
					"StringEquals": map[string]interface{}{"kms:ViaService": "secretsmanager." + *s.Region() + ".amazonaws.com"},
				},
			}))
	}
	return st, nil
}
