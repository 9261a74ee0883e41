package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/linktoken"
	"github.com/pedsportal/messaging/internal/routes"
)

// otherParent is a second portal user of the fake world, with e-mail and
// text chosen, whom no test's link names.
const otherParent = "user-other-parent"

// prefsWorld is the fake world with two portal users whose channels it
// keeps, as the directory would.
type prefsWorld struct {
	*world
	channels map[string]domain.Channels
	phones   map[string]string
	emails   map[string]string
	writes   []string // portal users whose channels were written
}

func newPrefsWorld() *prefsWorld {
	p := &prefsWorld{
		world:    newWorld(),
		channels: map[string]domain.Channels{parent: {Email: true, SMS: true}, otherParent: {Email: true, SMS: true}},
		phones:   map[string]string{parent: "+15555550100", otherParent: "+15555550101"},
		emails:   map[string]string{parent: "parent@example.com", otherParent: "other@example.com"},
	}
	load := p.LoadAccessFn
	p.LoadAccessFn = func(ctx context.Context, q authz.Query) (*authz.Facts, error) {
		f, err := load(ctx, q)
		if err != nil {
			return nil, err
		}
		if q.PortalUserID == otherParent {
			f.PortalUser = &domain.PortalUser{ID: otherParent, PracticeID: practice, DisplayName: "Other", Active: true}
		}
		if u := f.PortalUser; u != nil {
			p.mu.Lock()
			u.Notify, u.Phone, u.Email = p.channels[u.ID], p.phones[u.ID], p.emails[u.ID]
			p.mu.Unlock()
		}
		return f, nil
	}
	p.SetNotifyAuditedFn = func(_ context.Context, id string, ch domain.Channels, rec audit.Record) error {
		p.mu.Lock()
		p.channels[id], p.writes = ch, append(p.writes, id)
		p.mu.Unlock()
		p.commit("notify", rec)
		return nil
	}
	return p
}

// unsubscribeCall is the one-click POST of a mail provider for token.
func unsubscribeCall(token string) call {
	c := callFor("POST /public/unsubscribe")
	c.query = map[string]string{"t": token}
	return c
}

// GIVEN parent's unsubscribe link WHEN the mail provider POSTs it, twice
// THEN e-mail is off for parent only, text stays on, each answer is the
// same 200, and each change committed its own record under parent as
// actor, side public.
func TestUnsubscribeTurnsOffEmailForThatUserOnly(t *testing.T) {
	w := newPrefsWorld()
	tok := unsubscribeToken(parent)
	for i := range 2 {
		resp := serve(t, t.Context(), w.world, unsubscribeCall(tok))
		if resp.StatusCode != http.StatusOK || resp.Body != `{"unsubscribed":true}` {
			t.Fatalf("attempt %d: %d %s", i+1, resp.StatusCode, resp.Body)
		}
	}
	if got := w.channels[parent]; got != (domain.Channels{SMS: true}) {
		t.Errorf("parent's channels = %+v, want text only", got)
	}
	if got := w.channels[otherParent]; got != (domain.Channels{Email: true, SMS: true}) {
		t.Errorf("another user's channels changed: %+v", got)
	}
	for _, id := range w.writes {
		if id != parent {
			t.Errorf("wrote the channels of %s", id)
		}
	}
	if len(w.txAudit) != 2 || len(w.appended) != 0 {
		t.Fatalf("records in transactions %+v, apart %+v; want one per change, in its transaction", w.txAudit, w.appended)
	}
	for _, r := range w.txAudit {
		if r.ActorID != parent || r.ActorSide != string(authz.SidePublic) || r.ActorRole != "portal" || r.PatientID != "" ||
			r.Action != audit.NotifyPreferences || r.Outcome != audit.Success || r.Status != 200 {
			t.Errorf("record = %+v", r)
		}
	}
}

