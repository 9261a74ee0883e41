// Package bench measures the figures the README reports: the DynamoDB calls
// each operation makes, its sequential round trips and consumed capacity,
// and latencies. The scenarios here are shared by `make bench`, which
// prints the figures, and by a test that holds the README's round-trip
// table to them, so the table cannot drift.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/attach"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/linktoken"
	"github.com/pedsportal/messaging/internal/localdev/s3local"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

// Scenario is one operation as a client calls it, on the demo data.
type Scenario struct {
	Name   string // as the README's table names it
	Route  string // route key
	As     string // demo username
	Params map[string]string
	Body   string
	Status int
	// Prepare, when set, restores the state the operation needs (it runs
	// untraced before each call).
	Prepare func(ctx context.Context, st *store.Store) error
	// MinCapacity is the floor of capacity units for what the operation
	// must touch at the consistency it needs (see README).
	MinCapacity float64
}

// Scenarios returns one scenario per operation.
func Scenarios() []Scenario {
	mateo := map[string]string{"patientId": seed.Mateo}
	rash := map[string]string{"patientId": seed.Mateo, "conversationId": seed.ConvRash}
	link := map[string]string{"patientId": seed.Lily, "portalUserId": seed.ParentNoLinks}
	noah := map[string]string{"patientId": seed.Noah}
	private := map[string]string{"patientId": seed.Noah, "conversationId": seed.ConvNoahPrivate}
	sportsForm := map[string]string{"patientId": seed.Noah, "conversationId": seed.ConvSportsForm}
	relink := func(ctx context.Context, st *store.Store) error {
		return st.PutLink(ctx, seed.PracticeID, domain.Link{PatientID: seed.Lily, PortalUserID: seed.ParentNoLinks, Relationship: domain.RelGuardian},
			audit.Record{PatientID: seed.Lily, ActorID: "bench", Action: audit.Link, Outcome: audit.Success, RequestID: "bench-prepare"})
	}
	// Minimums: a strongly consistent read is 1 RCU per item up to 4 KB; a
	// transactional write 2 WCU per item up to 1 KB; an audit put 1 WCU.
	return []Scenario{
		{"list conversations", "GET /portal/patients/{patientId}/conversations", "parent.rivera", mateo, "", 200, nil, 2 + 1 + 1},
		{"read conversation", "GET /portal/patients/{patientId}/conversations/{conversationId}", "parent.rivera", rash, "", 200, nil, 2 + 1 + 1},
		{"start conversation", "POST /portal/patients/{patientId}/conversations", "parent.rivera", mateo, `{"poolId":"pool-nurse-line","subject":"Bench","body":"Hello"}`, 201, nil, 3 + 2*5},
		{"reply", "POST /portal/patients/{patientId}/conversations/{conversationId}/messages", "parent.rivera", rash, `{"body":"Thank you"}`, 201, nil, 3 + 2*5},
		{"mark read", "POST /portal/patients/{patientId}/conversations/{conversationId}/read", "parent.rivera", rash, "", 200, nil, 3 + 2*2},
		{"manage conversation", "PATCH /staff/patients/{patientId}/conversations/{conversationId}", "nurse.kim", rash, `{"assigneeId":"` + seed.NurseKim + `"}`, 200, nil, 3 + 2*2},
		{"staff inbox", "GET /staff/inbox", "nurse.kim", nil, "", 200, nil, 1 + 1 + 3},
		{"add note", "POST /staff/patients/{patientId}/conversations/{conversationId}/notes", "nurse.kim", rash, `{"text":"Called mum back."}`, 201, nil, 3 + 2*2},
		{"staff conversation log", "GET /staff/patients/{patientId}/conversations/{conversationId}/log", "nurse.kim", rash, "", 200, nil, 3 + 1 + 1},
		{"inbox summary", "GET /staff/inbox/summary", "nurse.kim", nil, "", 200, nil, 1 + 1},
		{"current patient list", "GET /portal/patients", "parent.rivera", nil, "", 200, nil, 1 + 1 + 2},
		// Ana Rivera's two children: the account, the links (GSI), each
		// child's headers (strongly consistent), one audit record each.
		{"portal summary", "GET /portal/summary", "parent.rivera", nil, "", 200, nil, 1 + 0.5 + 2 + 2},
		{"staff patient search", "POST /staff/patients/search", "nurse.kim", nil, `{"query":"rivera"}`, 200, nil, 1 + 1 + 2},
		{"staff patient view", "GET /staff/patients/{patientId}", "nurse.kim", mateo, "", 200, nil, 2 + 1 + 1},
		// Ana and Luis Rivera: the index page, their two accounts, their
		// links (GSI, eventually consistent), one audit record.
		{"find portal user", "POST /staff/portal-users/search", "admin.garcia", nil, `{"query":"rivera"}`, 200, nil, 1 + 0.5 + 2 + 2*0.5 + 1},
		{"link", "PUT /staff/patients/{patientId}/links/{portalUserId}", "admin.garcia", link, `{"relationship":"guardian"}`, 200, nil, 4 + 2*2},
		{"unlink", "DELETE /staff/patients/{patientId}/links/{portalUserId}", "admin.garcia", link, "", 204, relink, 2 + 2*2},
		// The other routes, so that every route of the table has a scenario.
		{"portal pools", "GET /portal/pools", "parent.rivera", nil, "", 200, nil, 1 + 1},
		{"staff profile", "GET /staff/me", "nurse.kim", nil, "", 200, nil, 1},
		{"staff pools", "GET /staff/pools", "nurse.kim", nil, "", 200, nil, 1 + 1},
		{"staff members", "GET /staff/members", "nurse.kim", nil, "", 200, nil, 1 + 1},
		{"staff chart history", "GET /staff/patients/{patientId}/conversations", "nurse.kim", mateo, "", 200, nil, 2 + 1 + 1},
		{"staff start conversation", "POST /staff/patients/{patientId}/conversations", "nurse.kim", mateo,
			`{"portalUserId":"` + seed.ParentRivera + `","poolId":"pool-nurse-line","subject":"Lab results","body":"All normal."}`, 201, nil, 4 + 2*4},
		// The download reads the access facts, then the list, then each
		// chain (the demo's Mateo has two), then stores its record; the
		// minimum is the demo chart's (the benchmark's chart is larger).
		{"download", "GET /portal/patients/{patientId}/export", "parent.rivera", mateo, "", 200, nil, 2 + 1 + 2 + 1},
		{"staff download", "GET /staff/patients/{patientId}/export", "nurse.kim", mateo, "", 200, nil, 2 + 1 + 2 + 1},
		{"staff read conversation", "GET /staff/patients/{patientId}/conversations/{conversationId}", "nurse.kim", rash, "", 200, nil, 2 + 1 + 1},
		{"staff reply", "POST /staff/patients/{patientId}/conversations/{conversationId}/messages", "nurse.kim", rash, `{"body":"Please stop it and call us."}`, 201, nil, 3 + 2*4},
		{"staff mark read", "POST /staff/patients/{patientId}/conversations/{conversationId}/read", "nurse.kim", rash, "", 200, nil, 3 + 2*2},
		{"notification preferences", "GET /portal/me/notifications", "parent.chen", nil, "", 200, nil, 1},
		{"set notification preferences", "PUT /portal/me/notifications", "parent.chen", nil, `{"email":true,"sms":true}`, 200, nil, 1 + 2*2},
		// Quick-reply templates. Create and delete move the owner's count in
		// the same transaction; the preview reads the practice and the
		// template beside the access read.
		{"templates", "GET /staff/templates", "nurse.kim", nil, "", 200, nil, 1 + 1 + 1},
		{"create template", "POST /staff/templates", "nurse.kim", nil, `{"title":"Bench","body":"Hello {childFirstName}"}`, 201, makeRoom, 1 + 2*3},
		{"update template", "PUT /staff/templates/{templateId}", "nurse.kim", benchTemplate, `{"title":"Bench","body":"Hi {childFirstName}"}`, 200, ensureTemplate, 1 + 2*2},
		{"delete template", "DELETE /staff/templates/{templateId}", "nurse.kim", benchTemplate, "", 204, ensureTemplate, 1 + 2*3},
		{"preview template", "POST /staff/patients/{patientId}/templates/{templateId}/preview", "nurse.kim",
			map[string]string{"patientId": seed.Mateo, "templateId": seed.TemplateAfterHours}, "", 200, nil, 2 + 2 + 1},
		// Adolescent confidentiality. A teen's reads name the confidential
		// partition only once the decision says the caller is the patient:
		// one more round trip, for the teen only.
		{"teen list conversations", "GET /portal/patients/{patientId}/conversations", "teen.noah", noah, "", 200, nil, 3 + 2 + 1},
		{"teen read confidential conversation", "GET /portal/patients/{patientId}/conversations/{conversationId}", "teen.noah", private, "", 200, nil, 3 + 1 + 1},
		// Staff move a family conversation to the care team only: the
		// access read, the chain, and one transaction holding each item's
		// delete and copy, the history entry and the audit record.
		{"move to the care team only", "POST /staff/patients/{patientId}/conversations/{conversationId}/audience", "dr.patel", sportsForm,
			`{"audience":"confidential","reason":"Noah asked that this stay between him and the office."}`, 200, shareSportsForm, 4 + 1 + 2*8},
		// Attachments. A slot is the access read, then the pending record
		// and its audit record in one transaction; a read is the access
		// read beside the file's record, then the audit record. Signing
		// makes no call.
		{"request upload", "POST /portal/patients/{patientId}/attachments", "parent.rivera", mateo,
			`{"conversationId":"` + seed.ConvRash + `","name":"rash.jpg","contentType":"image/jpeg","size":2481152}`, 201, nil, 2 + 2*2},
		{"read upload", "GET /portal/patients/{patientId}/attachments/{attachmentId}", "parent.rivera",
			map[string]string{"patientId": seed.Mateo, "attachmentId": BenchAttachment}, "", 200, ensureAttachments, 2 + 1 + 1},
		{"read attachment", "GET /portal/patients/{patientId}/conversations/{conversationId}/attachments/{attachmentId}", "parent.rivera",
			map[string]string{"patientId": seed.Mateo, "conversationId": seed.ConvRash, "attachmentId": BenchAttachment}, "", 200, ensureAttachments, 3 + 1 + 1},
		{"staff request upload", "POST /staff/patients/{patientId}/attachments", "nurse.kim", mateo,
			`{"conversationId":"` + seed.ConvRash + `","name":"care-plan.pdf","contentType":"application/pdf","size":120000}`, 201, nil, 2 + 2*2},
		{"staff read upload", "GET /staff/patients/{patientId}/attachments/{attachmentId}", "nurse.kim",
			map[string]string{"patientId": seed.Mateo, "attachmentId": BenchStaffUpload}, "", 200, ensureAttachments, 2 + 1 + 1},
		{"staff read attachment", "GET /staff/patients/{patientId}/conversations/{conversationId}/attachments/{attachmentId}", "nurse.kim",
			map[string]string{"patientId": seed.Mateo, "conversationId": seed.ConvRash, "attachmentId": BenchAttachment}, "", 200, ensureAttachments, 3 + 1 + 1},
		// On a public route As is whose signed link the request carries.
		{"one-click unsubscribe", "POST /public/unsubscribe", "parent.chen", nil, "List-Unsubscribe=One-Click", 200, nil, 1 + 2*2},
	}
}

