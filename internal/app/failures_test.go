package app_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/bench"
	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/linktoken"
	"github.com/pedsportal/messaging/internal/mock"
	"github.com/pedsportal/messaging/internal/routes"
)

// The fast failure-path tests: the real handlers and application core over
// function-field fakes, so a dependency fails exactly where a test says.
// No Java: features are proven against DynamoDB Local elsewhere.

const (
	practice  = "prac-1"
	patient   = "pt-1"
	parent    = "user-parent"
	nurse     = "user-nurse"
	admin     = "user-admin"
	convID    = "01KSEED0000000000000000001"
	childName = "Robin Example"
	subject   = "Rash after the new medicine"
	body      = "A red rash appeared this morning."
)

var auds = authz.Audiences{
	domain.SidePortal: {Issuer: "https://issuer/portal", ClientID: "portal-app"},
	domain.SideStaff:  {Issuer: "https://issuer/staff", ClientID: "staff-app"},
}

// world is a fake store holding one practice, one patient, a parent, a
// nurse and an admin, one conversation and one message. It records what was
// committed and every audit record appended on its own.
type world struct {
	mock.Store
	mu        sync.Mutex
	committed []string       // operations whose transaction committed
	txAudit   []audit.Record // records that rode in a committed transaction
	appended  []audit.Record // records appended without a change
	header    domain.Conversation
	adminRole domain.StaffRole
	// uploadErr, when set, fails the upload slot's transaction.
	uploadErr error
}

// PutAttachment records an upload slot's commit.
func (w *world) PutAttachment(_ context.Context, _ domain.Attachment, rec audit.Record) error {
	if w.uploadErr != nil {
		return w.uploadErr
	}
	w.commit("upload", rec)
	return nil
}

// Attachment holds the parent's sent photo and the nurse's unsent PDF.
func (w *world) Attachment(_ context.Context, patientID, id string) (*domain.Attachment, error) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	files := map[string]domain.Attachment{
		sentFile: {ID: sentFile, PatientID: patient, ConversationID: convID, MessageID: "01KSEED0000000000000000009",
			Uploader: domain.Party{ID: parent, Side: domain.SidePortal}, Name: "rash.jpg", ContentType: "image/jpeg",
			Size: 1000, SHA256: strings.Repeat("0", 64), State: domain.AttachmentReady, CreatedAt: at},
		nurseUpload: {ID: nurseUpload, PatientID: patient, ConversationID: convID,
			Uploader: domain.Party{ID: nurse, Side: domain.SideStaff}, Name: "plan.pdf", ContentType: "application/pdf",
			State: domain.AttachmentPending, CreatedAt: at},
	}
	if a, ok := files[id]; ok && patientID == patient {
		return &a, nil
	}
	return nil, domain.ErrNotFound
}

