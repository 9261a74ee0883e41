package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/bench"
	"github.com/pedsportal/messaging/internal/compose"
	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/lambdaapp/reactors"
	"github.com/pedsportal/messaging/internal/lambdaapp/senders"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/localdev/officeclock"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

const repoRoot = "../.."

// newDeps returns handler dependencies over fresh, seeded tables.
func newDeps(t *testing.T) (api.Deps, *store.Store) {
	t.Helper()
	client, prefix := dynamotest.New(t)
	s := store.New(client, store.TablesWithPrefix(prefix))
	if err := seed.Directory(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	if err := seed.Conversations(t.Context(), s, time.Now()); err != nil {
		t.Fatal(err)
	}
	codec, err := cursor.New([]byte(strings.Repeat("c", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return api.Deps{
		Store:   s,
		Cursors: codec,
		// Inside office hours, whenever the test runs: no after-hours
		// acknowledgement joins the chain.
		Now:   officeclock.Open(),
		Blobs: bench.Blobs(),
		Audiences: authz.Audiences{
			domain.SidePortal: {Issuer: "http://127.0.0.1:8082/portal", ClientID: "portal-web"},
			domain.SideStaff:  {Issuer: "http://127.0.0.1:8082/staff", ClientID: "staff-web"},
		},
	}, s
}

// Every function has a folder, a constructor and a sample event, and the
// route table names no other function.
func TestEveryFunctionIsWired(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(repoRoot, "functions", "*", "main.go"))
	var onDisk []string
	for _, d := range dirs {
		onDisk = append(onDisk, filepath.Base(filepath.Dir(d)))
	}
	slices.Sort(onDisk)
	if got, want := onDisk, routes.FunctionNames(); !slices.Equal(got, want) {
		t.Errorf("functions/ folders = %v, want %v", got, want)
	}
	for _, f := range routes.Functions() {
		fn := f.Name
		if (api.Constructors[fn] != nil) != (f.Trigger == routes.HTTP) {
			t.Errorf("%s (trigger %q): HTTP constructor %v", fn, f.Trigger, api.Constructors[fn] != nil)
		}
		if _, err := os.Stat(filepath.Join(repoRoot, "events", fn+".json")); err != nil {
			t.Errorf("no sample event for %s: %v", fn, err)
		}
	}
	for _, r := range routes.All() {
		if api.Constructors[r.Function] == nil {
			t.Errorf("route %s names unknown function %s", r.Key(), r.Function)
		}
	}
}

// Each sample event in events/ replays through its handler against DynamoDB
// Local with the demo data and gets the documented answer. A sample is
// named for its function ("<function>.json"), or for its function and what
// it shows ("<function>.<what>.json") when a function serves several routes.
func TestSampleEvents(t *testing.T) {
	samples := map[string]struct {
		status  int
		want    []string // substrings of the body
		audited []string // patients audited by a route without one in its path
		// actor, for a change that names no patient, is whose partition
		// its record is filed under.
		actor string
	}{
		"directory": {http.StatusOK, []string{`"displayName":"Mateo Rivera"`, `"displayName":"Sofia Rivera"`}, []string{seed.Mateo, seed.Sofia}, ""},
		// Staff patient search through the index: name prefix and a US date.
		"directory.search-patients": {http.StatusOK, []string{`{"items":[{"id":"` + seed.Sofia + `","displayName":"Sofia Rivera","dateOfBirth":"2020-08-02"}]}`}, []string{seed.Sofia}, ""},
		// An admin finds the Riveras: masked addresses, links by patient ID,
		// one record under the admin.
		"directory.search-portal-users": {http.StatusOK, []string{`"displayName":"Ana Rivera","maskedEmail":"a•••@example.com","active":true`,
			`"displayName":"Luis Rivera"`, `{"patientId":"` + seed.Mateo + `","relationship":"guardian"}`}, nil, seed.AdminGarcia},
		"list-conversations": {http.StatusOK, []string{`"subject":"Rash after starting amoxicillin"`, `"subject":"School physical form"`}, nil, ""},
		"get-conversation":   {http.StatusOK, []string{`"id":"` + seed.ConvRash + `"`, `"messages":[{`}, nil, ""},
		// The family's download, as a FHIR R4 Bundle.
		"export-chart":        {http.StatusOK, []string{`"resourceType":"Bundle"`, `"contentString":"Mateo started amoxicillin`}, nil, ""},
		"write-message":       {http.StatusCreated, []string{`"subject":"Fever since last night"`, `"messageCount":1`}, nil, ""},
		"mark-read":           {http.StatusOK, []string{`"portalUnread":0`, `"portalReadAt":"`}, nil, ""},
		"staff-inbox":         {http.StatusOK, []string{`"subject":"Rash after starting amoxicillin"`, `"subject":"Question about last statement"`}, []string{seed.Mateo, seed.Lily}, ""},
		"manage-conversation": {http.StatusOK, []string{`"assignee":{"id":"` + seed.NurseKim + `"`}, nil, ""},
		"move-conversation":   {http.StatusOK, []string{`"audience":"confidential"`, `"id":"` + seed.ConvSportsForm + `"`}, nil, ""},
		"manage-links":        {http.StatusOK, []string{`"relationship":"guardian"`, `"patientId":"pt-9H3X6B2R"`}, nil, ""},
		"preferences":         {http.StatusOK, []string{`"email":false`, `"sms":true`, `"smsAvailable":true`}, nil, seed.ParentChen},
		// Ana asks for an upload slot in Mateo's rash conversation: a
		// pending record and a signed POST policy.
		"attachments": {http.StatusCreated, []string{`"state":"pending"`, `"name":"rash.jpg"`, `"X-Amz-Signature":"`, `"maxBytes":10485760`}, nil, ""},
		"templates":   {http.StatusOK, []string{`"text":"Thank you for writing about Mateo. Our office hours are Mon–Fri 8 AM–5 PM, Sat 9 AM–noon.`, `nurse line at ` + seed.NurseLine, `"unresolved":[]`}, nil, ""},
	}
	// Every sample on disk is replayed: here, by TestTriggeredSampleEvents,
	// or (attach-process, GuardDuty's event) by package attach.
	files, _ := filepath.Glob(filepath.Join(repoRoot, "events", "*.json"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		if _, ok := samples[name]; !ok && !slices.Contains([]string{routes.FnNotifier, routes.FnNotifyFlush, routes.FnSESEvents, routes.FnEscalate, routes.FnAttachProcess}, name) {
			t.Errorf("events/%s.json is replayed by no test", name)
		}
	}
	for name, check := range samples {
		fn, _, _ := strings.Cut(name, ".")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(repoRoot, "events", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			// Strictly: a misspelt field would silently not reach the
			// handler, and the sample would prove nothing.
			var ev events.APIGatewayV2HTTPRequest
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&ev); err != nil {
				t.Fatalf("events/%s.json is not a payload 2.0 event: %v", fn, err)
			}
			if ev.Version != "2.0" || ev.RequestContext.Authorizer == nil || ev.RequestContext.Authorizer.JWT == nil {
				t.Fatalf("events/%s.json lacks version 2.0 or the JWT authorizer block", fn)
			}
			if !slices.ContainsFunc(routes.All(), func(r routes.Route) bool { return r.Key() == ev.RouteKey && r.Function == fn }) {
				t.Fatalf("route %q is not served by %s in the route table", ev.RouteKey, fn)
			}
			deps, s := newDeps(t)
			resp, err := api.Constructors[fn](deps)(t.Context(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != check.status {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, check.status, resp.Body)
			}
			for _, w := range check.want {
				if !strings.Contains(resp.Body, w) {
					t.Errorf("body lacks %s: %s", w, resp.Body)
				}
			}
			// Every access to patient data leaves exactly one success record
			// per patient it touched: the one in the path, or each patient
			// a list returned.
			// A change that names no patient (notification preferences) is
			// filed under its actor instead.
			patients := check.audited
			if pid := ev.PathParameters["patientId"]; pid != "" {
				patients = []string{pid}
			}
			trailOf := s.AuditTrail
			if check.actor != "" {
				patients, trailOf = []string{check.actor}, s.ActorTrail
			}
			if len(patients) == 0 {
				t.Fatalf("the sample for %s names no audited patient", fn)
			}
			for _, pid := range patients {
				var mine []audit.Record
				trail, err := trailOf(t.Context(), pid)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range trail {
					if r.RequestID == ev.RequestContext.RequestID {
						mine = append(mine, r)
					}
				}
				if len(mine) != 1 || mine[0].Outcome != audit.Success {
					t.Errorf("patient %s: audit records of request %s = %+v, want one success", pid, ev.RequestContext.RequestID, mine)
				}
			}
		})
	}
}

// decodeStrict decodes a sample event as its Lambda type, refusing any
// field the type lacks.
func decodeStrict(t *testing.T, fn string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "events", fn+".json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("events/%s.json: %v", fn, err)
	}
}

// The sample events of the functions that react to events replay through
// their handlers, built as Lambda builds them, on DynamoDB Local with the
// demo data: a nurse's reply on the stream becomes a pending notification
// for the parent who chose e-mail (and only her); the schedule's event
// sends it once due; the escalator's marks what is past its target; SES's
// bounce marks her address, which staff then see.
func TestTriggeredSampleEvents(t *testing.T) {
	client, tables := seeded(t)
	st := store.New(client, tables)
	ctx := t.Context()
	env := func(fn string) func(string) string {
		f, _ := routes.FunctionNamed(fn)
		e := envvar.Function(slices.Sorted(maps.Keys(f.Tables)), f.Cursors, f.Sends, envvar.Settings{
			TableName: func(logical string) string {
				return map[string]string{schema.Directory: tables.Directory, schema.Messages: tables.Messages,
					schema.Notifications: tables.Notifications, schema.Worklog: tables.Worklog, schema.Audit: tables.Audit}[logical]
			},
			CursorSecretARN: "local-key", MailFrom: "messages@maplegrove.example", APIURL: "https://api.example.com",
		})
		return func(k string) string { return e[k] }
	}
	src := func(fn string, now time.Time) compose.Source {
		return compose.Source{Env: env(fn), DynamoDB: client, Now: func() time.Time { return now },
			CursorKey: func(context.Context, string) ([]byte, error) { return []byte(strings.Repeat("k", 32)), nil }}
	}
	at := time.Date(2026, 12, 2, 15, 0, 0, 0, time.UTC) // the sample's message time: 10:00 in New York

	var stream events.DynamoDBEvent
	decodeStrict(t, routes.FnNotifier, &stream)
	notifier, err := reactors.Notifier(ctx, src(routes.FnNotifier, at))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := notifier(ctx, stream)
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("notifier: %+v, %v", resp, err)
	}
	due, err := st.Due(ctx, at.Add(time.Hour), 10)
	if err != nil || len(due) != 1 || due[0].Recipient.ID != seed.ParentRivera || due[0].ConversationID != seed.ConvRash {
		t.Fatalf("pending after the stream event = %+v, %v; want one, for Ana", due, err)
	}

	// The practice's portal address, which the directory file gives in a
	// deployment, is what notifications link to.
	p := seed.DirectoryFile().Practice
	p.PortalURL = "https://portal.example.com/portal/"
	if err := st.PutPractice(ctx, p); err != nil {
		t.Fatal(err)
	}
	var schedule map[string]any
	decodeStrict(t, routes.FnNotifyFlush, &schedule)
	mail := &sentMail{}
	flusher, err := senders.Build(ctx, senders.Source{Source: src(routes.FnNotifyFlush, at.Add(11*time.Minute)), SES: mail})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := flusher.Flush(ctx); err != nil || res.Sent != 1 || len(mail.to) != 1 || mail.to[0] != "ana.rivera@example.com" {
		t.Fatalf("flush: %+v, %v, sent to %v", res, err, mail.to)
	}
	if !strings.HasPrefix(mail.unsubscribe, "<https://api.example.com/public/unsubscribe?t=") {
		t.Fatalf("List-Unsubscribe = %q", mail.unsubscribe)
	}

	// The escalator's schedule: a week on, the demo chart's waits are all
	// past their targets; each is marked once and alerted to its pool.
	var tick map[string]any
	decodeStrict(t, routes.FnEscalate, &tick)
	esc, err := reactors.Escalator(ctx, src(routes.FnEscalate, time.Now().Add(7*24*time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := esc.Run(ctx); err != nil || res.Overdue == 0 || res.Alerts == 0 {
		t.Fatalf("escalate: %+v, %v; want waits marked overdue and alerts", res, err)
	}
	if res, err := esc.Run(ctx); err != nil || res.Overdue != 0 {
		t.Fatalf("second escalation: %+v, %v; want nothing new", res, err)
	}

	var sns events.SNSEvent
	decodeStrict(t, routes.FnSESEvents, &sns)
	bounces, err := reactors.SESEvents(ctx, src(routes.FnSESEvents, at))
	if err != nil {
		t.Fatal(err)
	}
	if err := bounces(ctx, sns); err != nil {
		t.Fatal(err)
	}
	links, err := st.PatientLinks(ctx, seed.Mateo)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if (l.PortalUserID == seed.ParentRivera) != l.EmailUnreachable {
			t.Fatalf("after the bounce, link %s unreachable = %v", l.PortalUserID, l.EmailUnreachable)
		}
	}
}

// sentMail records what the flusher hands SES.
type sentMail struct {
	to          []string
	unsubscribe string
}

func (m *sentMail) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	m.to = append(m.to, in.Destination.ToAddresses...)
	for _, h := range in.Content.Simple.Headers {
		if aws.ToString(h.Name) == "List-Unsubscribe" {
			m.unsubscribe = aws.ToString(h.Value)
		}
	}
	return &sesv2.SendEmailOutput{MessageId: aws.String("local")}, nil
}