// BenchAttachment is a photo Ana sent in the rash conversation, and
// BenchStaffUpload a PDF the nurse uploaded and has not sent yet;
// ensureAttachments (re)creates both.
const (
	BenchAttachment  = "01KSEEDATTACHMENT000000001"
	BenchStaffUpload = "01KSEEDATTACHMENT000000002"
)

func ensureAttachments(ctx context.Context, st *store.Store) error {
	at := time.Now().UTC()
	ana := domain.Party{ID: seed.ParentRivera, Name: "Ana Rivera", Role: "portal", Side: domain.SidePortal}
	nurse := domain.Party{ID: seed.NurseKim, Name: "Jordan Kim, RN", Role: string(domain.RoleNurse), Side: domain.SideStaff}
	for _, a := range []domain.Attachment{
		{ID: BenchAttachment, PatientID: seed.Mateo, ConversationID: seed.ConvRash, MessageID: "01KSEEDBENCHMESSAGE0000001", Uploader: ana,
			Name: "rash.jpg", ContentType: "image/jpeg", Size: 912345, SHA256: strings.Repeat("ab", 32), Width: 1600, Height: 1200,
			Thumbnail: true, State: domain.AttachmentReady, CreatedAt: at, ProcessedAt: &at},
		{ID: BenchStaffUpload, PatientID: seed.Mateo, ConversationID: seed.ConvRash, Uploader: nurse,
			Name: "care-plan.pdf", ContentType: "application/pdf", State: domain.AttachmentPending, CreatedAt: at},
	} {
		err := st.PutAttachment(ctx, a, audit.Record{PatientID: seed.Mateo, ActorID: "bench", At: at, Action: audit.UploadAttachment,
			Outcome: audit.Success, RequestID: "bench-prepare-" + rand.Text()})
		if err != nil && domain.ErrorCode(err) != domain.EConflict { // already there
			return err
		}
	}
	return nil
}

