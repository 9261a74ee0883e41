package devstack_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/seed"
)

type prefs struct {
	Email            bool `json:"email"`
	SMS              bool `json:"sms"`
	EmailAvailable   bool `json:"emailAvailable"`
	SMSAvailable     bool `json:"smsAvailable"`
	EmailUnreachable bool `json:"emailUnreachable"`
}

// unsubscribe POSTs a link as a mail provider's one-click does: the body
// of RFC 8058 as a form, and whatever token c holds (none, for a client
// made with no token).
func (c *client) unsubscribe(link string) response {
	c.e.t.Helper()
	req, err := http.NewRequestWithContext(c.e.t.Context(), http.MethodPost, link, strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		c.e.t.Fatal(err)
	}
	if !strings.HasPrefix(link, c.e.st.APIURL+"/public/unsubscribe?t=") {
		c.e.t.Fatalf("link %q is not this stack's unsubscribe URL", link)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, b}
}

// A parent reads and changes their channels on the preferences page's
// routes, through the gateway with a real token; a one-click unsubscribe
// with no token at all then turns off e-mail for exactly the user its
// link names, every time, and is audited under that user.
func TestPreferencesAndOneClickUnsubscribe(t *testing.T) {
	e := start(t)
	chen, rivera := e.as("portal", "parent.chen"), e.as("portal", "parent.rivera")
	nobody := &client{e: e}

	var got prefs
	chen.must(200, "GET", "/portal/me/notifications", nil).json(t, &got)
	if got != (prefs{Email: true, SMS: true, EmailAvailable: true, SMSAvailable: true}) {
		t.Fatalf("Wei's settings = %+v, want e-mail and text, both available", got)
	}
	chen.must(200, "PUT", "/portal/me/notifications", map[string]bool{"email": false, "sms": true}).json(t, &got)
	if got.Email || !got.SMS {
		t.Fatalf("after PUT: %+v", got)
	}
	chen.must(200, "GET", "/portal/me/notifications", nil).json(t, &got)
	if got.Email || !got.SMS {
		t.Fatalf("GET after PUT: %+v", got)
	}
	chen.must(200, "PUT", "/portal/me/notifications", map[string]bool{"email": true, "sms": true})

	// Ana has no mobile number on file: text cannot be chosen.
	r := rivera.must(422, "PUT", "/portal/me/notifications", map[string]bool{"email": true, "sms": true})
	if !strings.Contains(string(r.body), `"field":"sms"`) {
		t.Fatalf("422 does not name sms: %s", r.body)
	}
	rivera.must(400, "PUT", "/portal/me/notifications", map[string]any{"email": true, "sms": false, "push": true})

	// Ana's link, POSTed with no Authorization header, twice.
	link := e.st.UnsubscribeURL(seed.ParentRivera, time.Now())
	for range 2 {
		r := nobody.unsubscribe(link)
		if r.status != 200 || strings.TrimSpace(string(r.body)) != `{"unsubscribed":true}` {
			t.Fatalf("unsubscribe: %d %s", r.status, r.body)
		}
	}
	rivera.must(200, "GET", "/portal/me/notifications", nil).json(t, &got)
	if got.Email || got.SMS || !got.EmailAvailable {
		t.Fatalf("Ana after unsubscribing = %+v, want e-mail off", got)
	}
	chen.must(200, "GET", "/portal/me/notifications", nil).json(t, &got)
	if !got.Email || !got.SMS {
		t.Fatalf("Wei was unsubscribed too: %+v", got)
	}
	trail, err := e.st.Store.ActorTrail(t.Context(), seed.ParentRivera)
	if err != nil {
		t.Fatal(err)
	}
	public := 0
	for _, rec := range trail {
		if rec.Action == audit.NotifyPreferences && rec.ActorSide == "public" && rec.Outcome == audit.Success && rec.PatientID == "" {
			public++
		}
	}
	if public != 2 {
		t.Fatalf("Ana's trail holds %d public unsubscribe records, want 2: %+v", public, trail)
	}

	// Wei keeps text when he unsubscribes from e-mail.
	if r := nobody.unsubscribe(e.st.UnsubscribeURL(seed.ParentChen, time.Now())); r.status != 200 {
		t.Fatalf("Wei's unsubscribe: %d %s", r.status, r.body)
	}
	chen.must(200, "GET", "/portal/me/notifications", nil).json(t, &got)
	if got.Email || !got.SMS {
		t.Fatalf("Wei after unsubscribing = %+v, want text only", got)
	}
}