// GIVEN a link that is not a valid unsubscribe link WHEN it is POSTed THEN
// the answer is the one 404, identical whatever the reason, and nothing
// is written: no change and no audit record.
func TestInvalidUnsubscribeLinksWriteNothing(t *testing.T) {
	good := unsubscribeToken(parent)
	other, _ := linktoken.New([]byte(strings.Repeat("x", 32)))
	mine, _ := linktoken.New(linkKey)
	payload, sig, _ := strings.Cut(good, ".")
	tampered := payload[:4] + map[bool]string{true: "B", false: "A"}[payload[4] == 'A'] + payload[5:] + "." + sig
	var bodies []string
	for _, tc := range []struct{ name, token string }{
		{"no token", ""},
		{"garbage", "not-a-token"},
		{"tampered", tampered},
		{"signature cut", payload + "." + sig[:10]},
		{"expired", mine.Sign(app.PurposeUnsubscribe, parent, time.Now().Add(-time.Second))},
		{"another purpose", mine.Sign("login", parent, time.Now().Add(time.Hour))},
		{"another key", other.Sign(app.PurposeUnsubscribe, parent, time.Now().Add(time.Hour))},
		{"a subject that is no ID", mine.Sign(app.PurposeUnsubscribe, "PORTALUSER#x", time.Now().Add(time.Hour))},
		{"a cursor", func() string {
			c, _ := codec(t).Encode(`["unsubscribe"]`, map[string]string{"PK": parent})
			return c
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newPrefsWorld()
			resp := serve(t, t.Context(), w.world, unsubscribeCall(tc.token))
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d, want 404: %s", resp.StatusCode, resp.Body)
			}
			if len(w.writes) != 0 || len(w.committed) != 0 || len(w.appended) != 0 {
				t.Fatalf("wrote %v, committed %v, appended %+v; want nothing", w.writes, w.committed, w.appended)
			}
			bodies = append(bodies, withoutInstance(resp.Body))
		})
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Errorf("404s differ:\n%s\n%s", bodies[0], b)
		}
	}
}

// withoutInstance drops the request ID, the one part of a problem that may
// differ between two identical refusals.
func withoutInstance(body string) string {
	var p map[string]any
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		return body
	}
	delete(p, "instance")
	b, _ := json.Marshal(p)
	return string(b)
}

// A valid link for an account that no longer exists is the same 404; the
// attempt is audited under the user the link names.
func TestUnsubscribeOfAMissingAccount(t *testing.T) {
	w := newPrefsWorld()
	resp := serve(t, t.Context(), w.world, unsubscribeCall(unsubscribeToken("user-gone")))
	if resp.StatusCode != http.StatusNotFound || len(w.writes) != 0 {
		t.Fatalf("status %d, writes %v", resp.StatusCode, w.writes)
	}
	if len(w.appended) != 1 || w.appended[0].ActorID != "user-gone" || w.appended[0].Outcome != audit.Denied {
		t.Fatalf("records %+v, want one denied under the link's user", w.appended)
	}
}

// A disabled account may still stop its e-mail: it is always safe.
func TestUnsubscribeOfADisabledAccount(t *testing.T) {
	w := newPrefsWorld()
	load := w.LoadAccessFn
	w.LoadAccessFn = func(ctx context.Context, q authz.Query) (*authz.Facts, error) {
		f, err := load(ctx, q)
		if f != nil && f.PortalUser != nil {
			f.PortalUser.Active = false
		}
		return f, err
	}
	if resp := serve(t, t.Context(), w.world, unsubscribeCall(unsubscribeToken(parent))); resp.StatusCode != http.StatusOK || w.channels[parent].Email {
		t.Fatalf("status %d, channels %+v", resp.StatusCode, w.channels[parent])
	}
}