func newWorld() *world {
	w := &world{adminRole: domain.RoleAdmin}
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	w.header = domain.Conversation{
		ID: convID, Patient: domain.PatientRef{ID: patient, DisplayName: childName}, PracticeID: practice,
		Subject: subject, Pool: domain.PoolRef{ID: "pool-nurse", Name: "Nurse line"}, Status: domain.StatusOpen,
		CreatedAt: at, LastActivityAt: at, MessageCount: 1, Preview: body, StaffUnread: 1, Version: 3,
	}
	msg := domain.Message{ID: "01KSEED0000000000000000009", ConversationID: convID, PatientID: patient, Body: body, CreatedAt: at}
	w.LoadAccessFn = func(_ context.Context, q authz.Query) (*authz.Facts, error) {
		f := &authz.Facts{}
		if q.StaffID == nurse || q.StaffID == admin {
			role := domain.RoleNurse
			if q.StaffID == admin {
				role = w.adminRole
			}
			f.Staff = &domain.StaffMember{ID: q.StaffID, PracticeID: practice, DisplayName: "Staff", Role: role, Active: true}
		}
		if q.PatientID == patient && q.StaffID != "" {
			f.Patient = &domain.Patient{ID: patient, PracticeID: practice, DisplayName: childName, DateOfBirth: "2010-03-14"}
		}
		if q.PortalUserID == parent {
			f.PortalUser = &domain.PortalUser{ID: parent, PracticeID: practice, DisplayName: "Parent", Active: true,
				Email: "parent@example.com", Notify: domain.Channels{Email: true}}
			if q.PatientID == patient {
				f.Link = &domain.Link{PatientID: patient, PortalUserID: parent, Relationship: domain.RelParent, PatientName: childName}
				f.LinkPracticeID = practice
			}
		}
		if q.PoolID == "pool-nurse" {
			f.Pool = &domain.Pool{ID: "pool-nurse", PracticeID: practice, Name: "Nurse line"}
		}
		if q.ConversationID == convID && q.PatientID == patient {
			w.mu.Lock()
			h := w.header
			w.mu.Unlock()
			f.Conversation = &h
		}
		return f, nil
	}
	w.ConversationsFn = func(context.Context, string, []domain.Audience, app.ConversationFilter, int, map[string]string) (app.Page[domain.Conversation], error) {
		return app.Page[domain.Conversation]{Items: []domain.Conversation{w.header}}, nil
	}
	w.ChainFn = func(context.Context, string, []domain.Audience, string, int, map[string]string) (*domain.Conversation, app.Page[domain.Message], error) {
		h := w.header
		return &h, app.Page[domain.Message]{Items: []domain.Message{msg}}, nil
	}
	w.InboxFn = func(context.Context, string, app.ConversationFilter, int, map[string]string) (app.Page[domain.Conversation], error) {
		return app.Page[domain.Conversation]{Items: []domain.Conversation{w.header}}, nil
	}
	w.OpenSummaryFn = func(context.Context, string, string) (app.Summary, error) { return app.Summary{Open: 1}, nil }
	w.PatientNewsFn = func(_ context.Context, id string, _ []domain.Audience, _ int) (app.PatientNews, error) {
		return app.PatientNews{PatientID: id, Unread: 1, UnreadMessages: 2}, nil
	}
	w.CreateConversationFn = func(_ context.Context, _ domain.Conversation, _ domain.Message, wr app.Write) (app.Written, error) {
		w.commit("create", wr.Audit)
		return app.Written{}, nil
	}
	w.AppendMessageFn = func(_ context.Context, m domain.Message, wr app.Write) (app.Written, error) {
		w.commit("reply", wr.Audit)
		return app.Written{ConversationID: m.ConversationID, MessageID: m.ID}, nil
	}
	w.MarkReadFn = func(_ context.Context, _ domain.Conversation, _ domain.Side, _ time.Time, rec audit.Record) error {
		w.commit("mark-read", rec)
		return nil
	}
	w.ChangeConversationFn = func(_ context.Context, _ domain.Conversation, _ domain.Change, _ []domain.Entry, rec audit.Record) error {
		w.commit("manage", rec)
		return nil
	}
	w.AddNoteFn = func(_ context.Context, _ domain.Entry, rec audit.Record) error {
		w.commit("note", rec)
		return nil
	}
	w.MoveConversationFn = func(_ context.Context, _ domain.Conversation, _ []domain.Message, _ domain.Conversation, _ domain.Entry, rec audit.Record) error {
		w.commit("move", rec)
		return nil
	}
	w.PracticeSettingsFn = func(context.Context, string) (domain.Practice, []domain.Pool, error) {
		return domain.Practice{ID: practice, NurseLine: "(555) 010-0100"}, []domain.Pool{{ID: "pool-nurse", Name: "Nurse line", ResponseTarget: "4h"}}, nil
	}
	w.WorklogFn = func(context.Context, string, string, int, map[string]string) (app.Page[domain.Entry], error) {
		return app.Page[domain.Entry]{}, nil
	}
	w.PortalUserLinksFn = func(context.Context, string) ([]domain.Link, error) {
		return []domain.Link{
			{PatientID: patient, PortalUserID: parent, PatientName: childName, PatientDOB: "2010-03-14", PracticeID: practice},
			// A link another practice left: never listed.
			{PatientID: "pt-elsewhere", PortalUserID: parent, PatientName: "Other Child", PracticeID: "prac-other"},
		}, nil
	}
	w.PatientLinksFn = func(context.Context, string) ([]domain.Link, error) {
		return []domain.Link{
			{PatientID: patient, PortalUserID: parent, PortalUserName: "Parent", Relationship: domain.RelParent},
			// The patient's own account, which a confidential move needs.
			{PatientID: patient, PortalUserID: "pu-own", PortalUserName: "Robin", Relationship: domain.RelSelf},
		}, nil
	}
	w.PoolsFn = func(context.Context, string) ([]domain.Pool, error) {
		return []domain.Pool{{ID: "pool-nurse", Name: "Nurse line"}}, nil
	}
	w.StaffMembersFn = func(context.Context, string) ([]domain.StaffMember, error) { return nil, nil }
	w.SearchPatientsFn = func(context.Context, string, domain.SearchQuery, int) ([]domain.Patient, error) {
		return []domain.Patient{{ID: patient, DisplayName: childName, DateOfBirth: "2010-03-14"}}, nil
	}
	// The index finds the parent, an account of another practice (which
	// must never be shown) and one renamed since it was indexed (which no
	// longer matches and must be dropped).
	w.SearchPortalUsersFn = func(context.Context, string, domain.SearchQuery, int) ([]string, error) {
		return []string{parent, "user-elsewhere", "user-renamed"}, nil
	}
	w.PortalUsersFn = func(context.Context, []string) ([]domain.PortalUser, error) {
		return []domain.PortalUser{
			{ID: parent, PracticeID: practice, DisplayName: "Parent", Active: true, Email: "parent@example.com"},
			{ID: "user-elsewhere", PracticeID: "prac-other", DisplayName: "Parent Elsewhere", Active: true},
			{ID: "user-renamed", PracticeID: practice, DisplayName: "Someone Else", Active: true},
		}, nil
	}
	w.PutLinkFn = func(_ context.Context, _ string, _ domain.Link, rec audit.Record) error {
		w.commit("link", rec)
		return nil
	}
	w.DeleteLinkFn = func(_ context.Context, _, _ string, rec audit.Record) error {
		w.commit("unlink", rec)
		return nil
	}
	w.SetNotifyAuditedFn = func(_ context.Context, _ string, _ domain.Channels, rec audit.Record) error {
		w.commit("notify", rec)
		return nil
	}
	w.TemplatesFn = func(context.Context, string, string) ([]domain.Template, error) {
		return []domain.Template{{ID: "tpl-1", Scope: domain.ScopePractice, PracticeID: practice, Title: "Hours", Body: "Open {officeHours}"}}, nil
	}
	w.TemplateWithPracticeFn = func(_ context.Context, practiceID, _, id string) (*domain.Practice, *domain.Template, error) {
		if practiceID != practice || id != "tpl-1" {
			return &domain.Practice{ID: practice, Name: "Practice"}, nil, nil
		}
		return &domain.Practice{ID: practice, Name: "Practice"}, &domain.Template{ID: id, Scope: domain.ScopePractice, PracticeID: practice, Title: "Hi", Body: "Hello {childFirstName}"}, nil
	}
	w.CreateTemplateFn = func(_ context.Context, _ domain.Template, rec audit.Record) error {
		w.commit("create-template", rec)
		return nil
	}
	w.UpdateTemplateFn = func(_ context.Context, _ domain.Template, rec audit.Record) error {
		w.commit("update-template", rec)
		return nil
	}
	w.DeleteTemplateFn = func(_ context.Context, _, _ string, rec audit.Record) error {
		w.commit("delete-template", rec)
		return nil
	}
	w.AppendAuditFn = func(_ context.Context, recs ...audit.Record) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.appended = append(w.appended, recs...)
		return nil
	}
	return w
}

