package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"
)

// failing makes the tab's API requests that match fail with a problem, as
// the API would answer, through the DevTools fetch domain: the page gets a
// real response and cannot tell it from the server's.
type failing struct {
	mu      sync.Mutex
	match   func(method, url string) bool
	status  int
	body    []byte
	started bool // one listener per tab: two would answer each request twice
}

// failAPI starts failing the tab's API requests that match with status and
// problem code; failAPI(nil, …) lets every request through again.
func (b *tab) failAPI(f *failing, status int, code, title string, match func(method, url string) bool) {
	b.t.Helper()
	f.mu.Lock()
	f.match, f.status, f.body = match, status, []byte(problemJSON(code, title, status))
	started := f.started
	f.started = true
	f.mu.Unlock()
	if started {
		return
	}
	b.run(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: env.stack.API() + "/*"}}})
		return err
	})
	paused := chromedp.Events(b.ctx, fetch.RequestPaused)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			f.mu.Lock()
			m, status, body := f.match, f.status, f.body
			f.mu.Unlock()
			// Preflights go to the real API, which answers them for the
			// site's origin.
			if m == nil || ev.Request.Method == "OPTIONS" || !m(ev.Request.Method, ev.Request.URL) {
				_, _ = chromedp.Call(b.ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
				continue
			}
			_, _ = chromedp.Call(b.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
				RequestID:    ev.RequestID,
				ResponseCode: int64(status),
				ResponseHeaders: []*fetch.HeaderEntry{
					{Name: "Content-Type", Value: "application/problem+json"},
					{Name: "Access-Control-Allow-Origin", Value: env.stack.Site()},
					{Name: "Retry-After", Value: "2"},
				},
				Body: body,
			})
		}
	}()
}

// problemJSON is an RFC 9457 problem in the API's shape, with a detail in
// the API's developer wording that must never reach the page.
func problemJSON(code, title string, status int) string {
	r := strings.NewReplacer("{code}", code, "{title}", title, "{status}", itoa(int64(status)))
	return r.Replace(`{"type":"https://pedsportal.dev/problems/{code}","title":"{title}","status":{status},"detail":"the requested resource does not exist","instance":"01JTESTREQUESTID0000000000"}`)
}

// assertNoRawAPIWording fails if the API's own wording reached the page.
func (b *tab) assertNoRawAPIWording() {
	b.t.Helper()
	text := js[string](b, `() => document.body.innerText`)
	for _, raw := range []string{"the requested resource does not exist", "Service unavailable", "Not found", "Request failed"} {
		if strings.Contains(text, raw) {
			b.fail("the page shows the API's wording %q", raw)
		}
	}
}

// listControlsShown counts visible Load more buttons and list rows in main.
const listControlsShown = `() => [...document.querySelectorAll('main button, main .list > li')].filter((e) => e.offsetParent !== null && (e.tagName === 'LI' || e.textContent === 'Load more')).length`