// The bodies a one-click POST arrives with: none, a form, a multipart
// form; anything else is refused before the link is looked at.
func TestUnsubscribeBodies(t *testing.T) {
	const boundary = "b0undary"
	multipart := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--" + boundary + "--\r\n"
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
	}{
		{"empty", "", "", 200},
		{"RFC 8058 form", "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click", 200},
		{"form with charset", "application/x-www-form-urlencoded; charset=utf-8", "List-Unsubscribe=One-Click", 200},
		{"multipart form", "multipart/form-data; boundary=" + boundary, multipart, 200},
		{"another value", "application/x-www-form-urlencoded", "List-Unsubscribe=Later", 422},
		{"field missing", "application/x-www-form-urlencoded", "unsubscribe=yes", 422},
		{"field twice", "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click&List-Unsubscribe=One-Click", 422},
		{"JSON", "application/json", `{"List-Unsubscribe":"One-Click"}`, 400},
		{"no content type", "", "List-Unsubscribe=One-Click", 400},
		{"multipart without boundary", "multipart/form-data", multipart, 400},
		{"bad form", "application/x-www-form-urlencoded", "List-Unsubscribe=%zz", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newPrefsWorld()
			r, _ := routes.ByKey("POST /public/unsubscribe")
			h := handlerFor(t, w.world, r.Function)
			ev := event(unsubscribeCall(unsubscribeToken(parent)), "rid-"+t.Name())
			ev.Headers = map[string]string{}
			if tc.contentType != "" {
				ev.Headers["content-type"] = tc.contentType
			}
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(tc.body)), tc.body != ""
			resp, err := h(t.Context(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			if tc.status != 200 && len(w.writes) != 0 {
				t.Fatalf("refused body, but wrote %v", w.writes)
			}
		})
	}
}

// GIVEN the portal caller WHEN they read and then change their channels
// THEN the answer shows the choice and what the account makes possible,
// and the change committed with its record under the caller.
func TestPortalCallerReadsAndSetsChannels(t *testing.T) {
	w := newPrefsWorld()
	w.phones[parent] = ""
	w.channels[parent] = domain.Channels{Email: true}
	get := callFor("GET /portal/me/notifications")
	resp := serve(t, t.Context(), w.world, get)
	if want := `{"email":true,"sms":false,"emailAvailable":true,"smsAvailable":false,"emailUnreachable":false}`; resp.StatusCode != 200 || resp.Body != want {
		t.Fatalf("GET: %d %s, want %s", resp.StatusCode, resp.Body, want)
	}
	if len(w.appended) != 0 || len(w.committed) != 0 {
		t.Errorf("a read of one's own settings wrote %v / %+v", w.committed, w.appended)
	}

	put := callFor("PUT /portal/me/notifications")
	put.body = `{"email":false,"sms":false}`
	resp = serve(t, t.Context(), w.world, put)
	if want := `{"email":false,"sms":false,"emailAvailable":true,"smsAvailable":false,"emailUnreachable":false}`; resp.StatusCode != 200 || resp.Body != want {
		t.Fatalf("PUT: %d %s, want %s", resp.StatusCode, resp.Body, want)
	}
	if w.channels[parent] != (domain.Channels{}) || len(w.txAudit) != 1 {
		t.Fatalf("channels %+v, records %+v", w.channels[parent], w.txAudit)
	}
	if r := w.txAudit[0]; r.ActorID != parent || r.ActorSide != "portal" || r.PatientID != "" || r.Action != audit.NotifyPreferences {
		t.Errorf("record = %+v", r)
	}
	if resp := serve(t, t.Context(), w.world, get); !strings.Contains(resp.Body, `"email":false`) {
		t.Errorf("GET after PUT: %s", resp.Body)
	}
}

// GIVEN a change the account cannot carry, or a body that is not exactly
// the two choices WHEN it is PUT THEN it is refused naming the field, and
// nothing is written.
func TestSetChannelsRefusals(t *testing.T) {
	for _, tc := range []struct {
		name, body  string
		phone, mail string
		status      int
		field       string
	}{
		{"text without a mobile number", `{"email":true,"sms":true}`, "", "parent@example.com", 422, "sms"},
		{"e-mail without an address", `{"email":true,"sms":false}`, "+15555550100", "", 422, "email"},
		{"email missing", `{"sms":false}`, "+15555550100", "parent@example.com", 422, "email"},
		{"sms missing", `{"email":false}`, "+15555550100", "parent@example.com", 422, "sms"},
		{"unknown field", `{"email":false,"sms":false,"push":true}`, "+15555550100", "parent@example.com", 400, "push"},
		{"wrong type", `{"email":"yes","sms":false}`, "+15555550100", "parent@example.com", 400, "email"},
		{"empty body", ``, "+15555550100", "parent@example.com", 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newPrefsWorld()
			w.phones[parent], w.emails[parent] = tc.phone, tc.mail
			c := callFor("PUT /portal/me/notifications")
			c.body = tc.body
			resp := serve(t, t.Context(), w.world, c)
			if resp.StatusCode != tc.status || tc.field != "" && !strings.Contains(resp.Body, `"field":"`+tc.field+`"`) {
				t.Fatalf("status %d, want %d naming %q: %s", resp.StatusCode, tc.status, tc.field, resp.Body)
			}
			if len(w.writes) != 0 || len(w.committed) != 0 {
				t.Fatalf("wrote %v", w.writes)
			}
		})
	}
}

