package browsertest

import (
	"net/url"
	"strings"
	"testing"
)

// The sign-in screen's texts for OAuth error codes (auth.js).
const (
	textDenied      = "Sign-in was cancelled or not allowed. If you need access, ask your practice administrator."
	textBadRequest  = "The sign-in request was not accepted. Please try again."
	textServerError = "The sign-in service had a problem. Please try again in a few minutes."
	textBusy        = "The sign-in service is busy or down for maintenance. Please try again in a few minutes."
	textUsedCode    = "This sign-in link has expired or was already used. Please sign in again."
	textGeneric     = "Sign-in did not complete. Please try again."
)

// TestSignInErrors checks that a sign-in return with ?error= shows only our
// own fixed text for the error code: a crafted link's error_description (or
// error_uri, or a made-up code) never appears on our origin.
func TestSignInErrors(t *testing.T) {
	planted := "Your account is locked. Call 555-0100 and read us your card number"
	b := newTab(t, "visitor")

	// showsOnly waits for the sign-in screen with want in its error box, and
	// checks nothing from the URL got onto the page or stayed in the address bar.
	showsOnly := func(audience, want string, unwanted ...string) {
		t.Helper()
		b.waitFor("the sign-in screen's error "+want, `(want) => {
			const box = document.querySelector('main .alert');
			return box && box.textContent === want && [...document.querySelectorAll('main button')].some((x) => x.textContent.startsWith('Sign in'));
		}`, want)
		text := js[string](b, `() => document.body.innerText + ' ' + document.title`)
		for _, u := range append(unwanted, planted, "555-0100", "evil.example") {
			if u != "" && strings.Contains(text, u) {
				b.fail("the page shows %q from the URL", u)
			}
		}
		if loc := js[string](b, `() => location.pathname + location.search`); loc != "/"+audience+"/" {
			b.fail("the address bar still holds the sign-in answer: %s", loc)
		}
	}

	for _, tc := range []struct{ audience, code, want string }{
		{"staff", "access_denied", textDenied},
		{"portal", "access_denied", textDenied},
		{"staff", "invalid_request", textBadRequest},
		{"portal", "server_error", textServerError},
		{"staff", "temporarily_unavailable", textBusy},
		// Codes we do not know, including ones an object lookup would find.
		{"staff", "account_locked_call_555-0100", textGeneric},
		{"portal", "constructor", textGeneric},
		{"staff", "__proto__", textGeneric},
		{"portal", `<img src=x onerror="window.__xss=1">`, textGeneric},
	} {
		q := url.Values{
			"error":             {tc.code},
			"error_description": {planted + ` <img src=x onerror="window.__xss=2">`},
			"error_uri":         {"https://evil.example/help"},
			"state":             {"not-ours"},
		}
		b.navigate(env.stack.Site() + "/" + tc.audience + "/?" + q.Encode())
		unwanted := []string{}
		if tc.want == textGeneric {
			unwanted = append(unwanted, tc.code)
		}
		showsOnly(tc.audience, tc.want, unwanted...)
	}
	assertNoInjectedNodes(t, b)

	// A real error answer from the issuer: a sign-in request it refuses
	// comes back with its own error_description, which is not shown either.
	b.navigate(env.stack.Site() + "/staff/")
	b.clickText("main button", "Sign in")
	b.waitFor("the issuer's sign-in page", `(iss) => location.href.startsWith(iss)`, env.stack.Issuer())
	authorize := js[string](b, `() => location.href`)
	u, err := url.Parse(authorize)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("code_challenge_method", "plain")
	u.RawQuery = q.Encode()
	b.navigate(u.String())
	showsOnly("staff", textBadRequest, "PKCE", "code_challenge")

	// And signing in still works after all that.
	b.signIn("staff", "desk.lee")
	b.waitText("main h1", "Inbox")
	b.assertClean()

	// The token endpoint refusing a code: its error_description is not
	// shown, only our text for invalid_grant. (Its 400 is in the console on
	// purpose, so this tab is checked for scripts only.)
	b = newTab(t, "visitor with a bad code")
	b.navigate(env.stack.Site() + "/staff/")
	b.clickText("main button", "Sign in")
	b.waitFor("the issuer's sign-in page", `(iss) => location.href.startsWith(iss)`, env.stack.Issuer())
	u, _ = url.Parse(js[string](b, `() => location.href`))
	state := u.Query().Get("state")
	if state == "" {
		b.fail("no state in the authorize request")
	}
	b.navigate(env.stack.Site() + "/staff/?" + url.Values{"code": {"not-a-real-code"}, "state": {state}}.Encode())
	showsOnly("staff", textUsedCode, "unknown, used or expired code")
	b.assertNoScriptRan()
}