// TestFailedLoads checks that a failed load says in plain words what
// happened and what to do, offers Retry, shows no list controls on a list
// that did not load, and recovers when Retry works.
func TestFailedLoads(t *testing.T) {
	parent := newTab(t, "parent.rivera")
	var f failing
	parent.signIn("portal", "parent.rivera")
	parent.waitFor("conversation rows", `() => document.querySelector('main .list li') && !document.querySelector('main .loading')`)

	// The list of conversations: the service is down.
	isList := func(method, url string) bool {
		return method == "GET" && strings.Contains(url, "/conversations?") && !strings.Contains(url, "/conversations/")
	}
	parent.failAPI(&f, 503, "unavailable", "Service unavailable", isList)
	parent.clickText("#nav a", "Messages")
	parent.waitText("main .alert", "The messaging service is busy or briefly down.")
	parent.waitText("main .alert", "Try again in a few minutes.")
	parent.waitText("main .alert button", "Retry")
	if n := js[int](parent, listControlsShown); n != 0 {
		parent.fail("a failed list still shows %d rows or Load more buttons", n)
	}
	parent.assertNoRawAPIWording()
	parent.shoot("26-portal-list-failed")
	parent.failAPI(&f, 0, "", "", nil)
	parent.clickText("main .alert button", "Retry")
	parent.waitFor("the list after Retry", `() => document.querySelector('main .list li a.more') && !document.querySelector('main .alert').textContent`)
	parent.waitFor("focus on the heading after Retry", `() => document.activeElement === document.querySelector('main h1')`)

	// A conversation that is not there (or not ours): plain words, a way
	// back, Retry.
	parent.failAPI(&f, 404, "not_found", "Not found", func(method, url string) bool {
		return method == "GET" && strings.Contains(url, "/conversations/")
	})
	parent.clickText("main a.more", "Details")
	parent.waitText("main h1", "This page did not load")
	parent.waitText("main .alert", "We could not find this.")
	parent.waitText("main .alert", "Go back to the list and open it from there.")
	parent.waitText("main .alert button", "Retry")
	parent.waitText("main a", "All messages")
	parent.assertNoRawAPIWording()
	parent.shoot("27-portal-conversation-failed")
	parent.failAPI(&f, 0, "", "", nil)
	parent.clickText("main .alert button", "Retry")
	parent.waitFor("the chain after Retry", `() => document.querySelector('.chain .msg')`)

	// A reply refused as a conflict (the office closed it meanwhile): what
	// happened on this screen, and what to do with the words typed.
	parent.waitFor("the reply form", `() => document.querySelector('main form textarea')`)
	parent.typeInto(parent.fieldByLabel("Your reply"), "One more question. "+runID)
	parent.failAPI(&f, 409, "conflict", "Conflict", func(method, url string) bool {
		return method == "POST" && strings.HasSuffix(url, "/messages")
	})
	parent.clickText("main button", "Send reply")
	parent.waitText("main form .alert", "The office closed this conversation, so the reply was not sent. Copy your words, then write a new message.")
	parent.assertNoRawAPIWording()
	parent.failAPI(&f, 0, "", "", nil)
	parent.assertNoScriptRan() // the refused requests are in the console on purpose

	// The staff inbox: a list with filters; a failed load hides its rows
	// and Load more, and keeps the filters.
	staff := newTab(t, "desk.lee")
	var g failing
	staff.signIn("staff", "desk.lee")
	staff.waitFor("inbox rows", `() => document.querySelector('#main a.conv') && !document.querySelector('main .loading')`)
	staff.failAPI(&g, 500, "internal", "Internal error", func(method, url string) bool {
		return method == "GET" && strings.Contains(url, "/staff/inbox?")
	})
	staff.clickText("main button", "Refresh")
	staff.waitText("main .alert", "Something went wrong on our side.")
	staff.waitText("main .alert", "(Reference 01JTESTREQUESTID0000000000.)")
	staff.waitText("main .alert button", "Retry")
	if n := js[int](staff, listControlsShown); n != 0 {
		staff.fail("a failed inbox still shows %d rows or Load more buttons", n)
	}
	staff.assertNoRawAPIWording()
	staff.failAPI(&g, 0, "", "", nil)
	staff.clickText("main .alert button", "Retry")
	staff.waitFor("the inbox after Retry", `() => document.querySelector('#main a.conv')`)
	staff.assertNoScriptRan()
}

// TestProblemTable checks every row of the pages' problem table: each
// status and code the API uses gets a plain sentence with a next step, and
// the API's detail never shows through.
func TestProblemTable(t *testing.T) {
	v := newTab(t, "visitor")
	v.navigate(env.stack.Site() + "/portal/")
	v.waitText("main button", "Sign in")
	type row struct {
		Status  int
		Type    string
		Field   string
		Message string
		Next    string
	}
	rows := js[[]row](v, `async () => {
		const { plain } = await import('/js/problems.js');
		const base = 'https://pedsportal.dev/problems/';
		const cases = [[0, ''], [400, 'malformed'], [401, 'unauthorized'], [403, 'forbidden'], [404, 'not_found'],
			[409, 'conflict'], [413, 'too_large'], [422, 'invalid'], [422, 'idempotency'], [429, 'throttled'],
			[500, 'internal'], [502, ''], [503, 'unavailable'], [504, ''], [418, 'made_up'], [599, ''], [422, 'invalid']];
		return cases.map(([status, code], i) => {
			const field = i === cases.length - 1 ? 'subject' : '';
			const p = plain(status, { type: code ? base + code : undefined, title: 'Not found', detail: 'the requested resource does not exist', field, instance: 'REQ-1' });
			return { Status: status, Type: code, Field: field, Message: p.message, Next: p.next };
		});
	}`)
	if len(rows) != 17 {
		t.Fatalf("got %d rows", len(rows))
	}
	for _, r := range rows {
		if r.Next == "" || !strings.HasSuffix(strings.TrimSuffix(r.Message, " (Reference REQ-1.)"), r.Next) {
			t.Errorf("%d %s: %q has no next step", r.Status, r.Type, r.Message)
		}
		for _, raw := range []string{"requested resource", "Not found", "not_found", "problems/"} {
			if strings.Contains(r.Message, raw) {
				t.Errorf("%d %s: %q shows the API's wording %q", r.Status, r.Type, r.Message, raw)
			}
		}
		if got, want := strings.Contains(r.Message, "REQ-1"), r.Status >= 500; got != want {
			t.Errorf("%d %s: %q: reference shown = %v, want %v (only for the office to look up a 5xx)", r.Status, r.Type, r.Message, got, want)
		}
	}
	if m := rows[len(rows)-1].Message; !strings.HasPrefix(m, "Please check Subject.") {
		t.Errorf("a 422 naming subject says %q, want it to name the Subject field", m)
	}
	v.assertClean()
}