// GIVEN a portal account the practice disabled WHEN its user reads or
// changes their channels THEN both are refused with 403 and nothing is
// written.
func TestDisabledAccountCannotReadOrSetChannels(t *testing.T) {
	for _, key := range []string{"GET /portal/me/notifications", "PUT /portal/me/notifications"} {
		t.Run(key, func(t *testing.T) {
			w := newPrefsWorld()
			load := w.LoadAccessFn
			w.LoadAccessFn = func(ctx context.Context, q authz.Query) (*authz.Facts, error) {
				f, err := load(ctx, q)
				if f != nil && f.PortalUser != nil {
					f.PortalUser.Active = false
				}
				return f, err
			}
			resp := serve(t, t.Context(), w.world, callFor(key))
			if resp.StatusCode != http.StatusForbidden || len(w.writes) != 0 {
				t.Fatalf("status %d, writes %v; want 403 and nothing", resp.StatusCode, w.writes)
			}
		})
	}
}

// A staff token is no portal caller: the handler refuses it even if the
// gateway were misconfigured to let it through.
func TestStaffCannotUsePortalPreferences(t *testing.T) {
	w := newPrefsWorld()
	ev := event(callFor("GET /portal/me/notifications"), "rid-staff")
	ev.RequestContext.Authorizer.JWT.Claims = map[string]string{
		"sub": nurse, "iss": auds[domain.SideStaff].Issuer, "client_id": auds[domain.SideStaff].ClientID,
		"token_use": "access", "scope": routes.ScopeStaff, "cognito:groups": "[nurse]",
	}
	resp, _ := handlerFor(t, w.world, routes.FnPreferences)(t.Context(), ev)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d, want 403", resp.StatusCode)
	}
}

func handlerFor(t *testing.T, w *world, function string) api.Handler {
	t.Helper()
	return api.Constructors[function](api.Deps{Store: w, Audiences: auds, Cursors: codec(t), LinkKey: linkKey, Log: slog.New(slog.DiscardHandler)})
}

// The List-Unsubscribe URL is the public route with a token that verifies
// for that user and purpose, for 90 days.
func TestUnsubscribeURL(t *testing.T) {
	s, _ := linktoken.New(linkKey)
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, base := range []string{"https://api.example.org", "https://api.example.org/"} {
		u := app.UnsubscribeURL(base, s, parent, now)
		parsed, err := url.Parse(u)
		if err != nil || !strings.HasPrefix(u, "https://api.example.org/public/unsubscribe?t=") {
			t.Fatalf("URL %q (%v)", u, err)
		}
		tok := parsed.Query().Get("t")
		if id, err := s.Verify(app.PurposeUnsubscribe, tok, now.Add(app.UnsubscribeTTL)); err != nil || id != parent {
			t.Errorf("token verifies as %q, %v at 90 days", id, err)
		}
		if _, err := s.Verify(app.PurposeUnsubscribe, tok, now.Add(app.UnsubscribeTTL+time.Second)); err == nil {
			t.Error("token still valid after 90 days")
		}
	}
	if r, ok := routes.ByKey("POST " + app.UnsubscribePath); !ok || r.Op != routes.OpUnsubscribe || r.Audience != routes.Public {
		t.Errorf("no public unsubscribe route at %s: %+v", app.UnsubscribePath, r)
	}
	for name, u := range map[string]string{
		"no signer":   app.UnsubscribeURL("https://api.example.org", nil, parent, now),
		"no base URL": app.UnsubscribeURL("", s, parent, now),
		"not an ID":   app.UnsubscribeURL("https://api.example.org", s, "a b", now),
	} {
		if u != "" {
			t.Errorf("%s: %q, want \"\"", name, u)
		}
	}
}