func (w *world) commit(op string, rec audit.Record) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.committed = append(w.committed, op)
	w.txAudit = append(w.txAudit, rec)
}

// call is one request of the scenario list: a route with its parameters.
type call struct {
	key    string
	sub    string
	params map[string]string
	body   string
	query  map[string]string
}

var (
	pat     = map[string]string{"patientId": patient}
	patConv = map[string]string{"patientId": patient, "conversationId": convID}
	patUser = map[string]string{"patientId": patient, "portalUserId": parent}
	// Templates: one of the nurse's own, and the practice's for a patient.
	myTemplate  = map[string]string{"templateId": domain.PersonalTemplatePrefix + "1"}
	patTemplate = map[string]string{"patientId": patient, "templateId": "tpl-1"}
	// Attachments: one the parent sent in the conversation, and one the
	// nurse uploaded and has not sent.
	sentFile     = "01KSEEDATTACHMENT000000001"
	nurseUpload  = "01KSEEDATTACHMENT000000002"
	patFile      = map[string]string{"patientId": patient, "attachmentId": sentFile}
	patConvFile  = map[string]string{"patientId": patient, "conversationId": convID, "attachmentId": sentFile}
	patNurseFile = map[string]string{"patientId": patient, "attachmentId": nurseUpload}
	uploadBody   = `{"conversationId":"` + convID + `","name":"rash.jpg","contentType":"image/jpeg","size":1000}`
)

