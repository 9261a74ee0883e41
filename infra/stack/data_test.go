package stack_test

import (
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/internal/schema"
)

func TestOneCustomerManagedKeyWithRotationAndScopedPolicy(t *testing.T) {
	// GIVEN the synthesized stack
	// WHEN we read its KMS keys
	key := full.only(t, "AWS::KMS::Key")

	// THEN there is exactly one, rotated, retained, and its policy grants
	// nothing to a service without a condition that scopes it to this account.
	check(t, "rotation", func() {
		full.template.HasResourceProperties(jsii.String("AWS::KMS::Key"), map[string]any{"EnableKeyRotation": true})
	})
	if key.Raw["DeletionPolicy"] != "Retain" {
		t.Errorf("key DeletionPolicy = %v, want Retain", key.Raw["DeletionPolicy"])
	}
	for _, st := range statements(path(key.Props, "KeyPolicy")) {
		service := path(st, "Principal", "Service")
		if service == nil {
			continue
		}
		if st["Condition"] == nil {
			t.Errorf("key policy statement for %v has no condition", service)
		}
		for _, a := range strs(st["Action"]) {
			if strings.Contains(a, "*") {
				t.Errorf("key policy grants %v the wildcard action %s", service, a)
			}
		}
	}
}

// pseudo resolves the template's pseudo parameters as the test stacks see them.
var pseudo = map[string]string{"AWS::Partition": "aws", "AWS::Region": testRegion, "AWS::AccountId": testAccount, "AWS::URLSuffix": "amazonaws.com"}

// resolveString evaluates a template string made of literals, pseudo
// parameters and Fn::Join; ok is false for anything else.
func resolveString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case map[string]any:
		if r, ok := x["Ref"].(string); ok {
			s, ok := pseudo[r]
			return s, ok
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			var parts []string
			for _, p := range asList(j[1]) {
				s, ok := resolveString(p)
				if !ok {
					return "", false
				}
				parts = append(parts, s)
			}
			return strings.Join(parts, j[0].(string)), true
		}
	}
	return "", false
}

// arnLike matches an ARN against an IAM ArnLike pattern (* and ?).
func arnLike(pattern, arn string) bool {
	re := regexp.QuoteMeta(pattern)
	re = strings.ReplaceAll(re, `\*`, ".*")
	re = strings.ReplaceAll(re, `\?`, ".")
	return regexp.MustCompile("^" + re + "$").MatchString(arn)
}

