package browsertest

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/pedsportal/messaging/internal/seed"
)

// notifySettings is GET /portal/me/notifications.
type notifySettings struct {
	Email            bool `json:"email"`
	SMS              bool `json:"sms"`
	EmailAvailable   bool `json:"emailAvailable"`
	SMSAvailable     bool `json:"smsAvailable"`
	EmailUnreachable bool `json:"emailUnreachable"`
}

func portalNotify(t *testing.T, user string) notifySettings {
	t.Helper()
	var s notifySettings
	apiCall(t, "portal", user, "GET", "/portal/me/notifications", nil, &s)
	return s
}

// phone emulates a 375 px phone, as shoot does for its phone screenshot.
func (b *tab) phone() {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulatePortrait))
}

// openNotifications follows the portal's navigation to Notifications and
// waits for the choices.
func (b *tab) openNotifications() {
	b.t.Helper()
	b.clickText("#nav a", "Notifications")
	b.waitText("main h1", "Notifications")
	b.waitFor("the notification choices", `() => document.querySelector('main form fieldset input[type=checkbox]') && !document.querySelector('main .loading')`)
}

// checkbox is what a person (and a screen reader) can tell about a checkbox.
type checkbox struct {
	Checked, Disabled bool
	Described         string // the text of its aria-describedby elements
}

func (b *tab) checkbox(css string) checkbox {
	b.t.Helper()
	return js[checkbox](b, `(css) => {
		const c = document.querySelector(css);
		const ids = (c.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
		return { Checked: c.checked, Disabled: c.disabled, Described: ids.map((i) => document.getElementById(i)?.textContent || '').join(' ') };
	}`, css)
}