// calls has one request for every route of the API.
var calls = []call{
	{"GET /portal/patients", parent, nil, "", nil},
	{"GET /portal/pools", parent, nil, "", nil},
	{"GET /portal/summary", parent, nil, "", nil},
	{"GET /portal/patients/{patientId}/conversations", parent, pat, "", nil},
	{"POST /portal/patients/{patientId}/conversations", parent, pat, `{"poolId":"pool-nurse","subject":"Question","body":"Hello"}`, nil},
	{"GET /portal/patients/{patientId}/conversations/{conversationId}", parent, patConv, "", nil},
	{"POST /portal/patients/{patientId}/conversations/{conversationId}/messages", parent, patConv, `{"body":"Thanks"}`, nil},
	{"POST /portal/patients/{patientId}/conversations/{conversationId}/read", parent, patConv, "", nil},
	{"GET /portal/patients/{patientId}/export", parent, pat, "", map[string]string{"format": "fhir"}},
	{"GET /staff/me", nurse, nil, "", nil},
	{"GET /staff/pools", nurse, nil, "", nil},
	{"GET /staff/members", nurse, nil, "", nil},
	{"POST /staff/patients/search", nurse, nil, `{"query":"robin"}`, nil},
	{"GET /staff/patients/{patientId}", nurse, pat, "", nil},
	{"POST /staff/portal-users/search", admin, nil, `{"query":"parent"}`, nil},
	{"GET /staff/inbox", nurse, nil, "", nil},
	{"GET /staff/inbox/summary", nurse, nil, "", nil},
	{"GET /staff/patients/{patientId}/conversations", nurse, pat, "", nil},
	{"POST /staff/patients/{patientId}/conversations", nurse, pat, `{"portalUserId":"user-parent","poolId":"pool-nurse","subject":"Results","body":"All normal"}`, nil},
	{"GET /staff/patients/{patientId}/conversations/{conversationId}", nurse, patConv, "", nil},
	{"POST /staff/patients/{patientId}/conversations/{conversationId}/messages", nurse, patConv, `{"body":"Noted"}`, nil},
	{"POST /staff/patients/{patientId}/conversations/{conversationId}/read", nurse, patConv, "", nil},
	{"GET /staff/patients/{patientId}/export", nurse, pat, "", nil},
	{"PATCH /staff/patients/{patientId}/conversations/{conversationId}", nurse, patConv, `{"status":"closed"}`, nil},
	{"POST /staff/patients/{patientId}/conversations/{conversationId}/notes", nurse, patConv, `{"text":"Mum prefers calls after 3"}`, nil},
	{"POST /staff/patients/{patientId}/conversations/{conversationId}/audience", nurse, patConv, `{"audience":"confidential","reason":"The patient asked for privacy"}`, nil},
	{"GET /staff/patients/{patientId}/conversations/{conversationId}/log", nurse, patConv, "", nil},
	{"PUT /staff/patients/{patientId}/links/{portalUserId}", admin, patUser, `{"relationship":"guardian"}`, nil},
	{"DELETE /staff/patients/{patientId}/links/{portalUserId}", admin, patUser, "", nil},
	{"GET /staff/templates", nurse, nil, "", nil},
	{"POST /staff/templates", nurse, nil, `{"title":"Mine","body":"Hi {childFirstName}"}`, nil},
	{"PUT /staff/templates/{templateId}", nurse, myTemplate, `{"title":"Mine","body":"Hello {childFirstName}"}`, nil},
	{"DELETE /staff/templates/{templateId}", nurse, myTemplate, "", nil},
	{"POST /staff/patients/{patientId}/templates/{templateId}/preview", nurse, patTemplate, "", nil},
	{"POST /portal/patients/{patientId}/attachments", parent, pat, uploadBody, nil},
	{"GET /portal/patients/{patientId}/attachments/{attachmentId}", parent, patFile, "", nil},
	{"GET /portal/patients/{patientId}/conversations/{conversationId}/attachments/{attachmentId}", parent, patConvFile, "", nil},
	{"POST /staff/patients/{patientId}/attachments", nurse, pat, uploadBody, nil},
	{"GET /staff/patients/{patientId}/attachments/{attachmentId}", nurse, patNurseFile, "", nil},
	{"GET /staff/patients/{patientId}/conversations/{conversationId}/attachments/{attachmentId}", nurse, patConvFile, "", nil},
	{"GET /portal/me/notifications", parent, nil, "", nil},
	{"PUT /portal/me/notifications", parent, nil, `{"email":true,"sms":false}`, nil},
	// Public: no token, so no sub; the signed link names the parent.
	{"POST /public/unsubscribe", "", nil, "List-Unsubscribe=One-Click", map[string]string{"t": unsubscribeToken(parent)}},
}

// linkKey is the key the handlers under test sign and verify links with.
var linkKey = []byte(strings.Repeat("l", 32))

// unsubscribeToken is the token of portalUserID's unsubscribe link, as
// the flusher puts it in an e-mail.
func unsubscribeToken(portalUserID string) string {
	s, err := linktoken.New(linkKey)
	if err != nil {
		panic(err)
	}
	u, err := url.Parse(app.UnsubscribeURL("https://api.example", s, portalUserID, time.Now()))
	if err != nil {
		panic(err)
	}
	return u.Query().Get("t")
}

func callFor(key string) call {
	for _, c := range calls {
		if c.key == key {
			return c
		}
	}
	panic("no call for " + key)
}

func event(c call, rid string) events.APIGatewayV2HTTPRequest {
	r, ok := routes.ByKey(c.key)
	if !ok {
		panic("no route " + c.key)
	}
	path := r.Path
	for k, v := range c.params {
		path = strings.ReplaceAll(path, "{"+k+"}", v)
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: c.key, RawPath: path, PathParameters: c.params, Body: c.body, QueryStringParameters: c.query,
		Headers: map[string]string{"content-type": "application/json", "idempotency-key": fmt.Sprintf("key-%x", sha256.Sum256([]byte(rid)))[:40]},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: rid, RouteKey: c.key,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: path},
		},
	}
	if r.Audience == routes.Public {
		// No authorizer, and a form body, which API Gateway base64-encodes.
		ev.Headers = map[string]string{"content-type": "application/x-www-form-urlencoded"}
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(c.body)), true
		return ev
	}
	side := string(r.Audience)
	claims := map[string]string{
		"sub": c.sub, "iss": auds[domain.Side(side)].Issuer, "client_id": auds[domain.Side(side)].ClientID,
		"token_use": "access", "scope": r.Scopes[0],
	}
	if r.Audience == routes.Staff {
		claims["cognito:groups"] = "[nurse admin]"
	}
	ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}}
	return ev
}