func TestKeyPolicyKeepsAccountAdminAndScopesLogsToThisStacksLogGroups(t *testing.T) {
	for name, s := range map[string]synthesized{"full": full, "plain": plain} {
		t.Run(name, func(t *testing.T) {
			// GIVEN the key policy and the stack's log groups
			key := s.only(t, "AWS::KMS::Key")
			stackName := *s.stack.StackName()
			logArn := func(account, group string) string {
				return "arn:aws:logs:" + testRegion + ":" + account + ":log-group:" + group
			}
			var groups []string
			for _, lg := range s.resources("AWS::Logs::LogGroup") {
				if n := lg.Props["LogGroupName"]; n != nil {
					g, ok := resolveString(n)
					if !ok {
						t.Fatalf("log group %s name %v", lg.ID, n)
					}
					groups = append(groups, g)
				} else {
					// CloudFormation's name for it: <stack>-<logical ID>-<random>.
					groups = append(groups, stackName+"-"+lg.ID+"-AbC123dEf456")
				}
			}

			principals := map[string]int{}
			for _, st := range statements(path(key.Props, "KeyPolicy")) {
				if st["Effect"] != "Allow" {
					t.Errorf("unexpected statement %v", st)
					continue
				}
				aws, _ := resolveString(path(st, "Principal", "AWS"))
				service, _ := path(st, "Principal", "Service").(string)
				switch {
				// THEN the account root keeps full control, so the key can
				// never become unmanageable and IAM policies can delegate use
				case aws == "arn:aws:iam::"+testAccount+":root" && st["Condition"] == nil:
					principals["root"]++
					if !slices.Equal(strs(st["Action"]), []string{"kms:*"}) || st["Resource"] != "*" {
						t.Errorf("root statement %v, want kms:* on *", st)
					}
				// (CDK's grants for the secret name the account too, but only
				// through Secrets Manager)
				case aws == "arn:aws:iam::"+testAccount+":root":
					via, _ := path(st, "Condition", "StringEquals", "kms:ViaService").(string)
					if len(st["Condition"].(map[string]any)) != 1 || via != "secretsmanager."+testRegion+".amazonaws.com" ||
						slices.Contains(strs(st["Action"]), "kms:*") {
						t.Errorf("account statement %v, want one limited to Secrets Manager", st)
					}
				// AND CloudWatch Logs may use it only for this stack's log groups
				case service == "logs."+testRegion+".amazonaws.com":
					principals["logs"]++
					want := []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo",
						"kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"}
					if got := strs(st["Action"]); !slices.Equal(got, want) {
						t.Errorf("logs actions %v, want %v", got, want)
					}
					cond, _ := st["Condition"].(map[string]any)
					arnLikeCond, _ := cond["ArnLike"].(map[string]any)
					if len(cond) != 1 || len(arnLikeCond) != 1 {
						t.Errorf("logs condition %v, want ArnLike on kms:EncryptionContext:aws:logs:arn only", cond)
					}
					var patterns []string
					for _, p := range asList(arnLikeCond["kms:EncryptionContext:aws:logs:arn"]) {
						r, ok := resolveString(p)
						if !ok {
							t.Fatalf("logs pattern %v", p)
						}
						patterns = append(patterns, r)
					}
					if len(patterns) == 0 {
						t.Fatalf("no log group pattern in %v", arnLikeCond)
					}
					matches := func(arn string) bool {
						return slices.ContainsFunc(patterns, func(p string) bool { return arnLike(p, arn) })
					}
					// every log group the stack creates: functions, API access,
					// WAF, the site deployment
					for _, g := range groups {
						if !matches(logArn(testAccount, g)) {
							t.Errorf("log group %s matches none of %v", g, patterns)
						}
					}
					// and nothing else: not the account's other log groups, not
					// another stack's, not this name in another account
					for _, arn := range []string{
						logArn(testAccount, "/aws/lambda/some-function"),
						logArn(testAccount, "Other-DirectoryLogs-AbC123dEf456"),
						logArn(testAccount, stackName+"Dev-"+strings.TrimPrefix(groups[0], stackName+"-")),
						logArn(testAccount, "aws-waf-logs-other"),
						logArn("999999999999", groups[0]),
					} {
						if matches(arn) {
							t.Errorf("%s matches %v", arn, patterns)
						}
					}
				case service == "cloudwatch.amazonaws.com":
					principals["cloudwatch"]++
				// AND SES may encrypt what it publishes to the SES events
				// topic, for this account only
				case service == "ses.amazonaws.com":
					principals["ses"]++
					if got := strs(st["Action"]); !slices.Equal(got, []string{"kms:Decrypt", "kms:GenerateDataKey"}) {
						t.Errorf("ses actions %v", got)
					}
					if path(st, "Condition", "StringEquals", "aws:SourceAccount") != testAccount {
						t.Errorf("ses condition %v, want aws:SourceAccount", st["Condition"])
					}
				// AND SNS may move undelivered SES events into the encrypted
				// dead-letter queue, for this stack's SES events topic only
				case service == "sns.amazonaws.com":
					principals["sns"]++
					src, ok := resolveString(path(st, "Condition", "ArnLike", "aws:SourceArn"))
					if want := "arn:aws:sns:" + testRegion + ":" + testAccount + ":" + stackName + "-ses-events"; !ok || src != want ||
						path(st, "Condition", "StringEquals", "aws:SourceAccount") != testAccount {
						t.Errorf("sns condition %v, want aws:SourceAccount and aws:SourceArn %s", st["Condition"], want)
					}
				// AND EventBridge may write the scan results' encrypted
				// dead-letter queue, for this account only
				case service == "events.amazonaws.com":
					principals["events"]++
					if path(st, "Condition", "StringEquals", "aws:SourceAccount") != testAccount {
						t.Errorf("events condition %v, want aws:SourceAccount", st["Condition"])
					}
				default:
					t.Errorf("unexpected key policy statement %v", st)
				}
			}
			// AND there is exactly one unconditioned root statement, one for
			// CloudWatch Logs, one for CloudWatch alarms, one for SES, one
			// for SNS and one for EventBridge
			if want := map[string]int{"root": 1, "logs": 1, "cloudwatch": 1, "ses": 1, "sns": 1, "events": 1}; !maps.Equal(principals, want) {
				t.Errorf("key policy principals %v, want %v", principals, want)
			}
		})
	}
}

