package browsertest

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// shoot checks the current screen with axe-core and saves it, at 1280 px
// and at 375 px (as a phone, with mobile emulation), and fails if the
// phone layout scrolls sideways. Every screen a test shoots is checked.
func (b *tab) shoot(name string) {
	b.t.Helper()
	b.assertAccessible(name)
	dir := screenshotDir(b.t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	for _, w := range []struct {
		width, height int64
		opts          []chromedp.EmulateViewportOption
	}{
		{1280, 900, nil},
		{375, 812, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulatePortrait}},
	} {
		b.do(chromedp.EmulateViewport(w.width, w.height, w.opts...))
		time.Sleep(150 * time.Millisecond) // let layout settle after the resize
		b.assertAxe(name + "-" + itoa(w.width))
		if over := js[int](b, `() => document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
			b.fail("%s at %d px scrolls sideways by %d px", name, w.width, over)
		}
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			b.fail("screenshot %s: %v", name, err)
		}
		p := filepath.Join(dir, name+"-"+itoa(w.width)+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	// Reflow (WCAG 1.4.10): at 320 px nothing may need sideways scrolling.
	b.do(chromedp.EmulateViewport(320, 640, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	time.Sleep(150 * time.Millisecond)
	if over := js[int](b, `() => document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
		b.fail("%s at 320 px scrolls sideways by %d px", name, over)
	}
	b.do(chromedp.EmulateViewport(1280, 900))
}

// assertAccessible checks the basics a screen reader and a keyboard need:
// a page language, one h1, a label for every control, a name for every
// button and link, and no positive tabindex reordering the keyboard path.
func (b *tab) assertAccessible(name string) {
	b.t.Helper()
	bad := js[[]string](b, `() => {
		const out = [];
		if (!document.documentElement.lang) out.push('no lang on <html>');
		const visible = (e) => e.offsetParent !== null || e.closest('dialog[open]');
		if (document.querySelectorAll('h1').length !== 1) out.push('h1 count ' + document.querySelectorAll('h1').length);
		for (const c of document.querySelectorAll('input, select, textarea')) {
			if (c.type === 'hidden' || !visible(c)) continue;
			if (!(c.labels && c.labels.length) && !c.getAttribute('aria-label') && !c.getAttribute('aria-labelledby')) out.push('unlabelled ' + c.outerHTML.slice(0, 80));
		}
		for (const c of document.querySelectorAll('button, a[href]')) {
			if (visible(c) && !c.textContent.trim() && !c.getAttribute('aria-label')) out.push('nameless ' + c.outerHTML.slice(0, 80));
		}
		for (const c of document.querySelectorAll('[tabindex]')) {
			if (Number(c.getAttribute('tabindex')) > 0) out.push('positive tabindex ' + c.outerHTML.slice(0, 80));
		}
		return out;
	}`)
	if len(bad) > 0 {
		b.fail("%s: accessibility problems: %q", name, bad)
	}
}

func itoa(n int64) string {
	const digits = "0123456789"
	if n == 0 {
		return "0"
	}
	var s []byte
	for ; n > 0; n /= 10 {
		s = append([]byte{digits[n%10]}, s...)
	}
	return string(s)
}

// TestScreens visits every main screen, checks it works at phone width and
// saves screenshots for people to look at.
func TestScreens(t *testing.T) {
	v := newTab(t, "visitor")
	v.navigate(env.stack.Site() + "/")
	v.waitText("main h1", "Welcome")
	v.shoot("01-landing")
	v.navigate(env.stack.Site() + "/staff/")
	v.waitText("main button", "Sign in")
	v.shoot("02-staff-signed-out")
	v.navigate(env.stack.Site() + "/portal/")
	v.waitText("main", "call 911")
	v.shoot("03-portal-signed-out")
	v.clickText("main button", "Sign in")
	v.waitFor("the issuer's sign-in page", `(iss) => location.href.startsWith(iss) && document.readyState === 'complete' && document.querySelector('.users button')`, env.stack.Issuer())
	v.shoot("04-issuer-sign-in")

	staff := newTab(t, "dr.patel")
	staff.signIn("staff", "dr.patel")
	staff.waitFor("inbox rows", `() => document.querySelector('#main a.conv') && !document.querySelector('main .loading')`)
	staff.shoot("10-staff-inbox")
	staff.clickText("#main a.conv", "")
	staff.waitFor("a chain", `() => document.querySelector('.chain .msg') && document.querySelector('.side-panel select')`)
	staff.shoot("11-staff-conversation")
	staff.clickText("#nav a", "New conversation")
	staff.typeInto("#patient-q", "Rivera")
	staff.clickText("main button", "Search")
	staff.waitText(".results .name", "Rivera")
	staff.shoot("12-staff-new-search")
	staff.clickWithin(".results .result", "Mateo Rivera", "a")
	staff.waitText("main", "About Mateo Rivera")
	staff.typeInto(staff.fieldByLabel("Subject"), "Well-child visit reminder")
	staff.typeInto(staff.fieldByLabel("Message"), "Mateo is due for his yearly check-up. Reply here or call to book a time.")
	staff.shoot("13-staff-new-form")
	staff.clickText("#nav a", "Patients")
	staff.waitText(".results .name", "Rivera") // the last search is kept in memory
	staff.clickWithin(".results .result", "Sofia Rivera", "a")
	staff.waitText("main h2", "Chart history")
	staff.waitFor("chart rows", `() => !document.querySelector('main .loading') && document.querySelector('main .list li')`)
	staff.shoot("14-staff-chart")

	parent := newTab(t, "parent.rivera")
	parent.signIn("portal", "parent.rivera")
	parent.waitFor("conversation rows", `() => document.querySelector('main li') && !document.querySelector('main .loading')`)
	parent.shoot("20-portal-messages")
	parent.clickText("main a.more", "Details")
	parent.waitFor("a chain", `() => document.querySelector('.chain .msg')`)
	parent.shoot("21-portal-conversation")
	parent.clickText("#nav a", "Write Message")
	parent.waitText("main h1", "Write Message")
	parent.typeInto(parent.fieldByLabel("Subject"), "Question about allergy medicine")
	parent.typeInto(parent.fieldByLabel("Message"), "Can Mateo take his allergy medicine with the antibiotic?")
	parent.shoot("22-portal-write")

	// The session-expired prompt, forced by a token the API refuses and a
	// refresh token the issuer refuses (as after a revocation).
	staff.do(chromedp.Evaluate[chromedp.Void](`(() => { const k = 'pp.staff.session'; const s = JSON.parse(sessionStorage.getItem(k)); s.accessToken = 'expired.' + s.accessToken; s.refreshToken = 'revoked'; sessionStorage.setItem(k, JSON.stringify(s)); })()`))
	staff.clickText("#nav a", "Inbox")
	staff.waitFor("the session prompt", `() => document.querySelector('#session-expired')?.open`)
	staff.shoot("30-staff-session-expired")

	v.assertClean()
	parent.assertClean()
}

// TestSessionExpiryAndSignOut checks that a refused token that cannot be
// renewed (its refresh token revoked) leads to a clear prompt and back in
// through the issuer, that an expired token is noticed without a request,
// and that sign-out forgets the token.
func TestSessionExpiryAndSignOut(t *testing.T) {
	b := newTab(t, "desk.lee")
	b.signIn("staff", "desk.lee")
	b.waitText("main h1", "Inbox")

	// The API refuses the token (401): the prompt appears.
	b.do(chromedp.Evaluate[chromedp.Void](`(() => { const k = 'pp.staff.session'; const s = JSON.parse(sessionStorage.getItem(k)); s.accessToken = s.accessToken.slice(0, -4) + 'AAAA'; s.refreshToken = 'revoked'; sessionStorage.setItem(k, JSON.stringify(s)); })()`))
	b.clickText("#nav a", "Patients")
	b.typeInto("#patient-q", "Rivera")
	b.clickText("main button", "Search")
	b.waitFor("the session prompt", `() => document.querySelector('#session-expired')?.open && document.querySelector('#session-expired').textContent.includes('Your session expired')`)
	if js[bool](b, `() => sessionStorage.getItem('pp.staff.session') !== null`) {
		b.fail("the refused token is still stored")
	}
	// Sign in again returns to the screen the user was on.
	b.clickText("#session-expired button", "Sign in again")
	b.clickIssuerUser("desk.lee")
	b.waitFor("back on Patients", `() => location.hash === '#/patients' && document.querySelector('main h1')?.textContent === 'Patients'`)

	// A token that runs out while the page is open: the prompt appears on
	// time, before any click fails (the page treats a token as expired 30 s
	// early, so 31 s from now is one second away).
	b.do(chromedp.Evaluate[chromedp.Void](`(() => { const k = 'pp.staff.session'; const s = JSON.parse(sessionStorage.getItem(k)); s.expiresAt = Date.now() + 31000; s.refreshToken = 'revoked'; sessionStorage.setItem(k, JSON.stringify(s)); })()`))
	b.do(chromedp.Reload())
	b.waitFor("the app", `() => !document.querySelector('#sign-out').hidden`)
	b.waitFor("the session prompt on expiry", `() => document.querySelector('#session-expired')?.open`)
	b.clickText("#session-expired button", "Sign in again")
	b.clickIssuerUser("desk.lee")
	b.waitFor("signed in again", `() => !document.querySelector('#sign-out').hidden && !document.querySelector('#session-expired')?.open`)

	// A token past its expiry: the page says so on load, without calling the API.
	b.do(chromedp.Evaluate[chromedp.Void](`(() => { const k = 'pp.staff.session'; const s = JSON.parse(sessionStorage.getItem(k)); s.expiresAt = Date.now() - 1000; s.refreshToken = 'revoked'; sessionStorage.setItem(k, JSON.stringify(s)); })()`))
	b.do(chromedp.Reload())
	b.waitText("main", "Your session expired")
	b.waitText("main button", "Sign in again")

	// Sign out: the issuer's logout, back to a signed-out page, no token.
	b.clickText("main button", "Sign in again")
	b.clickIssuerUser("desk.lee")
	b.waitFor("signed in", `() => !document.querySelector('#sign-out').hidden`)
	b.clickText("#sign-out", "Sign out")
	b.waitText("main", "You have signed out.")
	if js[bool](b, `() => Object.keys(sessionStorage).some((k) => k.endsWith('.session'))`) {
		b.fail("a token is still stored after sign-out")
	}
	b.assertClean()
}
