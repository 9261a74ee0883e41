package dynamolocal_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/localdev/dynamolocal"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/schema"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		runChild()
		return
	}
	dynamotest.Main(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// start runs a dedicated server (not the shared one from TestMain), for
// tests about the server's own lifecycle.
func start(tb testing.TB, opts dynamolocal.Options) *dynamolocal.Server {
	tb.Helper()
	opts.Logger = quiet
	srv, err := dynamolocal.Start(tb.Context(), opts)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { _ = srv.Stop() })
	return srv
}

func listTables(ctx context.Context, endpoint string) ([]string, error) {
	out, err := dynamolocal.NewClient(ctx, endpoint).ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		return nil, err
	}
	return out.TableNames, nil
}

func TestStartAnswersAndStopLeavesNothing(t *testing.T) {
	srv := start(t, dynamolocal.Options{})
	if _, err := listTables(t.Context(), srv.Endpoint()); err != nil {
		t.Fatalf("ListTables on a started server: %v", err)
	}
	pid := srv.Pid()

	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if alive(pid) {
		t.Errorf("java pid %d still alive after Stop", pid)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop: %v, want nil", err)
	}
	addr := strings.TrimPrefix(srv.Endpoint(), "http://")
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Stop", addr)
	}
}

func TestFixedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()

	srv := start(t, dynamolocal.Options{Port: port})
	if got, want := srv.Endpoint(), "http://127.0.0.1:"+strconv.Itoa(port); got != want {
		t.Errorf("Endpoint() = %s, want %s", got, want)
	}
}

func TestDataDirSurvivesRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	ctx := t.Context()

	first := start(t, dynamolocal.Options{DataDir: dir})
	if err := dynamolocal.CreateTables(ctx, dynamolocal.NewClient(ctx, first.Endpoint()), "dev-"); err != nil {
		t.Fatalf("CreateTables: %v", err)
	}
	if err := first.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "shared-local-instance.db")); err != nil {
		t.Errorf("database file: %v", err)
	}

	second := start(t, dynamolocal.Options{DataDir: dir})
	got, err := listTables(ctx, second.Endpoint())
	if err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	for _, tbl := range schema.Tables() {
		if name := schema.PhysicalName("dev-", tbl.Name); !slices.Contains(got, name) {
			t.Errorf("table %s lost across restart; have %v", name, got)
		}
	}
}

func TestCreateTablesMatchesSchema(t *testing.T) {
	client, prefix := dynamotest.New(t)
	ctx := t.Context()
	// A second run must be a no-op, as `make dev` runs it on every start.
	if err := dynamolocal.CreateTables(ctx, client, prefix); err != nil {
		t.Fatalf("CreateTables again: %v", err)
	}
	for _, want := range schema.Tables() {
		t.Run(want.Name, func(t *testing.T) {
			name := schema.PhysicalName(prefix, want.Name)
			out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
			if err != nil {
				t.Fatalf("DescribeTable: %v", err)
			}
			got := out.Table
			if got.TableStatus != types.TableStatusActive {
				t.Errorf("status = %s, want ACTIVE", got.TableStatus)
			}
			if g, w := keys(got.KeySchema), keyNames(want.PartitionKey, want.SortKey); g != w {
				t.Errorf("key schema = %s, want %s", g, w)
			}
			var gotGSIs, wantGSIs []string
			for _, g := range got.GlobalSecondaryIndexes {
				gotGSIs = append(gotGSIs, aws.ToString(g.IndexName)+":"+keys(g.KeySchema))
			}
			for _, g := range want.GSIs {
				wantGSIs = append(wantGSIs, g.Name+":"+keyNames(g.PartitionKey, g.SortKey))
			}
			var gotLSIs, wantLSIs []string
			for _, l := range got.LocalSecondaryIndexes {
				gotLSIs = append(gotLSIs, aws.ToString(l.IndexName)+":"+keys(l.KeySchema))
			}
			for _, l := range want.LSIs {
				wantLSIs = append(wantLSIs, l.Name+":"+keyNames(l.PartitionKey, l.SortKey))
			}
			slices.Sort(gotGSIs)
			slices.Sort(wantGSIs)
			slices.Sort(gotLSIs)
			slices.Sort(wantLSIs)
			if !slices.Equal(gotGSIs, wantGSIs) {
				t.Errorf("GSIs = %v, want %v", gotGSIs, wantGSIs)
			}
			if !slices.Equal(gotLSIs, wantLSIs) {
				t.Errorf("LSIs = %v, want %v", gotLSIs, wantLSIs)
			}

			ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
			if err != nil {
				t.Fatalf("DescribeTimeToLive: %v", err)
			}
			enabled := ttl.TimeToLiveDescription.TimeToLiveStatus == types.TimeToLiveStatusEnabled
			if want.TTLAttribute == "" {
				if enabled {
					t.Errorf("TTL enabled on a table without a TTL attribute")
				}
				return
			}
			if !enabled || aws.ToString(ttl.TimeToLiveDescription.AttributeName) != want.TTLAttribute {
				t.Errorf("TTL = %s on %q, want ENABLED on %q", ttl.TimeToLiveDescription.TimeToLiveStatus,
					aws.ToString(ttl.TimeToLiveDescription.AttributeName), want.TTLAttribute)
			}
		})
	}
}