// tableIDs maps each schema table to its logical ID.
func tableIDs(t *testing.T, s synthesized) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, tbl := range schema.Tables() {
		ids[tbl.Name] = s.withPrefix(t, "AWS::DynamoDB::Table", tbl.Name+"Table").ID
	}
	if got, want := len(s.resources("AWS::DynamoDB::Table")), len(schema.Tables()); got != want {
		t.Errorf("%d tables, want %d (one per schema table)", got, want)
	}
	return ids
}

func TestTablesFollowTheSchema(t *testing.T) {
	// GIVEN the one schema definition that local development also uses
	ids := tableIDs(t, full)
	for _, tbl := range schema.Tables() {
		// WHEN we read the table synthesized from it
		r := full.resource(t, ids[tbl.Name])
		want := tbl.CreateTableInput("x")

		// THEN keys, indexes, billing and TTL are the schema's
		t.Run(tbl.Name, func(t *testing.T) {
			if got := r.Props["BillingMode"]; got != "PAY_PER_REQUEST" {
				t.Errorf("BillingMode = %v", got)
			}
			keys := func(v any) []string {
				var out []string
				for _, k := range v.([]any) {
					out = append(out, path(k, "AttributeName").(string)+"/"+path(k, "KeyType").(string))
				}
				return out
			}
			var wantKeys []string
			for _, k := range want.KeySchema {
				wantKeys = append(wantKeys, *k.AttributeName+"/"+string(k.KeyType))
			}
			if got := keys(r.Props["KeySchema"]); !slices.Equal(got, wantKeys) {
				t.Errorf("KeySchema = %v, want %v", got, wantKeys)
			}
			indexes := func(v any) map[string][]string {
				out := map[string][]string{}
				for _, i := range asList(v) {
					out[path(i, "IndexName").(string)] = keys(path(i, "KeySchema"))
				}
				return out
			}
			wantGSI := map[string][]string{}
			for _, g := range want.GlobalSecondaryIndexes {
				for _, k := range g.KeySchema {
					wantGSI[*g.IndexName] = append(wantGSI[*g.IndexName], *k.AttributeName+"/"+string(k.KeyType))
				}
			}
			wantLSI := map[string][]string{}
			for _, l := range want.LocalSecondaryIndexes {
				for _, k := range l.KeySchema {
					wantLSI[*l.IndexName] = append(wantLSI[*l.IndexName], *k.AttributeName+"/"+string(k.KeyType))
				}
			}
			if got := indexes(r.Props["GlobalSecondaryIndexes"]); !equalIndexes(got, wantGSI) {
				t.Errorf("GSIs = %v, want %v", got, wantGSI)
			}
			if got := indexes(r.Props["LocalSecondaryIndexes"]); !equalIndexes(got, wantLSI) {
				t.Errorf("LSIs = %v, want %v", got, wantLSI)
			}
			gotTTL, _ := path(r.Props, "TimeToLiveSpecification", "AttributeName").(string)
			if gotTTL != tbl.TTLAttribute {
				t.Errorf("TTL attribute = %q, want %q", gotTTL, tbl.TTLAttribute)
			}
			// AND so is the stream (the Messages table's, for the notifier)
			wantStream := ""
			if want.StreamSpecification != nil {
				wantStream = string(want.StreamSpecification.StreamViewType)
			}
			if got, _ := path(r.Props, "StreamSpecification", "StreamViewType").(string); got != wantStream {
				t.Errorf("stream view type = %q, want %q", got, wantStream)
			}
		})
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func equalIndexes(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

func TestOnlyShortLivedTablesExpireAndChartTablesNever(t *testing.T) {
	// GIVEN the tables synthesized from the schema
	ids := tableIDs(t, full)
	var withTTL int
	for _, tbl := range schema.Tables() {
		r := full.resource(t, ids[tbl.Name])
		ttl := r.Props["TimeToLiveSpecification"]
		if tbl.TTLAttribute == "" {
			// THEN a table without a schema TTL has no TTL at all
			if ttl != nil {
				t.Errorf("%s: TimeToLiveSpecification %v, want none", tbl.Name, ttl)
			}
			continue
		}
		// AND a table with one expires items by exactly that attribute
		withTTL++
		if path(ttl, "Enabled") != true || path(ttl, "AttributeName") != tbl.TTLAttribute {
			t.Errorf("%s: TimeToLiveSpecification %v, want %s enabled", tbl.Name, ttl, tbl.TTLAttribute)
		}
	}
	// AND chart content can never expire: neither Messages nor Audit has a TTL
	for _, chart := range []string{schema.Messages, schema.Audit} {
		if ttl := full.resource(t, ids[chart]).Props["TimeToLiveSpecification"]; ttl != nil {
			t.Errorf("%s has a TTL (%v): chart content must never expire", chart, ttl)
		}
	}
	if withTTL == 0 {
		t.Error("no table expires anything: where do idempotency records go?")
	}
}

func TestAppendOnlyTablesDenyUpdateAndDeleteToEveryone(t *testing.T) {
	// GIVEN the tables synthesized from the schema
	ids := tableIDs(t, full)
	n := 0
	for _, tbl := range schema.Tables() {
		policy := path(full.resource(t, ids[tbl.Name]).Props, "ResourcePolicy", "PolicyDocument")
		if !tbl.AppendOnly {
			// (other tables need no resource policy: IAM alone grants them)
			if policy != nil {
				t.Errorf("%s: unexpected resource policy %v", tbl.Name, policy)
			}
			continue
		}
		n++
		if policy == nil {
			t.Errorf("%s is append-only but has no resource policy", tbl.Name)
			continue
		}
		// THEN an append-only table's resource policy denies every principal
		// every way to change or remove an item, or the table
		var denied []string
		for _, st := range statements(policy) {
			if st["Effect"] == "Deny" && st["Principal"] == "*" && st["Condition"] == nil &&
				slices.Equal(strs(st["Resource"]), []string{"*"}) {
				denied = append(denied, strs(st["Action"])...)
			}
			// AND nothing in it allows anything (IAM grants the puts)
			if st["Effect"] != "Deny" {
				t.Errorf("%s: resource policy statement %v is not a deny", tbl.Name, st)
			}
		}
		for _, a := range []string{"dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
			"dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete", "dynamodb:UpdateTimeToLive", "dynamodb:DeleteTable"} {
			if !slices.Contains(denied, a) {
				t.Errorf("%s: %s not denied to every principal (denied: %v)", tbl.Name, a, denied)
			}
		}
		// AND appending stays possible
		for _, a := range denied {
			if a == "dynamodb:PutItem" || a == "dynamodb:PartiQLInsert" || strings.HasSuffix(a, ":*") || a == "*" {
				t.Errorf("%s: %s denied: the audit record could not be written", tbl.Name, a)
			}
		}
	}
	if n == 0 {
		t.Error("no append-only table in the schema")
	}
}

func TestEveryTableEncryptedWithTheCustomerManagedKey(t *testing.T) {
	// GIVEN the stack's one key (cdk-nag does not check DynamoDB KMS)
	key := full.only(t, "AWS::KMS::Key").ID
	// WHEN we read every table's encryption
	for _, r := range full.resources("AWS::DynamoDB::Table") {
		sse := r.Props["SSESpecification"]
		// THEN each uses SSE-KMS with that key
		if path(sse, "SSEEnabled") != true || path(sse, "SSEType") != "KMS" || !getAtt(path(sse, "KMSMasterKeyId"), key, "Arn") {
			t.Errorf("table %s: SSESpecification = %v, want KMS with %s", r.ID, sse, key)
		}
	}
}

func TestEveryTableHasPITRDeletionProtectionAndRetain(t *testing.T) {
	// GIVEN the synthesized tables
	for _, r := range full.resources("AWS::DynamoDB::Table") {
		// THEN each has point-in-time recovery, deletion protection, and is
		// retained when removed from the stack or replaced
		if path(r.Props, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") != true {
			t.Errorf("table %s: no PITR", r.ID)
		}
		if r.Props["DeletionProtectionEnabled"] != true {
			t.Errorf("table %s: no deletion protection", r.ID)
		}
		if r.Raw["DeletionPolicy"] != "Retain" || r.Raw["UpdateReplacePolicy"] != "Retain" {
			t.Errorf("table %s: DeletionPolicy %v, UpdateReplacePolicy %v, want Retain", r.ID, r.Raw["DeletionPolicy"], r.Raw["UpdateReplacePolicy"])
		}
	}
}

func TestEveryTableInDailyBackupPlanWithEncryptedVault(t *testing.T) {
	// GIVEN the key and the tables
	key := full.only(t, "AWS::KMS::Key").ID
	ids := tableIDs(t, full)

	// WHEN we read the backup plan, vault and selection
	vault := full.only(t, "AWS::Backup::BackupVault")
	plan := full.only(t, "AWS::Backup::BackupPlan")
	selection := full.only(t, "AWS::Backup::BackupSelection")

	// THEN the vault is encrypted with the key and retained
	if !getAtt(vault.Props["EncryptionKeyArn"], key, "Arn") {
		t.Errorf("vault EncryptionKeyArn = %v", vault.Props["EncryptionKeyArn"])
	}
	if vault.Raw["DeletionPolicy"] != "Retain" {
		t.Errorf("vault DeletionPolicy = %v", vault.Raw["DeletionPolicy"])
	}
	// AND the plan backs up daily to it and keeps 35 days
	rules := asList(path(plan.Props, "BackupPlan", "BackupPlanRule"))
	if len(rules) != 1 {
		t.Fatalf("backup rules = %v", rules)
	}
	rule := rules[0]
	if refID(path(rule, "TargetBackupVault")) != vault.ID {
		t.Errorf("rule vault = %v", path(rule, "TargetBackupVault"))
	}
	if got := path(rule, "ScheduleExpression"); got != "cron(0 5 * * ? *)" {
		t.Errorf("schedule = %v, want daily", got)
	}
	if got := path(rule, "Lifecycle", "DeleteAfterDays"); got != float64(35) {
		t.Errorf("DeleteAfterDays = %v, want 35", got)
	}
	// AND every table is selected
	var selected []string
	for _, r := range asList(path(selection.Props, "BackupSelection", "Resources")) {
		selected = append(selected, refID(r))
	}
	for name, id := range ids {
		if !slices.Contains(selected, id) {
			t.Errorf("table %s (%s) not in the backup selection %v", name, id, selected)
		}
	}
}

func TestEveryLogGroupEncryptedWithTheKeyAndRetained(t *testing.T) {
	// GIVEN the key
	key := full.only(t, "AWS::KMS::Key").ID
	groups := full.resources("AWS::Logs::LogGroup")
	if len(groups) == 0 {
		t.Fatal("no log groups")
	}
	// WHEN we read every log group: functions, API access, WAF, deployment
	for _, r := range groups {
		// THEN each is encrypted with the key and has a retention period
		if !getAtt(r.Props["KmsKeyId"], key, "Arn") {
			t.Errorf("log group %s: KmsKeyId = %v", r.ID, r.Props["KmsKeyId"])
		}
		if d, ok := r.Props["RetentionInDays"].(float64); !ok || d < 365 {
			t.Errorf("log group %s: RetentionInDays = %v, want >= 365", r.ID, r.Props["RetentionInDays"])
		}
	}
	// AND the assertions library agrees that none lacks a key
	check(t, "no unencrypted log group", func() {
		full.template.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"),
			map[string]any{"KmsKeyId": assertions.Match_AnyValue()})
	})
}

func TestCursorSecretGeneratedAndEncrypted(t *testing.T) {
	// GIVEN the key
	key := full.only(t, "AWS::KMS::Key").ID
	// WHEN we read the cursor secret
	secret := full.only(t, "AWS::SecretsManager::Secret")
	// THEN it is encrypted with the key and generated with 64 characters
	if !getAtt(secret.Props["KmsKeyId"], key, "Arn") {
		t.Errorf("secret KmsKeyId = %v", secret.Props["KmsKeyId"])
	}
	if got := path(secret.Props, "GenerateSecretString", "PasswordLength"); got != float64(64) {
		t.Errorf("PasswordLength = %v, want 64", got)
	}
}