func serve(t *testing.T, ctx context.Context, w *world, c call) events.APIGatewayV2HTTPResponse {
	t.Helper()
	r, _ := routes.ByKey(c.key)
	h := api.Constructors[r.Function](api.Deps{Store: w, Audiences: auds, Cursors: codec(t), LinkKey: linkKey, Log: slog.New(slog.DiscardHandler), Blobs: bench.Blobs()})
	resp, err := h(ctx, event(c, "rid-"+t.Name()))
	if err != nil {
		t.Fatalf("handler returned an error to Lambda: %v", err)
	}
	return resp
}

// phi is what no failed response may carry.
var phi = []string{childName, subject, body, "2010-03-14", "Robin"}

func noPHI(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	for _, s := range phi {
		if strings.Contains(resp.Body, s) {
			t.Errorf("response %d carries %q: %s", resp.StatusCode, s, resp.Body)
		}
	}
}

// GIVEN a healthy store WHEN every route is called THEN each succeeds:
// the scenario list itself is sound, so the failures below mean something.
func TestEveryRouteSucceedsOverTheFake(t *testing.T) {
	if len(calls) != len(routes.All()) {
		t.Fatalf("calls cover %d routes, the table has %d", len(calls), len(routes.All()))
	}
	for _, c := range calls {
		t.Run(c.key, func(t *testing.T) {
			w := newWorld()
			if resp := serve(t, t.Context(), w, c); resp.StatusCode >= 300 {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
		})
	}
}

// GIVEN the audit table down WHEN any route is called THEN no change is
// committed, no PHI is served, and the answer is 503 with Retry-After for
// every route that touches patient data.
func TestAuditDownCommitsNothingAndServesNoPHI(t *testing.T) {
	down := domain.Unavailable(errors.New("audit table: AccessDenied"))
	for _, c := range calls {
		t.Run(c.key, func(t *testing.T) {
			w := newWorld()
			w.AppendAuditFn = func(context.Context, ...audit.Record) error { return down }
			// A change commits with its audit record or not at all: the
			// fake transaction fails as DynamoDB's does when one of its
			// items cannot be written.
			w.CreateConversationFn = func(context.Context, domain.Conversation, domain.Message, app.Write) (app.Written, error) {
				return app.Written{}, down
			}
			w.AppendMessageFn = func(context.Context, domain.Message, app.Write) (app.Written, error) { return app.Written{}, down }
			w.MarkReadFn = func(context.Context, domain.Conversation, domain.Side, time.Time, audit.Record) error { return down }
			w.ChangeConversationFn = func(context.Context, domain.Conversation, domain.Change, []domain.Entry, audit.Record) error {
				return down
			}
			w.AddNoteFn = func(context.Context, domain.Entry, audit.Record) error { return down }
			w.MoveConversationFn = func(context.Context, domain.Conversation, []domain.Message, domain.Conversation, domain.Entry, audit.Record) error {
				return down
			}
			w.PutLinkFn = func(context.Context, string, domain.Link, audit.Record) error { return down }
			w.DeleteLinkFn = func(context.Context, string, string, audit.Record) error { return down }
			w.SetNotifyAuditedFn = func(context.Context, string, domain.Channels, audit.Record) error { return down }
			w.CreateTemplateFn = func(context.Context, domain.Template, audit.Record) error { return down }
			w.UpdateTemplateFn = func(context.Context, domain.Template, audit.Record) error { return down }
			w.DeleteTemplateFn = func(context.Context, string, string, audit.Record) error { return down }
			w.uploadErr = down
			resp := serve(t, t.Context(), w, c)
			noPHI(t, resp)
			if len(w.committed) != 0 {
				t.Errorf("committed %v with the audit table down", w.committed)
			}
			switch c.key {
			case "GET /portal/pools", "GET /staff/me", "GET /staff/pools", "GET /staff/members", "GET /staff/inbox/summary", "GET /portal/me/notifications", "GET /staff/templates":
				// No patient data: served as usual.
				if resp.StatusCode != http.StatusOK {
					t.Errorf("status %d, want 200 for a route without patient data", resp.StatusCode)
				}
			default:
				if resp.StatusCode != http.StatusServiceUnavailable || resp.Headers["Retry-After"] == "" {
					t.Errorf("status %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Headers["Retry-After"])
				}
			}
		})
	}
}

// GIVEN a healthy store WHEN a state change commits THEN its audit record
// rode in the same transaction, names the role the directory gave, and no
// second record was appended.
func TestChangesCommitTheirAuditRecord(t *testing.T) {
	for _, c := range calls {
		r, _ := routes.ByKey(c.key)
		if r.Method == http.MethodGet || r.Op == routes.OpSearchPatients || r.Op == routes.OpPreviewTemplate || r.Op == routes.OpSearchPortalUsers {
			continue
		}
		t.Run(c.key, func(t *testing.T) {
			w := newWorld()
			resp := serve(t, t.Context(), w, c)
			if resp.StatusCode >= 300 {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			if len(w.txAudit) != 1 || len(w.appended) != 0 {
				t.Fatalf("records in the transaction %+v, appended apart %+v; want exactly one, in the transaction", w.txAudit, w.appended)
			}
			rec := w.txAudit[0]
			r, _ := routes.ByKey(c.key)
			wantPatient, wantActor, wantSide, sub := patient, c.sub, string(r.Audience), c.sub
			if r.Op == routes.OpSetNotify || r.Op == routes.OpUnsubscribe {
				// Preferences name no patient: the record is the actor's,
				// and an unsubscribe's actor is the parent its link names.
				wantPatient, wantActor, sub = "", parent, parent
			}
			if r.Op == routes.OpCreateTemplate || r.Op == routes.OpUpdateTemplate || r.Op == routes.OpDeleteTemplate {
				// A staff member's own templates name no patient either.
				wantPatient = ""
				if rec.TargetID == "" {
					t.Errorf("template record names no template: %+v", rec)
				}
			}
			if rec.PatientID != wantPatient || rec.ActorID != wantActor || rec.ActorSide != wantSide || rec.Outcome != audit.Success || rec.RequestID != "rid-"+t.Name() {
				t.Errorf("record = %+v", rec)
			}
			if want := map[string]string{parent: "portal", nurse: "nurse", admin: "admin"}[sub]; rec.ActorRole != want {
				t.Errorf("actor role = %q, want %q (the directory's)", rec.ActorRole, want)
			}
			if (r.Op == routes.OpLink || r.Op == routes.OpUnlink) && rec.TargetID != parent {
				t.Errorf("link record names target %q, want the portal user %s", rec.TargetID, parent)
			}
		})
	}
}

// GIVEN a read WHEN it succeeds THEN one record per patient it returned was
// stored before the response.
func TestReadsAuditBeforeRelease(t *testing.T) {
	for _, c := range calls {
		r, _ := routes.ByKey(c.key)
		if r.Method != http.MethodGet && r.Op != routes.OpSearchPatients && r.Op != routes.OpPreviewTemplate && r.Op != routes.OpSearchPortalUsers {
			continue
		}
		t.Run(c.key, func(t *testing.T) {
			w := newWorld()
			resp := serve(t, t.Context(), w, c)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
			}
			wantRecs := 1
			if !strings.Contains(resp.Body, patient) && r.Op != routes.OpReadWorklog && r.Op != routes.OpPreviewTemplate && r.Op != routes.OpExportChart {
				wantRecs = 0 // no patient data in this response (a log, a preview or a download is the patient's even without its ID)
			}
			if strings.Contains(resp.Body, "pt-elsewhere") {
				t.Errorf("listed another practice's link: %s", resp.Body)
			}
			if len(w.appended) != wantRecs || len(w.committed) != 0 {
				t.Fatalf("appended %+v, committed %v; want %d record(s) and no change", w.appended, w.committed, wantRecs)
			}
		})
	}
}

// GIVEN each way a dependency fails WHEN a reply is written THEN the client
// gets the documented status and, when the failure is transient,
// Retry-After; the attempt is audited as failed or denied.
func TestDependencyFailures(t *testing.T) {
	reply := callFor("POST /portal/patients/{patientId}/conversations/{conversationId}/messages")
	list := callFor("GET /portal/patients/{patientId}/conversations")
	for _, tc := range []struct {
		name   string
		c      call
		break_ func(w *world)
		ctx    func(context.Context) context.Context
		status int
		retry  bool
	}{
		{"throttled transaction", reply, func(w *world) {
			w.AppendMessageFn = func(context.Context, domain.Message, app.Write) (app.Written, error) {
				return app.Written{}, &domain.Error{Code: domain.EThrottled, Message: "too many requests"}
			}
		}, nil, http.StatusTooManyRequests, true},
		{"retries exhausted", reply, func(w *world) {
			w.AppendMessageFn = func(context.Context, domain.Message, app.Write) (app.Written, error) {
				return app.Written{}, domain.Unavailable(errors.New("gave up after 8 attempts"))
			}
		}, nil, http.StatusServiceUnavailable, true},
		{"cancelled context", list, func(w *world) {
			w.ConversationsFn = func(ctx context.Context, _ string, _ []domain.Audience, _ app.ConversationFilter, _ int, _ map[string]string) (app.Page[domain.Conversation], error) {
				return app.Page[domain.Conversation]{}, ctx.Err()
			}
		}, func(ctx context.Context) context.Context {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return ctx
		}, http.StatusServiceUnavailable, true},
		{"access read throttled", list, func(w *world) {
			w.LoadAccessFn = func(context.Context, authz.Query) (*authz.Facts, error) {
				return nil, &domain.Error{Code: domain.EThrottled, Message: "too many requests"}
			}
		}, nil, http.StatusTooManyRequests, true},
		{"panic in the repository", reply, func(w *world) {
			w.AppendMessageFn = func(context.Context, domain.Message, app.Write) (app.Written, error) { panic("boom") }
		}, nil, http.StatusInternalServerError, false},
		{"panic in a read running beside the access read", list, func(w *world) {
			w.ConversationsFn = func(context.Context, string, []domain.Audience, app.ConversationFilter, int, map[string]string) (app.Page[domain.Conversation], error) {
				panic("boom")
			}
		}, nil, http.StatusInternalServerError, false},
		{"daily limit", reply, func(w *world) {
			w.AppendMessageFn = func(context.Context, domain.Message, app.Write) (app.Written, error) {
				return app.Written{}, &domain.Error{Code: domain.EThrottled, Message: "limit", RetryAfter: 3 * time.Hour, Err: domain.ErrDailyLimit}
			}
		}, nil, http.StatusTooManyRequests, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			tc.break_(w)
			ctx := t.Context()
			if tc.ctx != nil {
				ctx = tc.ctx(ctx)
			}
			resp := serve(t, ctx, w, tc.c)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			if got := resp.Headers["Retry-After"] != ""; got != tc.retry {
				t.Errorf("Retry-After present = %v, want %v", got, tc.retry)
			}
			if !strings.Contains(resp.Headers["Content-Type"], "problem+json") {
				t.Errorf("content type %q, want a problem document", resp.Headers["Content-Type"])
			}
			noPHI(t, resp)
			if len(w.appended) != 1 || w.appended[0].Outcome == audit.Success || (w.appended[0].PatientID != patient && w.appended[0].RequestedPatientID != patient) {
				t.Fatalf("audit records = %+v, want one failed or denied record of the attempt", w.appended)
			}
			if w.appended[0].MessageID != "" {
				t.Errorf("a failure record names message %s, which was never stored", w.appended[0].MessageID)
			}
		})
	}
}

// The daily limit's Retry-After says when the next day starts.
func TestDailyLimitRetryAfter(t *testing.T) {
	w := newWorld()
	w.AppendMessageFn = func(context.Context, domain.Message, app.Write) (app.Written, error) {
		return app.Written{}, &domain.Error{Code: domain.EThrottled, Message: "limit", RetryAfter: 90 * time.Minute, Err: domain.ErrDailyLimit}
	}
	resp := serve(t, t.Context(), w, callFor("POST /portal/patients/{patientId}/conversations/{conversationId}/messages"))
	if resp.StatusCode != http.StatusTooManyRequests || resp.Headers["Retry-After"] != "5400" {
		t.Fatalf("status %d, Retry-After %q; want 429 and 5400", resp.StatusCode, resp.Headers["Retry-After"])
	}
}

// GIVEN a portal user whose account the practice disabled WHEN they call
// any portal route THEN they are refused, though the link still exists.
func TestDisabledPortalAccount(t *testing.T) {
	for _, c := range calls {
		if c.sub != parent {
			continue
		}
		t.Run(c.key, func(t *testing.T) {
			w := newWorld()
			load := w.LoadAccessFn
			w.LoadAccessFn = func(ctx context.Context, q authz.Query) (*authz.Facts, error) {
				f, err := load(ctx, q)
				if f != nil && f.PortalUser != nil {
					f.PortalUser.Active = false
				}
				return f, err
			}
			resp := serve(t, t.Context(), w, c)
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403: %s", resp.StatusCode, resp.Body)
			}
			noPHI(t, resp)
			if len(w.committed) != 0 {
				t.Fatalf("committed %v for a disabled account", w.committed)
			}
		})
	}
}

