package migrate_test

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/migrate"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

// GIVEN conversation headers written before the Open index existed WHEN
// the migration runs THEN open ones join the index (and the summary), and
// a second run changes nothing.
func TestOpenIndexBackfill(t *testing.T) {
	client, prefix := dynamotest.New(t)
	tables := store.TablesWithPrefix(prefix)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	for _, h := range []struct{ id, status string }{{"01KOLD0000000000000000000A", "open"}, {"01KOLD0000000000000000000B", "closed"}} {
		_, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(tables.Messages), Item: map[string]types.AttributeValue{
			"PK": s("pt-1"), "SK": s("CONV#" + h.id), "InboxPK": s("PRACTICE#p1"), "InboxSK": s(now + "#pt-1#" + h.id),
			"ActivitySK": s(now + "#" + h.id), "status": s(h.status), "messageCount": &types.AttributeValueMemberN{Value: "1"},
			"staffUnread": &types.AttributeValueMemberN{Value: "1"}, "lastActivityAt": s(now),
			"pool": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"id": s("pool-a"), "name": s("A")}},
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	st := store.New(client, tables)
	before, err := st.OpenSummary(t.Context(), "p1", "me")
	if err != nil || before.Open != 0 {
		t.Fatalf("before: %+v %v", before, err)
	}
	for run, want := range []int{1, 0} {
		if got := runSteps(t, client, tables)["open-index"]; got != want {
			t.Fatalf("run %d changed %d items, want %d", run, got, want)
		}
	}
	after, err := st.OpenSummary(t.Context(), "p1", "me")
	if err != nil || after.Open != 1 || after.Unread != 1 || len(after.Pools) != 1 {
		t.Fatalf("after: %+v %v", after, err)
	}
}

func runSteps(t *testing.T, db store.MigrationAPI, tables store.Tables) map[string]int {
	t.Helper()
	got := map[string]int{}
	if err := migrate.Run(t.Context(), db, tables, func(step string, n int) { got[step] = n }); err != nil {
		t.Fatal(err)
	}
	return got
}

