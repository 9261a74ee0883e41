package stack_test

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pedsportal/messaging/infra/stack"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

// functionResource finds a function's Lambda by the construct ID the stack
// gives it ("list-conversations" -> ListConversationsFunction...).
func functionResource(t *testing.T, s synthesized, name string) resource {
	t.Helper()
	id := ""
	for _, part := range strings.Split(name, "-") {
		id += strings.ToUpper(part[:1]) + part[1:]
	}
	return s.withPrefix(t, "AWS::Lambda::Function", id+"Function")
}

// grants is what a function's role may do: actions per resource, where a
// resource is a table's logical ID, "<table>/index/<name>", or a literal.
type grants map[string][]string

// functionGrants collects every statement that reaches a function's role,
// and fails if anything other than its one managed policy does.
func functionGrants(t *testing.T, s synthesized, fn resource) (grants, []map[string]any) {
	t.Helper()
	role := refID(fn.Props["Role"])
	r := s.resource(t, role)
	if r.Props["ManagedPolicyArns"] != nil || r.Props["Policies"] != nil {
		t.Errorf("role %s has other policies: %v %v", role, r.Props["ManagedPolicyArns"], r.Props["Policies"])
	}
	for _, p := range s.resources("AWS::IAM::Policy") {
		for _, rr := range asList(p.Props["Roles"]) {
			if refID(rr) == role {
				t.Errorf("inline policy %s is attached to %s", p.ID, role)
			}
		}
	}
	var sts []map[string]any
	for _, p := range s.resources("AWS::IAM::ManagedPolicy") {
		for _, rr := range asList(p.Props["Roles"]) {
			if refID(rr) == role {
				sts = append(sts, statements(p.Props["PolicyDocument"])...)
			}
		}
	}
	g := grants{}
	for _, st := range sts {
		if st["Effect"] != "Allow" {
			continue
		}
		for _, res := range resourcesOf(st["Resource"]) {
			g[res] = append(g[res], strs(st["Action"])...)
		}
	}
	return g, sts
}

// resourcesOf names each resource of a statement: a GetAtt's logical ID, a
// Join of a GetAtt and a suffix as "<id><suffix>", a literal as itself.
func resourcesOf(v any) []string {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var out []string
	for _, r := range list {
		switch x := r.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			if id := refID(x); id != "" {
				out = append(out, id)
				continue
			}
			if j, ok := x["Fn::Join"].([]any); ok {
				var b strings.Builder
				for _, part := range asList(j[1]) {
					if id := refID(part); id != "" {
						b.WriteString(id)
					} else {
						b.WriteString(part.(string))
					}
				}
				out = append(out, b.String())
			}
		}
	}
	return out
}