// assertFocusOnSent waits until focus is on a message in the chain that
// holds body and shows a visible "Sent".
func (b *tab) assertFocusOnSent(body string) {
	b.t.Helper()
	b.waitFor("focus on the sent message, marked Sent", `(body) => {
		const el = document.activeElement;
		if (!el || !el.matches('.chain li.msg') || !el.querySelector('.body')?.textContent.includes(body)) return false;
		const mark = el.querySelector('.sent-mark');
		return mark && mark.textContent.includes('Sent') && mark.offsetParent !== null;
	}`, body)
}

// TestReplyFocusAndHeader checks that a sent reply takes focus, marked
// Sent, and that the header's title stays readable under the pointer.
func TestReplyFocusAndHeader(t *testing.T) {
	parent := newTab(t, "parent.rivera")
	parent.signIn("portal", "parent.rivera")
	parent.clickText("main a.more", "Details")
	parent.waitFor("a chain", `() => document.querySelector('.chain .msg') && document.querySelector('main form')`)
	reply := "Thank you, that helps. " + runID
	parent.typeInto(parent.fieldByLabel("Your reply"), reply)
	parent.clickText("main button", "Send reply")
	parent.assertFocusOnSent(reply)
	parent.shoot("28-portal-reply-sent")

	// The header title under the pointer: white on the header's blue (at
	// the top of the page, where the title is).
	js[bool](parent, `() => { window.scrollTo(0, 0); return true; }`)
	type pt struct{ X, Y float64 }
	p := js[pt](parent, `() => { const r = document.querySelector('.brand').getBoundingClientRect(); return { X: r.left + 10, Y: r.top + r.height / 2 }; }`)
	parent.do(chromedp.MouseEvent("mouseMoved", p.X, p.Y))
	parent.waitFor("the hovered title", `() => document.querySelector('.brand').matches(':hover')`)
	if c := js[string](parent, `() => getComputedStyle(document.querySelector('.brand')).color`); c != "rgb(255, 255, 255)" {
		parent.fail("the header title is %s under the pointer, want white on the header colour", c)
	}
	parent.assertClean()
}

// TestPrintConversation checks the Print button and that print media shows
// the chain and hides navigation, forms, buttons and staff-only panels.
func TestPrintConversation(t *testing.T) {
	for _, tc := range []struct{ audience, user string }{{"portal", "parent.rivera"}, {"staff", "dr.patel"}} {
		b := newTab(t, tc.user)
		b.signIn(tc.audience, tc.user)
		if tc.audience == "portal" {
			b.clickText("main a.more", "Details")
		} else {
			b.waitFor("inbox rows", `() => document.querySelector('#main a.conv') && !document.querySelector('main .loading')`)
			b.clickText("#main a.conv", "")
		}
		b.waitFor("a chain", `() => document.querySelector('.chain .msg') && document.querySelector('main form')`)
		js[bool](b, `() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; return true; }`)
		b.clickText("main button", "Print")
		if n := js[int](b, `() => window.__printed`); n != 1 {
			b.fail("Print called window.print %d times, want 1", n)
		}
		b.run(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
			return err
		})
		shown := js[[]string](b, `() => {
			const seen = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
			const out = [];
			for (const sel of ['.app-header', '#nav', '#patient-bar', '.skip-link', 'main form', 'main button', 'main .btn', 'main .back', '.work-panel', '.list-foot', 'main select', 'main textarea', 'main input']) {
				for (const e of document.querySelectorAll(sel)) if (seen(e)) out.push(sel + ': ' + e.textContent.trim().slice(0, 40));
			}
			if (!seen(document.querySelector('main h1'))) out.push('no title');
			const msgs = [...document.querySelectorAll('.chain .msg')];
			if (!msgs.length || !msgs.every(seen)) out.push('the chain is not all shown');
			return out;
		}`)
		// What the printout looks like, for people to check.
		if png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
			_ = os.WriteFile(filepath.Join(screenshotDir(t), "29-"+tc.audience+"-print.png"), png, 0o644)
		}
		b.run(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
			return err
		})
		if len(shown) > 0 {
			b.fail("%s in print: %q", tc.audience, shown)
		}
		b.assertClean()
	}
}