// GIVEN idempotency records an older version kept in the Messages table
// WHEN the migration runs THEN live ones move to the Idempotency table and
// still answer a retry, expired ones are dropped, Messages keeps only chart
// items, and a second run changes nothing.
func TestIdempotencyRecordsMoveOutOfTheChart(t *testing.T) {
	client, prefix := dynamotest.New(t)
	tables := store.TablesWithPrefix(prefix)
	st := store.New(client, tables)
	if err := seed.Directory(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if err := seed.Conversations(t.Context(), st, time.Now()); err != nil {
		t.Fatal(err)
	}
	n := func(v int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	live, expired := time.Now().Add(time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
	for _, it := range []map[string]types.AttributeValue{
		{"PK": s(seed.Mateo), "SK": s("IDEM#" + seed.ParentRivera + "#old-key"), "requestHash": s("h-old"),
			"conversationId": s(seed.ConvRash), "messageId": s("01KSEEDMSG00000000000000X1"), "ExpiresAt": n(live)},
		{"PK": s(seed.Mateo), "SK": s("IDEM#" + seed.ParentRivera + "#gone-key"), "requestHash": s("h"),
			"conversationId": s(seed.ConvRash), "messageId": s("m"), "ExpiresAt": n(expired)},
	} {
		if _, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(tables.Messages), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	chart := scanKeys(t, client, tables.Messages)
	if got := runSteps(t, client, tables)["idempotency-table"]; got != 2 {
		t.Fatalf("moved %d records, want 2", got)
	}
	if got := runSteps(t, client, tables)["idempotency-table"]; got != 0 {
		t.Fatalf("second run moved %d, want 0", got)
	}
	after := scanKeys(t, client, tables.Messages)
	if len(after) != len(chart)-2 {
		t.Fatalf("Messages holds %d items after, want %d (the chart without the two records)", len(after), len(chart)-2)
	}
	for _, k := range after {
		if strings.HasPrefix(k, "IDEM#") {
			t.Fatalf("idempotency record %s left in the chart", k)
		}
	}
	moved := scanKeys(t, client, tables.Idempotency)
	if !slices.Contains(moved, "IDEM#"+seed.ParentRivera+"#old-key") || slices.Contains(moved, "IDEM#"+seed.ParentRivera+"#gone-key") {
		t.Fatalf("Idempotency table holds %v; want the live record, not the expired one", moved)
	}
}

// GIVEN portal accounts stored before the active flag WHEN the migration
// runs THEN they are active; an account the practice disabled stays so.
func TestPortalUsersBecomeActive(t *testing.T) {
	client, prefix := dynamotest.New(t)
	tables := store.TablesWithPrefix(prefix)
	for id, item := range map[string]map[string]types.AttributeValue{
		"old":      {"PK": s("PORTALUSER#old"), "SK": s("PROFILE"), "portalUserId": s("old"), "practiceId": s("p1"), "displayName": s("Old")},
		"disabled": {"PK": s("PORTALUSER#disabled"), "SK": s("PROFILE"), "portalUserId": s("disabled"), "practiceId": s("p1"), "displayName": s("D"), "active": &types.AttributeValueMemberBOOL{Value: false}},
	} {
		if _, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(tables.Directory), Item: item}); err != nil {
			t.Fatal(id, err)
		}
	}
	if got := runSteps(t, client, tables)["portal-active"]; got != 1 {
		t.Fatalf("changed %d accounts, want 1", got)
	}
	st := store.New(client, tables)
	for id, want := range map[string]bool{"old": true, "disabled": false} {
		f, err := st.LoadAccess(t.Context(), authz.Query{PortalUserID: id})
		if err != nil || f.PortalUser == nil || f.PortalUser.Active != want {
			t.Fatalf("%s: %+v %v, want active=%v", id, f.PortalUser, err, want)
		}
	}
}

func scanKeys(t *testing.T, db *dynamodb.Client, table string) []string {
	t.Helper()
	out, err := db.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, it := range out.Items {
		keys = append(keys, it["SK"].(*types.AttributeValueMemberS).Value)
	}
	return keys
}

// GIVEN patients and portal accounts stored before the Search index (no
// token items), and one patient whose tokens are stale WHEN the migration
// runs THEN search finds them all by their current names, birth dates and
// addresses, the stale token is gone, and a second run changes nothing.
func TestSearchTokensBackfill(t *testing.T) {
	client, prefix := dynamotest.New(t)
	tables := store.TablesWithPrefix(prefix)
	for _, item := range []map[string]types.AttributeValue{
		{"PK": s("PATIENT#pt-old"), "SK": s("PROFILE"), "patientId": s("pt-old"), "practiceId": s("p1"), "displayName": s("Ava Rivera"), "dateOfBirth": s("2019-03-02"), "searchName": s("ava rivera")},
		{"PK": s("PRACTICE#p1"), "SK": s("PATIENT#pt-old"), "patientId": s("pt-old"), "practiceId": s("p1"), "displayName": s("Ava Rivera"), "dateOfBirth": s("2019-03-02"), "searchName": s("ava rivera")},
		{"PK": s("PATIENT#pt-stale"), "SK": s("PROFILE"), "patientId": s("pt-stale"), "practiceId": s("p1"), "displayName": s("Noah Park"), "dateOfBirth": s("2018-01-05")},
		// A token of the name Noah had before: it must go.
		{"PK": s("PATIENT#pt-stale"), "SK": s("TOKEN#name#kim"), "SearchPK": s("SEARCH#p1#patient-name"), "SearchSK": s("kim#pt-stale"),
			"entityId": s("pt-stale"), "practiceId": s("p1"), "displayName": s("Noah Kim"), "tokens": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("noah"), s("kim")}}},
		{"PK": s("PORTALUSER#u-old"), "SK": s("PROFILE"), "portalUserId": s("u-old"), "practiceId": s("p1"), "displayName": s("José Rivera"), "email": s("jose@example.com"), "active": &types.AttributeValueMemberBOOL{Value: true}},
	} {
		if _, err := client.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String(tables.Directory), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	st := store.New(client, tables)
	find := func(q string, kind domain.SearchKind) []string {
		t.Helper()
		sq, err := domain.ParseSearch(q, kind)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		if kind == domain.SearchPortalUsers {
			ids, err = st.SearchPortalUsers(t.Context(), "p1", sq, 10)
		} else {
			var ps []domain.Patient
			ps, err = st.SearchPatients(t.Context(), "p1", sq, 25)
			for _, p := range ps {
				ids = append(ids, p.ID)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if got := find("riv", domain.SearchPatients); len(got) != 0 {
		t.Fatalf("before the migration search finds %v", got)
	}
	for run, want := range []int{3, 0} {
		if got := runSteps(t, client, tables)["search-tokens"]; got != want {
			t.Fatalf("run %d changed %d, want %d", run, got, want)
		}
	}
	for _, tc := range []struct {
		q    string
		kind domain.SearchKind
		want []string
	}{
		{"riv", domain.SearchPatients, []string{"pt-old"}},
		{"03/02/2019", domain.SearchPatients, []string{"pt-old"}},
		{"noah park", domain.SearchPatients, []string{"pt-stale"}},
		{"kim", domain.SearchPatients, nil},
		{"jose riv", domain.SearchPortalUsers, []string{"u-old"}},
		{"jose@ex", domain.SearchPortalUsers, []string{"u-old"}},
	} {
		if got := find(tc.q, tc.kind); !slices.Equal(got, tc.want) {
			t.Errorf("after the migration %q finds %v, want %v", tc.q, got, tc.want)
		}
	}
}

// GIVEN the demo chart with its headers stripped of turns, as written
// before turns were kept WHEN the migration runs THEN every view of the
// work queue lists what it listed before, and a second run changes nothing.
func TestTurnsBackfill(t *testing.T) {
	client, prefix := dynamotest.New(t)
	tables := store.TablesWithPrefix(prefix)
	st := store.New(client, tables)
	if err := seed.Directory(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if err := seed.Conversations(t.Context(), st, time.Now()); err != nil {
		t.Fatal(err)
	}
	views := func() map[domain.Awaiting][]string {
		out := map[domain.Awaiting][]string{}
		for _, a := range []domain.Awaiting{domain.AwaitingStaff, domain.AwaitingFamily, domain.AwaitingNone} {
			page, err := st.Inbox(t.Context(), seed.PracticeID, app.ConversationFilter{Awaiting: a}, 100, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range page.Items {
				id := c.ID
				if a != domain.AwaitingNone { // when a conversation closed was never kept
					id += "@" + c.AwaitingSince.Format(time.RFC3339Nano)
				}
				out[a] = append(out[a], id)
			}
		}
		return out
	}
	want := views()
	if len(want[domain.AwaitingStaff]) == 0 || len(want[domain.AwaitingFamily]) == 0 || len(want[domain.AwaitingNone]) == 0 {
		t.Fatalf("the demo data should fill every view: %v", want)
	}
	out, err := client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(tables.Messages)})
	if err != nil {
		t.Fatal(err)
	}
	stripped := 0
	for _, it := range out.Items {
		if _, ok := it["messageCount"]; !ok || strings.Contains(it["SK"].(*types.AttributeValueMemberS).Value, "#MSG#") {
			continue
		}
		_, err := client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
			TableName: aws.String(tables.Messages), Key: map[string]types.AttributeValue{"PK": it["PK"], "SK": it["SK"]},
			UpdateExpression: aws.String("REMOVE awaiting, awaitingSince, QueuePK, PoolQueuePK, QueueSK"),
		})
		if err != nil {
			t.Fatal(err)
		}
		stripped++
	}
	if got := views(); len(got) != 0 {
		t.Fatalf("stripped headers still queued: %v", got)
	}
	for run, want := range []int{stripped, 0} {
		if got := runSteps(t, client, tables)["conversation-turns"]; got != want {
			t.Fatalf("run %d changed %d headers, want %d", run, got, want)
		}
	}
	if got := views(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the migration the queues are\n %v\nwant\n %v", got, want)
	}
}

// GIVEN a practice stored before the registry existed WHEN the migration
// runs THEN the escalator finds it, and a second run changes nothing.
func TestPracticeRegistryBackfill(t *testing.T) {
	client, prefix := dynamotest.New(t)
	tables := store.TablesWithPrefix(prefix)
	st := store.New(client, tables)
	if err := seed.Directory(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if _, err := client.DeleteItem(t.Context(), &dynamodb.DeleteItemInput{TableName: aws.String(tables.Directory),
		Key: map[string]types.AttributeValue{"PK": s("PRACTICES"), "SK": s(seed.PracticeID)}}); err != nil {
		t.Fatal(err)
	}
	if ids, err := st.Practices(t.Context()); err != nil || len(ids) != 0 {
		t.Fatalf("before: %v %v", ids, err)
	}
	for run, want := range []int{1, 0} {
		if got := runSteps(t, client, tables)["practice-registry"]; got != want {
			t.Fatalf("run %d listed %d practices, want %d", run, got, want)
		}
	}
	if ids, err := st.Practices(t.Context()); err != nil || !slices.Equal(ids, []string{seed.PracticeID}) {
		t.Fatalf("after: %v %v", ids, err)
	}
}

// GIVEN the demo chart with its family headers stripped of their audience,
// as written before audiences existed WHEN the migration runs THEN each
// says "family" again, the confidential one is untouched, the guardian's
// list is what it was, and a second run changes nothing.
func TestAudiencesBackfill(t *testing.T) {
	client, prefix := dynamotest.New(t)
	tables := store.TablesWithPrefix(prefix)
	st := store.New(client, tables)
	if err := seed.Directory(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if err := seed.Conversations(t.Context(), st, time.Now()); err != nil {
		t.Fatal(err)
	}
	family := []domain.Audience{domain.AudienceFamily}
	list := func() []string {
		page, err := st.Conversations(t.Context(), seed.Noah, family, app.ConversationFilter{}, 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, c := range page.Items {
			ids = append(ids, c.ID+"@"+string(c.Audience))
		}
		return ids
	}
	want := list()
	out, err := client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(tables.Messages)})
	if err != nil {
		t.Fatal(err)
	}
	stripped := 0
	for _, it := range out.Items {
		pk := it["PK"].(*types.AttributeValueMemberS).Value
		if _, ok := it["messageCount"]; !ok || strings.HasSuffix(pk, "#CONFIDENTIAL") {
			continue
		}
		if _, err := client.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
			TableName: aws.String(tables.Messages), Key: map[string]types.AttributeValue{"PK": it["PK"], "SK": it["SK"]},
			UpdateExpression: aws.String("REMOVE audience"),
		}); err != nil {
			t.Fatal(err)
		}
		stripped++
	}
	if stripped != 6 {
		t.Fatalf("stripped %d family headers, want the demo's 6", stripped)
	}
	for run, want := range []int{stripped, 0} {
		if got := runSteps(t, client, tables)["conversation-audiences"]; got != want {
			t.Fatalf("run %d changed %d headers, want %d", run, got, want)
		}
	}
	out, err = client.Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String(tables.Messages)})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range out.Items {
		if _, ok := it["messageCount"]; !ok {
			continue
		}
		pk := it["PK"].(*types.AttributeValueMemberS).Value
		a, _ := it["audience"].(*types.AttributeValueMemberS)
		wantAud := "family"
		if strings.HasSuffix(pk, "#CONFIDENTIAL") {
			wantAud = "confidential"
		}
		if a == nil || a.Value != wantAud {
			t.Errorf("%s %v: audience %v, want %s", pk, it["SK"], a, wantAud)
		}
	}
	if got := list(); !reflect.DeepEqual(got, want) {
		t.Fatalf("guardian's list after the migration = %v, want %v", got, want)
	}
}
