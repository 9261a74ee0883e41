package browsertest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

type session struct {
	AccessToken  string  `json:"accessToken"`
	RefreshToken string  `json:"refreshToken"`
	ExpiresAt    float64 `json:"expiresAt"`
}

func (b *tab) session(audience string) session {
	b.t.Helper()
	return js[session](b, `(k) => JSON.parse(sessionStorage.getItem(k) || '{}')`, "pp."+audience+".session")
}

// setExpiry moves the stored token's expiry to ms from now.
func (b *tab) setExpiry(audience string, ms int) {
	b.t.Helper()
	js[bool](b, `(k, ms) => { const s = JSON.parse(sessionStorage.getItem(k)); s.expiresAt = Date.now() + ms; sessionStorage.setItem(k, JSON.stringify(s)); return true; }`, "pp."+audience+".session", ms)
}

// tokenRequests counts the tab's POSTs to the issuer's token endpoint with
// the given grant.
func (b *tab) tokenRequests(grant string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, r := range b.requests {
		if r.Method == "POST" && strings.HasSuffix(r.URL, "/oauth2/token") {
			for _, e := range r.PostDataEntries {
				if strings.Contains(string(e.Bytes), "grant_type="+grant) {
					n++
				}
			}
		}
	}
	return n
}

// refreshAtIssuer redeems a refresh token at the issuer, as the page does,
// and returns the status.
func refreshAtIssuer(t *testing.T, audience, clientID, rt string) int {
	t.Helper()
	res, err := http.PostForm(env.stack.Issuer()+"/"+audience+"/oauth2/token", url.Values{
		"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {rt},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode
}

// Sessions keep working: a token about to run out is renewed in the
// background with the refresh token (no prompt, no sign-in page), a token
// that ran out while the tab slept is renewed on load, a token the API
// refuses is renewed once and the request retried, and sign-out revokes
// the refresh token at the issuer.
func TestSilentRenewal(t *testing.T) {
	b := newTab(t, "parent.chen")
	b.signIn("portal", "parent.chen")
	b.waitFor("the list", `() => document.querySelector('main .portal-conv') && !document.querySelector('main .loading')`)
	first := b.session("portal")
	if first.RefreshToken == "" || first.AccessToken == "" {
		b.fail("no refresh token kept after sign-in: %+v", first)
	}
	if js[bool](b, `() => Object.keys(localStorage).length > 0 || document.cookie !== ''`) {
		b.fail("tokens or anything else went to localStorage or cookies")
	}

	// Two minutes and a bit left: renewed at once, in the background.
	b.setExpiry("portal", 140_000)
	b.do(chromedp.Reload())
	b.waitFor("a renewed token", `(old) => { const s = JSON.parse(sessionStorage.getItem('pp.portal.session') || '{}'); return s.accessToken && s.accessToken !== old && s.expiresAt > Date.now() + 30 * 60 * 1000; }`, first.AccessToken)
	if b.tokenRequests("refresh_token") == 0 {
		b.fail("no refresh_token grant was sent")
	}
	if js[bool](b, `() => document.querySelector('#session-expired')?.open`) {
		b.fail("the session prompt showed although the token was renewed")
	}

	// Ran out while the tab was away: renewed on load, straight into the app.
	b.setExpiry("portal", -60_000)
	b.do(chromedp.Reload())
	// A reload signs in again through the renewal and loads the list: two
	// steps, so twice a step's time on a loaded machine.
	b.waitForWithin(2*stepTimeout, "the app, not the sign-in screen", `() => !document.querySelector('#sign-out').hidden && document.querySelector('main .portal-conv')`)

	// Refused by the API (a bad signature): renewed once, the click works.
	js[bool](b, `() => { const k = 'pp.portal.session'; const s = JSON.parse(sessionStorage.getItem(k)); s.accessToken = s.accessToken.slice(0, -4) + 'AAAA'; sessionStorage.setItem(k, JSON.stringify(s)); return true; }`)
	b.clickText("#nav a", "Notifications")
	b.waitText("main h1", "Notifications")
	b.waitFor("the settings loaded", `() => !document.querySelector('main .loading') && document.querySelector('main form')`)
	if js[bool](b, `() => document.querySelector('#session-expired')?.open`) {
		b.fail("the session prompt showed for a token a renewal could replace")
	}
	b.shoot("50-portal-renewed")

	// Sign-out revokes the refresh token: the issuer no longer takes it.
	rt := b.session("portal").RefreshToken
	b.clickText("#sign-out", "Sign out")
	b.waitText("main", "You have signed out.")
	if got := refreshAtIssuer(t, "portal", "portal-web", rt); got != http.StatusBadRequest {
		b.fail("the refresh token still works after sign-out (%d)", got)
	}
	b.assertClean()
}

// Drafts survive: Write Message and a reply are kept per user and
// conversation while typed, restored after a reload and after signing in
// again when the session ended, removed once sent, and all removed on
// sign-out.
func TestDraftsKept(t *testing.T) {
	b := newTab(t, "parent.chen")
	b.signIn("portal", "parent.chen")
	b.openFromNav("Write Message", "#/write")
	b.waitText("main h1", "Write Message")
	subject, body := "Draft kept "+runID, "Lily has had a cough for three days. "+runID
	b.choose(b.fieldByLabel("To"), "Nurse line")
	b.typeInto(b.fieldByLabel("Subject"), subject)
	b.typeInto(b.fieldByLabel("Message"), body)

	restored := func(what string) {
		b.t.Helper()
		b.waitFor(what, `(s, m) => {
			const f = [...document.querySelectorAll('main label')].reduce((o, l) => (o[l.textContent.trim()] = l.control, o), {});
			return f.Subject?.value === s && f.Message?.value === m && f.To?.selectedOptions[0]?.textContent === 'Nurse line'
				&& document.querySelector('main .draft-note')?.textContent.includes('unsent draft was restored');
		}`, subject, body)
	}
	b.do(chromedp.Reload())
	restored("the draft after a reload")

	// The session ends (and cannot be renewed) while the draft waits.
	js[bool](b, `() => { const k = 'pp.portal.session'; const s = JSON.parse(sessionStorage.getItem(k)); s.expiresAt = Date.now() + 31000; s.refreshToken = 'revoked'; sessionStorage.setItem(k, JSON.stringify(s)); return true; }`)
	b.do(chromedp.Reload())
	b.waitFor("the session prompt", `() => document.querySelector('#session-expired')?.open`)
	b.clickText("#session-expired button", "Sign in again")
	b.clickIssuerUser("parent.chen")
	b.waitFor("back on Write Message", `() => location.hash === '#/write' && document.querySelector('main h1')?.textContent === 'Write Message'`)
	restored("the draft after signing in again")
	b.shoot("51-portal-draft-restored")

	b.clickText("main button", "Send message")
	b.waitFor("the new conversation", `(s) => location.hash.startsWith('#/c/') && document.querySelector('main h1')?.textContent === s`, subject)
	if n := js[int](b, `() => Object.keys(sessionStorage).filter((k) => k.startsWith('pp.portal.draft.')).length`); n != 0 {
		b.fail("%d drafts kept after sending", n)
	}

	// A reply's draft, kept for this conversation only.
	reply := "Also she is eating less. " + runID
	b.typeInto(b.fieldByLabel("Your reply"), reply)
	b.do(chromedp.Reload())
	b.waitFor("the reply draft", `(r) => document.querySelector('main form textarea')?.value === r && document.querySelector('main .draft-note')`, reply)
	b.clickText("#nav a", "Write Message")
	b.waitText("main h1", "Write Message")
	if js[bool](b, `() => [...document.querySelectorAll('main textarea, main input')].some((e) => e.value !== '') || Boolean(document.querySelector('main .draft-note'))`) {
		b.fail("the reply's draft showed up in Write Message")
	}

	// Sign-out removes every draft; the next sign-in starts clean.
	b.clickText("#sign-out", "Sign out")
	b.waitText("main", "You have signed out.")
	if n := js[int](b, `() => Object.keys(sessionStorage).filter((k) => k.includes('.draft.')).length`); n != 0 {
		b.fail("%d drafts kept after sign-out", n)
	}
	b.clickText("main button", "Sign in")
	b.clickIssuerUser("parent.chen")
	b.waitFor("signed in", `() => !document.querySelector('#sign-out').hidden`)
	b.clickText("main a.more", "Details")
	b.waitFor("a chain", `() => document.querySelector('.chain .msg') && document.querySelector('main form textarea')`)
	if v := js[string](b, `() => document.querySelector('main form textarea').value`); v != "" {
		b.fail("a draft came back after sign-out: %q", v)
	}
	b.assertClean()
}