func dynamoActions(actions []string) []string {
	var out []string
	for _, a := range actions {
		if strings.HasPrefix(a, "dynamodb:") {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Independent of the stack's own tables of actions.
var (
	readOnlyActions = []string{"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"}
	writeActions    = []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
		"dynamodb:ConditionCheckItem", "dynamodb:PartiQLInsert", "dynamodb:PartiQLUpdate", "dynamodb:PartiQLDelete", "dynamodb:*"}
	kmsWriteActions = []string{"kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:*"}
)

func TestOneFunctionPerFolderWithRuntimeAndLimits(t *testing.T) {
	// GIVEN the function list that functions/ and `make build` follow
	if got, want := len(full.resources("AWS::Lambda::Function"))-1, len(routes.Functions()); got != want {
		t.Errorf("%d handler functions (+1 deployment helper), want %d", got, want)
	}
	for _, f := range routes.Functions() {
		t.Run(f.Name, func(t *testing.T) {
			// WHEN we read its Lambda
			p := functionResource(t, full, f.Name).Props
			// THEN it runs the bootstrap on provided.al2023/arm64 with explicit
			// memory, timeout, reserved concurrency and active tracing
			if p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" || !slices.Equal(strs(p["Architectures"]), []string{"arm64"}) {
				t.Errorf("runtime %v handler %v arch %v", p["Runtime"], p["Handler"], p["Architectures"])
			}
			if p["MemorySize"] != float64(stack.FunctionMemoryMB) || p["Timeout"] != float64(stack.FunctionTimeoutSeconds) {
				t.Errorf("memory %v timeout %v", p["MemorySize"], p["Timeout"])
			}
			if p["ReservedConcurrentExecutions"] != float64(stack.DefaultReservedConcurrency) {
				t.Errorf("reserved concurrency %v", p["ReservedConcurrentExecutions"])
			}
			if path(p, "TracingConfig", "Mode") != "Active" {
				t.Errorf("tracing %v", p["TracingConfig"])
			}
			// AND logs JSON to its own log group
			logs := path(p, "LoggingConfig")
			// (the application log level is what lambdacontext.NewLogger honours)
			if path(logs, "LogFormat") != "JSON" || refID(path(logs, "LogGroup")) == "" || path(logs, "ApplicationLogLevel") != stack.DefaultLogLevel {
				t.Errorf("LoggingConfig = %v", logs)
			}
		})
	}
	// AND no two functions share a log group
	seen := map[string]string{}
	for _, f := range routes.Functions() {
		lg := refID(path(functionResource(t, full, f.Name).Props, "LoggingConfig", "LogGroup"))
		if other, dup := seen[lg]; dup {
			t.Errorf("%s and %s share log group %s", f.Name, other, lg)
		}
		seen[lg] = f.Name
	}
}

func TestFunctionEnvironment(t *testing.T) {
	ids := tableIDs(t, full)
	portalPool := full.withPrefix(t, "AWS::Cognito::UserPool", "PortalUserPool").ID
	staffPool := full.withPrefix(t, "AWS::Cognito::UserPool", "StaffUserPool").ID
	secret := full.only(t, "AWS::SecretsManager::Secret").ID
	for _, f := range routes.Functions() {
		t.Run(f.Name, func(t *testing.T) {
			// GIVEN a function
			// WHEN we read its environment
			env, _ := path(functionResource(t, full, f.Name).Props, "Environment", "Variables").(map[string]any)

			// THEN it names exactly the tables it may touch
			for _, tbl := range schema.Tables() {
				v, has := env[stack.TableEnv(tbl.Name)]
				_, needs := f.Tables[tbl.Name]
				if has != needs || (has && refID(v) != ids[tbl.Name]) {
					t.Errorf("%s = %v, function uses table: %v", stack.TableEnv(tbl.Name), v, needs)
				}
			}
			// AND both issuers, as the pools' provider URLs
			if !getAtt(env["PORTAL_ISSUER"], portalPool, "ProviderURL") || !getAtt(env["STAFF_ISSUER"], staffPool, "ProviderURL") {
				t.Errorf("issuers = %v, %v", env["PORTAL_ISSUER"], env["STAFF_ISSUER"])
			}
			// AND the cursor key only where cursors are used
			if _, has := env["CURSOR_KEY_SECRET_ARN"]; has != f.Cursors || (has && refID(env["CURSOR_KEY_SECRET_ARN"]) != secret) {
				t.Errorf("CURSOR_KEY_SECRET_ARN = %v, cursors %v", env["CURSOR_KEY_SECRET_ARN"], f.Cursors)
			}
		})
	}
}

func TestFunctionsHoldExactlyTheTableAccessTheyList(t *testing.T) {
	ids := tableIDs(t, full)
	for _, f := range routes.Functions() {
		t.Run(f.Name, func(t *testing.T) {
			// GIVEN a function and the access routes.Functions() lists for it
			// WHEN we collect everything its role may do
			g, _ := functionGrants(t, full, functionResource(t, full, f.Name))

			for _, tbl := range schema.Tables() {
				id := ids[tbl.Name]
				got := dynamoActions(g[id])
				var onIndexes []string
				for res, actions := range g {
					if strings.HasPrefix(res, id+"/index/") {
						onIndexes = append(onIndexes, dynamoActions(actions)...)
					}
				}
				access := f.Tables[tbl.Name]
				// THEN each table gets what its access level allows, no more
				switch access {
				case routes.None:
					if len(got)+len(onIndexes) > 0 {
						t.Errorf("%s: no access listed, role has %v %v", tbl.Name, got, onIndexes)
					}
				case routes.Read:
					if !slices.Equal(got, readOnlyActions) {
						t.Errorf("%s: Read gives %v, want %v", tbl.Name, got, readOnlyActions)
					}
				case routes.Append:
					if !slices.Equal(got, []string{"dynamodb:PutItem"}) || len(onIndexes) > 0 {
						t.Errorf("%s: Append gives %v (indexes %v), want PutItem only", tbl.Name, got, onIndexes)
					}
				case routes.ReadWrite:
					want := slices.Concat(readOnlyActions, []string{"dynamodb:ConditionCheckItem", "dynamodb:PutItem", "dynamodb:UpdateItem"})
					if tbl.Name == schema.Directory {
						want = append(want, "dynamodb:DeleteItem") // unlinking deletes a link item
					}
					slices.Sort(want)
					if !slices.Equal(got, want) {
						t.Errorf("%s: ReadWrite gives %v, want %v", tbl.Name, got, want)
					}
				}
				for _, a := range onIndexes {
					if a != "dynamodb:Query" {
						t.Errorf("%s: index action %s, want Query only", tbl.Name, a)
					}
				}
			}
			// AND nothing grants DynamoDB on a wildcard resource
			for res, actions := range g {
				if strings.Contains(res, "*") && len(dynamoActions(actions)) > 0 {
					t.Errorf("DynamoDB actions %v on %s", dynamoActions(actions), res)
				}
			}
		})
	}
}

func TestReadOnlyFunctionHoldsNoWriteAction(t *testing.T) {
	// GIVEN the functions whose every table access is Read
	var readOnly []routes.Function
	for _, f := range routes.Functions() {
		if !slices.ContainsFunc(slices.Collect(maps.Values(f.Tables)), func(a routes.Access) bool { return a != routes.Read }) {
			readOnly = append(readOnly, f)
		}
	}
	if len(readOnly) == 0 {
		t.Fatal("no read-only function to check")
	}
	for _, f := range readOnly {
		// WHEN we collect everything its role may do
		g, _ := functionGrants(t, full, functionResource(t, full, f.Name))
		// THEN no resource carries a DynamoDB write or a KMS encrypt action
		for res, actions := range g {
			for _, a := range actions {
				if slices.Contains(writeActions, a) || slices.Contains(kmsWriteActions, a) {
					t.Errorf("%s (read-only) holds %s on %s", f.Name, a, res)
				}
			}
		}
	}
}

func TestAuditTableIsAppendOnlyForEveryFunction(t *testing.T) {
	// GIVEN the append-only tables of the schema
	ids := tableIDs(t, full)
	for _, tbl := range schema.Tables() {
		if !tbl.AppendOnly {
			continue
		}
		for _, f := range routes.Functions() {
			// WHEN we read what each function may do on it
			g, _ := functionGrants(t, full, functionResource(t, full, f.Name))
			// THEN it is at most PutItem (a read-only check aside): no update, no delete
			for _, a := range dynamoActions(g[ids[tbl.Name]]) {
				if a != "dynamodb:PutItem" {
					t.Errorf("%s holds %s on append-only %s", f.Name, a, tbl.Name)
				}
			}
		}
	}
}

func TestMessagesAreNeverDeleted(t *testing.T) {
	ids := tableIDs(t, full)
	for _, f := range routes.Functions() {
		g, _ := functionGrants(t, full, functionResource(t, full, f.Name))
		if slices.Contains(g[ids[schema.Messages]], "dynamodb:DeleteItem") {
			t.Errorf("%s may delete messages", f.Name)
		}
	}
}

func TestKeyUseOnlyThroughServicesAndCursorKeyOnlyForCursorFunctions(t *testing.T) {
	key := full.only(t, "AWS::KMS::Key").ID
	secret := full.only(t, "AWS::SecretsManager::Secret").ID
	for _, f := range routes.Functions() {
		t.Run(f.Name, func(t *testing.T) {
			// GIVEN a function's statements
			_, sts := functionGrants(t, full, functionResource(t, full, f.Name))
			readsSecret := false
			for _, st := range sts {
				res := resourcesOf(st["Resource"])
				// THEN every statement on the key is limited to a service
				if slices.Contains(res, key) {
					via, _ := path(st, "Condition", "StringEquals", "kms:ViaService").(string)
					if !strings.HasPrefix(via, "dynamodb.") && !strings.HasPrefix(via, "secretsmanager.") {
						t.Errorf("key statement without kms:ViaService: %v", st)
					}
				}
				if slices.Contains(res, secret) && slices.Contains(strs(st["Action"]), "secretsmanager:GetSecretValue") {
					readsSecret = true
				}
			}
			// AND only cursor functions may read the cursor key
			if readsSecret != f.Cursors {
				t.Errorf("reads cursor key: %v, Cursors: %v", readsSecret, f.Cursors)
			}
		})
	}
}

func TestTableActionsLevels(t *testing.T) {
	// GIVEN each access level WHEN we ask for its actions THEN they are as documented
	tests := []struct {
		table  string
		access routes.Access
		want   []string
	}{
		{schema.Messages, routes.None, nil},
		{schema.Messages, routes.Read, []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}},
		{schema.Audit, routes.Append, []string{"dynamodb:PutItem"}},
		{schema.Messages, routes.ReadWrite, []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"}},
		{schema.Directory, routes.ReadWrite, []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:ConditionCheckItem", "dynamodb:DeleteItem"}},
	}
	for _, tt := range tests {
		got, _ := stack.TableActions(tt.table, tt.access)
		if !slices.Equal(got, tt.want) {
			t.Errorf("TableActions(%s, %d) = %v, want %v", tt.table, tt.access, got, tt.want)
		}
	}
}

func TestOneFunctionPerFolderUnderFunctions(t *testing.T) {
	// GIVEN the folders under functions/ (what `make build` builds)
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		t.Skipf("no functions/ folder yet: %v", err)
	}
	var folders []string
	for _, e := range entries {
		if e.IsDir() {
			folders = append(folders, e.Name())
		}
	}
	slices.Sort(folders)
	// THEN the stack builds a Lambda for exactly those
	if got := routes.FunctionNames(); !slices.Equal(got, folders) {
		t.Errorf("routes.Functions() = %v, functions/ = %v", got, folders)
	}
}