// TestNotificationPreferences is the portal's Notifications screen on a
// phone: Ana Rivera chose e-mail and has no mobile number on file. She
// turns e-mail off and saves, the choice survives a reload, and she turns
// it back on with the keyboard alone, leaving the demo data as found.
func TestNotificationPreferences(t *testing.T) {
	const user = "parent.rivera"
	start := portalNotify(t, user)
	if !start.Email || start.SMS || !start.EmailAvailable || start.SMSAvailable {
		t.Fatalf("demo data: %s has %+v, want e-mail chosen, no mobile number", user, start)
	}
	// With e-mail chosen, the page says e-mail reaches her, unless
	// TestUnreachableFlag has run first and her address has bounced.
	byEmail := "Right now we tell you by e-mail when a message is waiting."
	savedByEmail := "Saved. We will tell you by e-mail when a message is waiting."
	if start.EmailUnreachable {
		byEmail = "Right now we do not tell you when a message is waiting. E-mail is paused until the office updates your address."
		savedByEmail = "Saved. We will not tell you when a message is waiting; sign in here to check for new messages. E-mail is paused until the office updates your address."
	}
	// Whatever happens below, Ana gets her choice back.
	t.Cleanup(func() {
		apiCall(t, "portal", user, "PUT", "/portal/me/notifications", map[string]bool{"email": true, "sms": false}, nil)
	})

	b := newTab(t, user)
	b.phone()
	b.signIn("portal", user)
	b.waitFor("the portal", `() => !document.querySelector('main .loading')`)
	b.openNotifications()

	email, sms := b.fieldByLabel("E-mail"), b.fieldByLabel("Text message")
	if c := b.checkbox(email); !c.Checked || c.Disabled {
		b.fail("E-mail: %+v, want checked and enabled", c)
	}
	c := b.checkbox(sms)
	if c.Checked || !c.Disabled {
		b.fail("Text message: %+v, want unchecked and disabled (no mobile number on file)", c)
	}
	b.waitText("main .channel .hint", "Ask the office to add your mobile number")
	if want := "Ask the office to add your mobile number"; !strings.Contains(c.Described, want) {
		b.fail("Text message is described by %q, want the hint %q tied to it", c.Described, want)
	}
	b.waitText("#notify-summary", byEmail)
	if !js[bool](b, `() => document.querySelector('#patient-bar').hidden`) {
		b.fail("the Current patient selector shows on the account's settings")
	}
	b.waitText("main .notice", "never include your child's name or any health details")
	if js[bool](b, `() => { const s = document.querySelector('#notify-status'); return !(s && (s.getAttribute('aria-live') === 'polite' || s.getAttribute('role') === 'status')); }`) {
		b.fail("the save status is not a live region")
	}
	b.shoot("23-portal-notifications")
	b.phone()

	// Turn e-mail off and save, with taps.
	b.clickText("main label", "E-mail")
	b.waitFor("E-mail unchecked", `(css) => !document.querySelector(css).checked`, email)
	b.clickText("main button", "Save")
	b.waitText("#notify-status", "Saved")
	b.waitText("#notify-status", "We will not tell you when a message is waiting")
	if s := portalNotify(t, user); s.Email || s.SMS {
		t.Fatalf("after saving e-mail off, the API has %+v", s)
	}
	b.shoot("24-portal-notifications-saved")
	b.phone()

	// A reload shows the saved choice.
	b.do(chromedp.Reload())
	b.waitFor("the page after reload", `() => document.querySelector('main h1') && !document.querySelector('main .loading')`)
	if js[string](b, `() => location.hash`) != "#/notifications" {
		b.openNotifications()
	}
	b.waitFor("the notification choices", `() => document.querySelector('main form fieldset input[type=checkbox]')`)
	email = b.fieldByLabel("E-mail")
	if c := b.checkbox(email); c.Checked {
		b.fail("after reload E-mail is still checked")
	}
	b.waitText("#notify-summary", "Right now we do not tell you when a message is waiting.")
	if js[string](b, `() => document.querySelector('#notify-status').textContent`) != "" {
		b.fail("a fresh page already says Saved")
	}

	// Back on, by keyboard: Space ticks the box, Tab skips the disabled
	// Text message to Save, Enter saves.
	b.do(chromedp.Focus(chromedp.CSS(email)))
	b.do(chromedp.KeyEvent(" "))
	b.waitFor("E-mail checked", `(css) => document.querySelector(css).checked`, email)
	b.do(chromedp.KeyEvent(kb.Tab))
	if f := js[string](b, `() => document.activeElement.textContent.trim()`); f != "Save" {
		b.fail("Tab from E-mail went to %q, want Save", f)
	}
	b.do(chromedp.KeyEvent(kb.Enter))
	b.waitText("#notify-status", savedByEmail)
	if !js[bool](b, `() => document.activeElement?.textContent.trim() === 'Save'`) {
		b.fail("focus left the Save button after saving")
	}
	if s := portalNotify(t, user); !s.Email || s.SMS {
		t.Fatalf("after saving e-mail on, the API has %+v", s)
	}
	b.do(chromedp.Reload())
	b.waitFor("the page after reload", `() => document.querySelector('main form fieldset input[type=checkbox]')`)
	if c := b.checkbox(b.fieldByLabel("E-mail")); !c.Checked {
		b.fail("after reload E-mail is unchecked")
	}
	b.assertClean()
}

// TestNotificationPreferencesRefused checks that a choice the API refuses
// is shown as plain text with a next step, and nothing is saved: the page
// offers Text message (as it would had the office removed the number
// after the page loaded) and the API answers 422 naming "sms".
func TestNotificationPreferencesRefused(t *testing.T) {
	const user = "parent.rivera"
	before := portalNotify(t, user)
	b := newTab(t, user)
	b.signIn("portal", user)
	b.waitFor("the portal", `() => !document.querySelector('main .loading')`)
	b.openNotifications()
	sms := b.fieldByLabel("Text message")
	js[bool](b, `(css) => { const c = document.querySelector(css); c.disabled = false; return true; }`, sms)
	b.clickText("main label", "Text message")
	b.waitFor("Text message checked", `(css) => document.querySelector(css).checked`, sms)
	b.clickText("main button", "Save")
	b.waitText("main .alert", "Your choices were not saved")
	b.waitText("main .alert", "Uncheck Text message and save again; to get text messages, ask the office to add your mobile number.")
	if js[string](b, `(css) => document.querySelector(css).getAttribute('aria-invalid')`, sms) != "true" {
		b.fail("Text message is not marked invalid")
	}
	if s := js[string](b, `() => document.querySelector('#notify-status').textContent`); s != "" {
		b.fail("the status says %q after a refusal", s)
	}
	if after := portalNotify(t, user); after != before {
		t.Fatalf("a refused save changed the settings: %+v, was %+v", after, before)
	}
	// The 422 shows in the console as a failed request, on purpose.
	b.assertNoScriptRan()
}