// Blobs signs attachment requests in tests and benchmarks. Signing makes
// no call, so the local S3 it names need not run.
func Blobs() app.Blobs {
	return attach.NewSigner(s3local.NewClient("http://127.0.0.1:9"), attach.Buckets{Uploads: "uploads", Chart: "chart"})
}

// benchTemplate is the personal template the update and delete scenarios
// change, which ensureTemplate (re)creates.
var benchTemplate = map[string]string{"templateId": domain.PersonalTemplatePrefix + "BENCH"}

func ensureTemplate(ctx context.Context, st *store.Store) error {
	at := time.Now().UTC()
	err := st.CreateTemplate(ctx, domain.Template{
		ID: benchTemplate["templateId"], Scope: domain.ScopeMine, PracticeID: seed.PracticeID, OwnerID: seed.NurseKim,
		Title: "Bench", Body: "Hello", UpdatedAt: &at,
	}, audit.Record{ActorID: seed.NurseKim, At: at, Action: audit.CreateTemplate, Outcome: audit.Success, RequestID: "bench-prepare-" + rand.Text()})
	if domain.ErrorCode(err) == domain.EInternal { // already there: its put's condition failed
		return nil
	}
	return err
}

// makeRoom removes the templates earlier runs of "create template" made,
// so that many runs stay under the owner's cap.
func makeRoom(ctx context.Context, st *store.Store) error {
	list, err := st.Templates(ctx, seed.PracticeID, seed.NurseKim)
	if err != nil {
		return err
	}
	for _, t := range list {
		if t.Scope == domain.ScopeMine && t.ID != benchTemplate["templateId"] {
			if err := st.DeleteTemplate(ctx, seed.NurseKim, t.ID, audit.Record{ActorID: seed.NurseKim, At: time.Now().UTC(), Action: audit.DeleteTemplate, Outcome: audit.Success, RequestID: "bench-prepare-" + rand.Text()}); err != nil {
				return err
			}
		}
	}
	return nil
}