// GIVEN an admin demoted in the directory WHEN their token still says
// admin THEN link changes are refused, and audited as denied.
func TestDemotedAdminCannotChangeLinks(t *testing.T) {
	for _, c := range []call{callFor("PUT /staff/patients/{patientId}/links/{portalUserId}"), callFor("DELETE /staff/patients/{patientId}/links/{portalUserId}")} {
		t.Run(c.key, func(t *testing.T) {
			w := newWorld()
			w.adminRole = domain.RoleFrontDesk
			resp := serve(t, t.Context(), w, c)
			if resp.StatusCode != http.StatusForbidden || len(w.committed) != 0 {
				t.Fatalf("status %d, committed %v; want 403 and nothing", resp.StatusCode, w.committed)
			}
			if len(w.appended) != 1 || w.appended[0].Outcome != audit.Denied || w.appended[0].ActorRole != string(domain.RoleFrontDesk) {
				t.Fatalf("audit = %+v, want one denied record with the directory's role", w.appended)
			}
		})
	}
}

// GIVEN a header that moves on between read and write WHEN mark-read runs
// THEN it retries from a fresh read and returns what was committed, and
// reading leaves the version managers send alone.
func TestStaleHeaderRetries(t *testing.T) {
	w := newWorld()
	tries := 0
	w.MarkReadFn = func(_ context.Context, c domain.Conversation, _ domain.Side, _ time.Time, rec audit.Record) error {
		tries++
		if tries == 1 {
			w.mu.Lock()
			w.header.MessageCount++ // a reply landed meanwhile
			w.header.Version++
			w.mu.Unlock()
			return domain.ErrStale
		}
		if c.MessageCount != 2 || c.Version != 4 {
			t.Errorf("retry wrote on count %d version %d, want the fresh 2 and 4", c.MessageCount, c.Version)
		}
		w.commit("mark-read", rec)
		return nil
	}
	resp := serve(t, t.Context(), w, callFor("POST /portal/patients/{patientId}/conversations/{conversationId}/read"))
	if resp.StatusCode != http.StatusOK || tries != 2 || !strings.Contains(resp.Body, `"version":4`) {
		t.Fatalf("status %d after %d tries: %s", resp.StatusCode, tries, resp.Body)
	}
	// With the version the client saw, a moved header is a 409 at once.
	w = newWorld()
	c := callFor("PATCH /staff/patients/{patientId}/conversations/{conversationId}")
	c.body = `{"status":"closed","version":2}`
	if resp := serve(t, t.Context(), w, c); resp.StatusCode != http.StatusConflict || len(w.committed) != 0 {
		t.Fatalf("stale manage: status %d, committed %v; want 409 and nothing", resp.StatusCode, w.committed)
	}
}