// TestNotificationsWithoutPatients: a parent with no linked child yet and
// no address or number on file still reaches the screen, and is told why
// neither choice is open.
func TestNotificationsWithoutPatients(t *testing.T) {
	b := newTab(t, "parent.new")
	b.signIn("portal", "parent.new")
	b.waitText("main", "No patients are linked to your account yet.")
	b.openNotifications()
	for label, hint := range map[string]string{
		"E-mail":       "Ask the office to add your e-mail address.",
		"Text message": "Ask the office to add your mobile number.",
	} {
		if c := b.checkbox(b.fieldByLabel(label)); c.Checked || !c.Disabled || !strings.Contains(c.Described, hint) {
			b.fail("%s: %+v, want unchecked, disabled and described by %q", label, c, hint)
		}
	}
	b.waitText("#notify-summary", "Right now we do not tell you when a message is waiting.")
	b.clickText("#nav a", "Messages")
	b.waitText("main", "No patients are linked to your account yet.")
	b.assertClean()
}

// TestUnreachableFlag marks Ana Rivera's address unreachable (as a bounce
// does) and checks that staff see it, in words, next to her on Mateo's
// page and not next to Luis, his other guardian, and that Ana is told on
// her Notifications screen. The mark stays for the rest of this run's
// stack, whose store is its own; no other test depends on its absence.
func TestUnreachableFlag(t *testing.T) {
	staff := newTab(t, "nurse.kim")
	st, ok := env.stack.(devStack)
	if !ok {
		t.Fatalf("the stack is a %T, not the in-process devstack whose store the test can reach", env.stack)
	}
	if err := st.Store.MarkEmailUnreachable(t.Context(), seed.ParentRivera, "ana.rivera@example.com"); err != nil {
		t.Fatalf("mark Ana's address unreachable: %v", err)
	}

	staff.signIn("staff", "nurse.kim")
	staff.waitText("main h1", "Inbox")
	staff.clickText("#nav a", "Patients")
	staff.typeInto("#patient-q", "Rivera")
	staff.clickText("main button", "Search")
	staff.clickWithin(".results .result", "Mateo Rivera", "a")
	staff.waitText("main h1", "Mateo Rivera")
	staff.waitText("main h2", "Family with portal access")
	type family struct {
		Name, Flag string
		FlagShown  bool
	}
	rows := js[[]family](staff, `() => [...document.querySelectorAll('main ul.family > li')].map((li) => {
		const flag = li.querySelector('.flag');
		return { Name: li.firstChild.textContent, Flag: flag ? flag.textContent : '', FlagShown: Boolean(flag && flag.offsetParent !== null && flag.getBoundingClientRect().width > 0) };
	})`)
	const want = "Family can't be reached by e-mail"
	var ana, luis bool
	for _, r := range rows {
		switch {
		case strings.Contains(r.Name, "Ana Rivera"):
			ana = true
			if r.Flag != want || !r.FlagShown {
				staff.fail("next to Ana Rivera: flag %q (shown %v), want %q", r.Flag, r.FlagShown, want)
			}
		case strings.Contains(r.Name, "Luis Rivera"):
			luis = true
			if r.Flag != "" {
				staff.fail("next to Luis Rivera, whose e-mail works: %q", r.Flag)
			}
		}
	}
	if !ana || !luis {
		staff.fail("the family list is %+v, want Ana Rivera and Luis Rivera", rows)
	}
	staff.shoot("15-staff-patient-unreachable")

	parent := newTab(t, "parent.rivera")
	parent.signIn("portal", "parent.rivera")
	parent.waitFor("the portal", `() => !document.querySelector('main .loading')`)
	parent.openNotifications()
	parent.waitText("main .notice.warn", "We could not deliver e-mail to your address. Please call the office to update it.")
	parent.waitText("#notify-summary", "E-mail is paused until the office updates your address.")
	if c := parent.checkbox(parent.fieldByLabel("E-mail")); !strings.Contains(c.Described, "We could not deliver e-mail") {
		parent.fail("the E-mail checkbox is not described by the notice: %q", c.Described)
	}
	parent.shoot("25-portal-notifications-unreachable")

	staff.assertClean()
	parent.assertClean()
}