// LinkKey is the key the handlers under test derive their e-mail link
// signer from (api.Deps.LinkKey): Event signs public routes' links with it.
var LinkKey = []byte("bench-link-bench-link-bench-32b!")

// ClaimsFor returns the claims of demo users' access tokens for auds.
func ClaimsFor(auds authz.Audiences) Claims {
	return func(username string, aud routes.Audience) map[string]string {
		u, ok := seed.UserByName(username)
		if !ok {
			panic("bench: no demo user " + username)
		}
		a := auds[domain.Side(aud)]
		c := map[string]string{"sub": u.Sub, "iss": a.Issuer, "client_id": a.ClientID, "token_use": "access", "scope": "openid " + string(aud) + "/messages", "username": username}
		if len(u.Groups) > 0 {
			c["cognito:groups"] = "[" + strings.Join(u.Groups, " ") + "]"
		}
		return c
	}
}

// Claims returns the authorizer claims of a demo user's access token for
// route, as the local issuer mints them and API Gateway passes them on.
type Claims func(username string, audience routes.Audience) map[string]string

// Event builds the payload 2.0 event of s.
func (s Scenario) Event(claims Claims) events.APIGatewayV2HTTPRequest {
	r, ok := routes.ByKey(s.Route)
	if !ok {
		panic("bench: no route " + s.Route)
	}
	path := r.Path
	for k, v := range s.Params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	if r.Audience == routes.Public {
		return s.publicEvent(r, path)
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: s.Route, RawPath: path, PathParameters: s.Params, Body: s.Body,
		Headers: map[string]string{"content-type": "application/json", "idempotency-key": rand.Text()},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: rand.Text(), RouteKey: s.Route,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: path, SourceIP: "127.0.0.1"},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: claims(s.As, r.Audience),
			}},
		},
	}
}