func codec(t *testing.T) *cursor.Codec {
	t.Helper()
	c, err := cursor.New([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// GIVEN a request for a patient or conversation the caller was never
// granted WHEN it is refused THEN its record is filed under the actor with
// the IDs it asked for apart, never under (or naming as checked) those IDs.
func TestUnverifiedAttemptsAreFiledUnderTheActor(t *testing.T) {
	nope := map[string]string{"patientId": "pt-nope"}
	nopeConv := map[string]string{"patientId": patient, "conversationId": "01KSEED00000000000000000ZZ"}
	for _, tc := range []struct {
		name   string
		c      call
		status int
		// what the record must name as checked, and as only asked for
		patient, conv, askedPatient, askedConv string
	}{
		{"foreign or missing patient", call{"GET /portal/patients/{patientId}/conversations", parent, nope, "", nil}, 404, "", "", "pt-nope", ""},
		{"refused body before any access check", call{"POST /portal/patients/{patientId}/conversations/{conversationId}/messages", parent, map[string]string{"patientId": "pt-nope", "conversationId": convID}, `{"body":""}`, nil}, 422, "", "", "pt-nope", convID},
		{"missing conversation of a granted patient", call{"POST /portal/patients/{patientId}/conversations/{conversationId}/read", parent, nopeConv, "", nil}, 404, patient, "", "", nopeConv["conversationId"]},
		{"staff on another practice's patient", call{"GET /staff/patients/{patientId}", nurse, nope, "", nil}, 404, "", "", "pt-nope", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			resp := serve(t, t.Context(), w, tc.c)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			if len(w.appended) != 1 {
				t.Fatalf("records = %+v, want one", w.appended)
			}
			r := w.appended[0]
			if r.PatientID != tc.patient || r.ConversationID != tc.conv || r.RequestedPatientID != tc.askedPatient || r.RequestedConversationID != tc.askedConv {
				t.Fatalf("record names patient %q conv %q, asked %q/%q; want %q %q, asked %q/%q",
					r.PatientID, r.ConversationID, r.RequestedPatientID, r.RequestedConversationID, tc.patient, tc.conv, tc.askedPatient, tc.askedConv)
			}
			if r.Outcome == audit.Success {
				t.Fatalf("outcome %s for a refused attempt", r.Outcome)
			}
			if tc.c.sub == nurse && r.ActorRole != "nurse" {
				t.Errorf("actor role %q, want the directory's nurse even when denied", r.ActorRole)
			}
		})
	}
}

// GIVEN a patient old enough but with no portal account of their own WHEN
// staff make a conversation confidential THEN it is refused naming the
// audience, and nothing is committed: nobody in the family could read it.
func TestMoveNeedsThePatientsOwnAccount(t *testing.T) {
	w := newWorld()
	w.PatientLinksFn = func(context.Context, string) ([]domain.Link, error) {
		return []domain.Link{{PatientID: patient, PortalUserID: parent, PortalUserName: "Parent", Relationship: domain.RelParent}}, nil
	}
	c := call{"POST /staff/patients/{patientId}/conversations/{conversationId}/audience", nurse, patConv, `{"audience":"confidential","reason":"Privacy"}`, nil}
	resp := serve(t, t.Context(), w, c)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(resp.Body, "no portal account of their own") {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	if len(w.committed) != 0 {
		t.Fatalf("committed %v", w.committed)
	}
}
