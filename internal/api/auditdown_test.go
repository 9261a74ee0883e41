package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/bench"
	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/localdev/officeclock"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

var testAudiences = authz.Audiences{
	domain.SidePortal: {Issuer: "http://127.0.0.1:8082/portal", ClientID: "portal-web"},
	domain.SideStaff:  {Issuer: "http://127.0.0.1:8082/staff", ClientID: "staff-web"},
}

// snapshot is every item of the product's tables but the audit trail.
func snapshot(t *testing.T, db *dynamodb.Client, tables store.Tables) string {
	t.Helper()
	var b strings.Builder
	for _, name := range []string{tables.Directory, tables.Messages, tables.Idempotency} {
		p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true)})
		var items []string
		for p.HasMorePages() {
			page, err := p.NextPage(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				// Expired idempotency records (the seed's are days old) go
				// when DynamoDB's TTL sweep gets to them: not a change.
				if exp, ok := it["ExpiresAt"].(*types.AttributeValueMemberN); ok {
					if n, _ := strconv.ParseInt(exp.Value, 10, 64); n < time.Now().Add(time.Hour).Unix() {
						continue
					}
				}
				j, _ := json.Marshal(it)
				items = append(items, string(j))
			}
		}
		slices.Sort(items)
		fmt.Fprintf(&b, "%s: %d\n%s\n", name, len(items), strings.Join(items, "\n"))
	}
	return b.String()
}

func seeded(t *testing.T) (*dynamodb.Client, store.Tables) {
	t.Helper()
	client, prefix := dynamotest.New(t)
	tables := store.TablesWithPrefix(prefix)
	st := store.New(client, tables)
	if err := seed.Directory(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if err := seed.Conversations(t.Context(), st, time.Now()); err != nil {
		t.Fatal(err)
	}
	return client, tables
}

func handlersOver(t *testing.T, st *store.Store) map[string]api.Handler {
	t.Helper()
	codec, err := cursor.New([]byte(strings.Repeat("c", 32)))
	if err != nil {
		t.Fatal(err)
	}
	hs := map[string]api.Handler{}
	for name, newHandler := range api.Constructors {
		hs[name] = newHandler(api.Deps{Store: st, Cursors: codec, LinkKey: bench.LinkKey, Audiences: testAudiences, Now: officeclock.Open(), Blobs: bench.Blobs()})
	}
	return hs
}

// phiOfDemo is what no response may carry while the audit table is down.
func phiOfDemo() []string {
	var out []string
	for _, p := range seed.DirectoryFile().Patients {
		out = append(out, p.DisplayName, p.DateOfBirth)
	}
	return append(out, "amoxicillin", "ear infection", "statement", "flu vaccine", "physical form")
}

// GIVEN the Audit table unavailable (it does not exist under the name the
// functions are given) WHEN every route of the API is called on DynamoDB
// Local THEN nothing in the chart or the directory changes, no response
// carries PHI, and every route that touches patient data answers 503.
func TestAuditTableDownEveryRoute(t *testing.T) {
	client, tables := seeded(t)
	down := tables
	down.Audit = tables.Audit + "-gone"
	hs := handlersOver(t, store.New(client, down))
	claims := bench.ClaimsFor(testAudiences)
	// The state scenarios need (the bench attachments, say), made while
	// the table is up, before the snapshot.
	for _, s := range bench.Scenarios() {
		if s.Prepare != nil {
			if err := s.Prepare(t.Context(), store.New(client, tables)); err != nil {
				t.Fatalf("prepare %s: %v", s.Name, err)
			}
		}
	}
	before := snapshot(t, client, tables)
	covered := map[string]bool{}
	for _, s := range bench.Scenarios() {
		covered[s.Route] = true
		t.Run(s.Name, func(t *testing.T) {
			resp, err := hs[s.Function()](t.Context(), s.Event(claims))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range phiOfDemo() {
				if strings.Contains(resp.Body, p) {
					t.Errorf("served %q with the audit table down: %.200s", p, resp.Body)
				}
			}
			r, _ := routes.ByKey(s.Route)
			switch r.Op {
			case routes.OpListPools, routes.OpStaffProfile, routes.OpListStaff, routes.OpInboxSummary, routes.OpGetNotify, routes.OpListTemplates:
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status %d, want 200: this route shows no patient data", resp.StatusCode)
				}
			default:
				if resp.StatusCode != http.StatusServiceUnavailable || resp.Headers["Retry-After"] == "" {
					t.Errorf("status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Headers["Retry-After"])
				}
			}
		})
	}
	for _, r := range routes.All() {
		if !covered[r.Key()] {
			t.Errorf("route %s has no scenario", r.Key())
		}
	}
	if after := snapshot(t, client, tables); after != before {
		t.Fatalf("the tables changed while the audit table was down:\nbefore %s\nafter %s", before, after)
	}
}

// GIVEN a reply whose first attempt failed because the audit table was
// down WHEN the client retries with the same Idempotency-Key THEN the
// reply is stored once, and a further retry replays it.
func TestRetryAfterAFailedFirstAttempt(t *testing.T) {
	client, tables := seeded(t)
	down := tables
	down.Audit = tables.Audit + "-gone"
	claims := bench.ClaimsFor(testAudiences)
	var s bench.Scenario
	for _, sc := range bench.Scenarios() {
		if sc.Name == "reply" {
			s = sc
		}
	}
	ev := s.Event(claims)
	first, _ := handlersOver(t, store.New(client, down))[s.Function()](t.Context(), ev)
	if first.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("first attempt: %d %s", first.StatusCode, first.Body)
	}
	healthy := handlersOver(t, store.New(client, tables))[s.Function()]
	var ids []string
	for i := range 2 {
		ev.RequestContext.RequestID = fmt.Sprintf("retry-%d", i)
		resp, _ := healthy(context.Background(), ev)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("retry %d: %d %s", i, resp.StatusCode, resp.Body)
		}
		var w struct {
			Message struct{ ID string } `json:"message"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &w); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, w.Message.ID)
	}
	if ids[0] == "" || ids[0] != ids[1] {
		t.Fatalf("retries answered messages %v, want the same one twice", ids)
	}
	st := store.New(client, tables)
	_, page, err := st.Chain(t.Context(), seed.Mateo, []domain.Audience{domain.AudienceFamily}, seed.ConvRash, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range page.Items {
		if m.Body == "Thank you" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the reply is stored %d times, want once", n)
	}
	trail, _ := st.AuditTrail(t.Context(), seed.Mateo)
	outcomes := map[string]string{}
	for _, r := range trail {
		outcomes[r.RequestID] = string(r.Outcome)
	}
	if outcomes["retry-0"] != "success" || outcomes["retry-1"] != "replayed" {
		t.Fatalf("audit outcomes = %v, want retry-0 success and retry-1 replayed", outcomes)
	}
}
