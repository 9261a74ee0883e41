package stack

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/internal/lambdaapp"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

// Function sizing. Go handlers are small and I/O bound: 256 MB gives enough
// CPU for TLS and JSON, and 10 s leaves room for DynamoDB retries inside
// API Gateway's 30 s integration limit.
const (
	FunctionMemoryMB       = 256
	FunctionTimeoutSeconds = 10
)

// Environment variable names the handlers read.
const (
	EnvPortalIssuer  = lambdaapp.EnvPortalIssuer
	EnvStaffIssuer   = lambdaapp.EnvStaffIssuer
	EnvCursorKeyARN  = lambdaapp.EnvCursorSecret
	bootstrapBinary  = "bootstrap"
	lambdaPrincipal  = "lambda.amazonaws.com"
	xrayResourceNote = "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions; the statement holds only those two actions."
)

// TableEnv is the environment variable that carries a table's physical
// name, e.g. TABLE_MESSAGES for schema.Messages.
func TableEnv(table string) string { return lambdaapp.TableEnv(table) }

// DynamoDB actions per access level. Nothing here lets a function scan,
// batch-write, or change a table's settings. A TransactWriteItems call is
// authorised item by item through PutItem and UpdateItem; no code issues a
// ConditionCheck, so ConditionCheckItem is not granted.
var (
	readItemActions  = []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
	readIndexActions = []string{"dynamodb:Query"}
	appendActions    = []string{"dynamodb:PutItem"}
	updateActions    = []string{"dynamodb:UpdateItem"}
	writeActions     = []string{"dynamodb:PutItem", "dynamodb:UpdateItem"}
	deleteActions    = []string{"dynamodb:DeleteItem"}

	kmsReadActions  = []string{"kms:Decrypt", "kms:DescribeKey"}
	kmsWriteActions = []string{"kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"}
)

// mayDelete reports whether ReadWrite access to a table includes
// DeleteItem. Only the directory holds items that are removed (unlinking a
// portal user deletes the link item). Messages belong to the chart and are
// never deleted, retractions included; idempotency records expire by TTL,
// which needs no permission. Append-only tables never get it.
func mayDelete(table string) bool { return table == schema.Directory }

// patientPartition is the partition-key prefix of a patient's directory
// items (its profile and its portal-user links); staff records live under
// "STAFF#", portal users under "PORTALUSER#".
const patientPartition = "PATIENT#"

// writePartitionPrefixes limits a function's writes on a table to items
// whose partition key starts with a prefix (dynamodb:LeadingKeys), where
// the function writes only some of the table's partitions. Its reads stay
// unconditioned. manage-links writes link items in patient partitions and
// must never rewrite a staff record, though it reads them.
var writePartitionPrefixes = map[string]map[string]string{
	routes.FnManageLinks: {schema.Directory: patientPartition},
}

// WritePartitionPrefix returns the partition-key prefix a function's writes
// on a table are limited to, or "" when they are not limited.
func WritePartitionPrefix(function, table string) string {
	return writePartitionPrefixes[function][table]
}

// TableActions returns the DynamoDB actions a function gets on a table for
// an access level: the reads and the writes on the table's items, and the
// actions on its indexes.
func TableActions(table string, a routes.Access) (reads, writes, onIndexes []string) {
	switch a {
	case routes.Read:
		return slices.Clone(readItemActions), nil, slices.Clone(readIndexActions)
	case routes.Append:
		return nil, slices.Clone(appendActions), nil
	case routes.ReadUpdate:
		return slices.Clone(readItemActions), slices.Clone(updateActions), slices.Clone(readIndexActions)
	case routes.ReadWrite:
		writes = slices.Clone(writeActions)
		if mayDelete(table) {
			writes = append(writes, deleteActions...)
		}
		return slices.Clone(readItemActions), writes, slices.Clone(readIndexActions)
	}
	return nil, nil, nil
}

// indexNames lists a table's secondary indexes from the schema, so grants
// name each index ARN instead of index/*.
func indexNames(table string) []string {
	for _, t := range schema.Tables() {
		if t.Name != table {
			continue
		}
		var names []string
		for _, i := range slices.Concat(t.GSIs, t.LSIs) {
			names = append(names, i.Name)
		}
		return names
	}
	return nil
}

func appendOnly(table string) bool {
	for _, t := range schema.Tables() {
		if t.Name == table {
			return t.AppendOnly
		}
	}
	return false
}

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