// publicEvent is the event of a public route: no authorizer, the signed
// link of s.As in the query, and the body as a form, which API Gateway
// base64-encodes.
func (s Scenario) publicEvent(r routes.Route, path string) events.APIGatewayV2HTTPRequest {
	u, ok := seed.UserByName(s.As)
	if !ok {
		panic("bench: no demo user " + s.As)
	}
	signer, err := linktoken.New(LinkKey)
	if err != nil {
		panic(err)
	}
	link, err := url.Parse(app.UnsubscribeURL("https://api.example", signer, u.Sub, time.Now()))
	if err != nil {
		panic(err)
	}
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: s.Route, RawPath: path, RawQueryString: link.RawQuery,
		QueryStringParameters: map[string]string{"t": link.Query().Get("t")},
		Headers:               map[string]string{"content-type": "application/x-www-form-urlencoded"},
		Body:                  base64.StdEncoding.EncodeToString([]byte(s.Body)), IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: rand.Text(), RouteKey: s.Route,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: path, SourceIP: "127.0.0.1"},
		},
	}
}

// Function is the function that serves s.
func (s Scenario) Function() string {
	r, _ := routes.ByKey(s.Route)
	return r.Function
}

// Check reports whether a response is the one s expects.
func (s Scenario) Check(status int, body string) error {
	if status != s.Status {
		return fmt.Errorf("%s: status %d, want %d: %s", s.Name, status, s.Status, body)
	}
	return nil
}

// shareSportsForm moves the demo's sports-form conversation back to the
// family, so that each run of the move scenario has one to move.
func shareSportsForm(ctx context.Context, st *store.Store) error {
	f, err := st.LoadAccess(ctx, authz.Query{PatientID: seed.Noah, ConversationID: seed.ConvSportsForm, Confidential: true})
	if err != nil {
		return err
	}
	c := f.Conversation
	if c == nil {
		return fmt.Errorf("bench: conversation %s missing", seed.ConvSportsForm)
	}
	if c.Audience == domain.AudienceFamily {
		return nil
	}
	_, page, err := st.Chain(ctx, seed.Noah, []domain.Audience{c.Audience}, c.ID, app.MaxMoveMessages, nil)
	if err != nil {
		return err
	}
	after := *c
	after.Audience, after.Version = domain.AudienceFamily, c.Version+1
	at := time.Now().UTC()
	id := ulid.Make().String()
	return st.MoveConversation(ctx, *c, page.Items, after,
		domain.Entry{ID: id, ConversationID: c.ID, PatientID: seed.Noah, Kind: domain.EventSharedWithFamily, By: domain.Party{ID: "bench", Side: domain.SideStaff}, At: at, Text: "bench"},
		audit.Record{PatientID: seed.Noah, ConversationID: c.ID, At: at, ActorID: "bench", Action: audit.ChangeAudience, Outcome: audit.Success, RequestID: "bench-prepare-" + id})
}
