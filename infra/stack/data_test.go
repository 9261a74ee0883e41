package stack_test

import (
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