// newFunctions creates one function per routes.Functions() entry, each with
// its own role, managed policy and encrypted log group.
func (m *messaging) newFunctions() error {
	// A partition limit on a table the function does not use would limit
	// nothing: refuse it rather than let it go stale silently.
	for fn, tables := range writePartitionPrefixes {
		i := slices.IndexFunc(routes.Functions(), func(f routes.Function) bool { return f.Name == fn })
		if i < 0 {
			return fmt.Errorf("write partition prefix for unknown function %q", fn)
		}
		for table := range tables {
			if _, ok := routes.Functions()[i].Tables[table]; !ok {
				return fmt.Errorf("function %s: write partition prefix on %s, which it does not use", fn, table)
			}
		}
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

func (m *messaging) newFunction(f routes.Function) (awslambda.Function, error) {
	s := m.stack
	id := pascal(f.Name)
	dir := filepath.Join(m.props.FunctionsDir, f.Name)
	if _, err := os.Stat(filepath.Join(dir, bootstrapBinary)); err != nil {
		return nil, fmt.Errorf("function %s: %w (run `make build` first)", f.Name, err)
	}

	logs := m.newLogGroup(id + "Logs")
	role := awsiam.NewRole(s, jsii.String(id+"Role"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String(lambdaPrincipal), nil),
		Description: jsii.String("Runs the " + f.Name + " function"),
	})
	statements, err := m.functionStatements(f, logs)
	if err != nil {
		return nil, err
	}
	policy := awsiam.NewManagedPolicy(s, jsii.String(id+"Policy"), &awsiam.ManagedPolicyProps{
		Description: jsii.String("Least privilege for the " + f.Name + " function"),
		Statements:  &statements,
		Roles:       &[]awsiam.IRole{role},
	})

	env := map[string]*string{
		EnvPortalIssuer: m.pools[routes.Portal].issuer,
		EnvStaffIssuer:  m.pools[routes.Staff].issuer,
	}
	for table := range f.Tables {
		env[TableEnv(table)] = m.tables[table].TableName()
	}
	if f.Cursors {
		env[EnvCursorKeyARN] = m.cursorSecret.SecretArn()
	}

	fn := awslambda.NewFunction(s, jsii.String(id+"Function"), &awslambda.FunctionProps{
		Description:  jsii.String("messaging " + f.Name),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String(bootstrapBinary),
		Code:         awslambda.Code_FromAsset(jsii.String(dir), nil),
		MemorySize:   jsii.Number(FunctionMemoryMB),
		Timeout:      awscdk.Duration_Seconds(jsii.Number(FunctionTimeoutSeconds)),
		// Caps what one function can take from the account and what it can
		// push at DynamoDB; API throttling sits in front of it.
		ReservedConcurrentExecutions: jsii.Number(float64(m.props.ReservedConcurrency)),
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
// (writes limited to the partitions of writePartitionPrefixes), the key
// actions that access needs (only through DynamoDB), and for cursor
// functions, read the cursor key.
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

	tables := make([]string, 0, len(f.Tables))
	for t := range f.Tables {
		tables = append(tables, t)
	}
	slices.Sort(tables) // deterministic template
	mayWrite := false
	for _, name := range tables {
		access := f.Tables[name]
		tbl, ok := m.tables[name]
		if !ok {
			return nil, fmt.Errorf("function %s: unknown table %q", f.Name, name)
		}
		if appendOnly(name) && access != routes.Append && access != routes.Read {
			return nil, fmt.Errorf("function %s: table %s is append-only, access %d not allowed", f.Name, name, access)
		}
		reads, writes, onIndexes := TableActions(name, access)
		if len(reads)+len(writes) == 0 {
			continue
		}
		if len(writes) > 0 {
			mayWrite = true
		}
		if prefix := WritePartitionPrefix(f.Name, name); prefix == "" {
			st = append(st, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String(name + "Items"),
				Actions:   jsii.Strings(slices.Concat(reads, writes)...),
				Resources: &[]*string{tbl.TableArn()},
			}))
		} else {
			if len(writes) == 0 {
				return nil, fmt.Errorf("function %s: write partition prefix on %s, which it does not write", f.Name, name)
			}
			if len(reads) > 0 {
				st = append(st, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String(name + "Items"),
					Actions:   jsii.Strings(reads...),
					Resources: &[]*string{tbl.TableArn()},
				}))
			}
			st = append(st, awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Sid:       jsii.String(name + "WritesInPrefixedPartitions"),
				Actions:   jsii.Strings(writes...),
				Resources: &[]*string{tbl.TableArn()},
				Conditions: &map[string]interface{}{
					"ForAllValues:StringLike": map[string]interface{}{"dynamodb:LeadingKeys": []string{prefix + "*"}},
				},
			}))
		}
		if idx := indexNames(name); len(onIndexes) > 0 && len(idx) > 0 {
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