func keys(ks []types.KeySchemaElement) string {
	var parts []string
	for _, k := range ks {
		parts = append(parts, aws.ToString(k.AttributeName)+"/"+string(k.KeyType))
	}
	return strings.Join(parts, ",")
}

func keyNames(pk schema.Key, sk *schema.Key) string {
	s := pk.Name + "/HASH"
	if sk != nil {
		s += "," + sk.Name + "/RANGE"
	}
	return s
}

// childEnv makes the test binary act as a parent program that starts
// DynamoDB Local, prints java's pid and waits to be killed.
const childEnv = "DYNAMOLOCAL_TEST_CHILD"

func runChild() {
	srv, err := dynamolocal.Start(context.Background(), dynamolocal.Options{Logger: quiet})
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(1)
	}
	os.Stdout.WriteString("pid " + strconv.Itoa(srv.Pid()) + "\n")
	select {} // until killed
}

// The parent dying, by Ctrl-C or by SIGKILL, must not leave java behind.
func TestNoOrphanWhenParentDies(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux-only")
	}
	tests := []struct {
		name string
		sig  syscall.Signal
	}{
		{"Ctrl-C", syscall.SIGINT},
		{"SIGKILL", syscall.SIGKILL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"=1")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatalf("reading child: %v", err)
			}
			pidText, ok := strings.CutPrefix(strings.TrimSpace(line), "pid ")
			if !ok {
				t.Fatalf("child said %q", line)
			}
			javaPid, err := strconv.Atoi(pidText)
			if err != nil {
				t.Fatal(err)
			}
			if !alive(javaPid) {
				t.Fatalf("java pid %d not running while the parent is", javaPid)
			}
			t.Cleanup(func() { _ = syscall.Kill(javaPid, syscall.SIGKILL) })

			if err := cmd.Process.Signal(tt.sig); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			deadline := time.Now().Add(15 * time.Second)
			for alive(javaPid) {
				if time.Now().After(deadline) {
					t.Fatalf("java pid %d outlived its parent", javaPid)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// alive reports whether pid runs; a zombie (dead, not yet reaped by an init
// that may never reap it in a container) counts as dead.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	// Format: pid (comm) state ...; comm may contain spaces or parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// GIVEN a table created from an older schema that lacks an index WHEN
// CreateTables runs THEN the index is added, as a CDK deploy would.
func TestCreateTablesAddsMissingIndexes(t *testing.T) {
	srv := start(t, dynamolocal.Options{})
	ctx := t.Context()
	client := dynamolocal.NewClient(ctx, srv.Endpoint())
	var msgs schema.Table
	for _, tbl := range schema.Tables() {
		if tbl.Name == schema.Messages {
			msgs = tbl
		}
	}
	old := msgs
	old.GSIs = msgs.GSIs[:1]
	name := schema.PhysicalName("old-", schema.Messages)
	if _, err := client.CreateTable(ctx, old.CreateTableInput(name)); err != nil {
		t.Fatal(err)
	}
	if err := dynamolocal.CreateTables(ctx, client, "old-"); err != nil {
		t.Fatal(err)
	}
	out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(out.Table.GlobalSecondaryIndexes), len(msgs.GSIs); got != want {
		t.Fatalf("indexes after CreateTables = %d, want %d", got, want)
	}
}