// Every cell of the preferences authorization matrix.
func TestPreferencesAuthorization(t *testing.T) {
	e := start(t)
	chen, rivera := e.as("portal", "parent.chen"), e.as("portal", "parent.rivera")
	nurse := e.as("staff", "nurse.kim")
	nobody := &client{e: e}

	t.Run("the preferences routes need a portal token", func(t *testing.T) {
		for _, r := range []struct {
			c      *client
			method string
			body   any
		}{
			{nobody, "GET", nil}, {nobody, "PUT", map[string]bool{"email": false, "sms": false}},
			{nurse, "GET", nil}, {nurse, "PUT", map[string]bool{"email": false, "sms": false}},
		} {
			// The gateway refuses a staff-pool token on a portal route
			// (its issuer): 401, as API Gateway does; behind it the
			// handler would answer 403 (internal/app tests).
			if got := r.c.do(r.method, "/portal/me/notifications", r.body); got.status != 401 && got.status != 403 {
				t.Errorf("%s with token %t: %d, want 401 or 403", r.method, r.c.token != "", got.status)
			}
		}
		var got prefs
		rivera.must(200, "GET", "/portal/me/notifications", nil).json(t, &got)
		if !got.Email {
			t.Fatalf("a refused PUT changed Ana's settings: %+v", got)
		}
	})

	t.Run("a portal token on the public route is irrelevant", func(t *testing.T) {
		// Wei's token, Ana's link: Ana's e-mail goes off, Wei's stays.
		if r := chen.unsubscribe(e.st.UnsubscribeURL(seed.ParentRivera, time.Now())); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		var got prefs
		chen.must(200, "GET", "/portal/me/notifications", nil).json(t, &got)
		if !got.Email {
			t.Fatalf("the token's user was unsubscribed: %+v", got)
		}
		rivera.must(200, "GET", "/portal/me/notifications", nil).json(t, &got)
		if got.Email {
			t.Fatalf("the link's user was not: %+v", got)
		}
		// A staff token changes nothing either.
		if r := nurse.unsubscribe(e.st.UnsubscribeURL(seed.ParentChen, time.Now())); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	})

	t.Run("invalid links are one 404 and write nothing", func(t *testing.T) {
		link := e.st.UnsubscribeURL(seed.ParentLuis, time.Now())
		tok := link[strings.Index(link, "?t=")+3:]
		flipped := []byte(tok)
		flipped[3] ^= 1
		before, err := e.st.Store.ActorTrail(t.Context(), seed.ParentLuis)
		if err != nil {
			t.Fatal(err)
		}
		var bodies [][]byte
		for _, bad := range []string{"", "garbage", string(flipped), tok[:len(tok)-4]} {
			r := nobody.unsubscribe(e.st.APIURL + "/public/unsubscribe?t=" + url.QueryEscape(bad) + "&x=1")
			if r.status != 404 {
				t.Fatalf("token %q: %d %s", bad, r.status, r.body)
			}
			bodies = append(bodies, withoutInstance(r.body))
		}
		for _, b := range bodies[1:] {
			if string(b) != string(bodies[0]) {
				t.Errorf("404s differ:\n%s\n%s", bodies[0], b)
			}
		}
		after, _ := e.st.Store.ActorTrail(t.Context(), seed.ParentLuis)
		if len(after) != len(before) {
			t.Errorf("invalid links left audit records: %+v", after[len(before):])
		}
		// A GET of the link (a scanner fetching it) is no unsubscribe.
		if got := nobody.do("GET", link[len(e.st.APIURL):], nil); got.status != 404 {
			t.Errorf("GET of the link: %d", got.status)
		}
	})
}
