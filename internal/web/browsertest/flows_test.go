package browsertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/rivo/uniseg"
)

// runID keeps this run's subjects apart from anything already stored when the
// stack runs against a shared DynamoDB.
var runID = strconv.FormatInt(time.Now().UnixMilli()%1_000_000, 36)

// writePortalMessage fills Write Message as a parent and sends it, and waits
// for the new conversation's chain.
func (b *tab) writePortalMessage(pool, subject, body string) {
	b.t.Helper()
	b.clickText("#nav a", "Write Message")
	b.waitText("main h1", "Write Message")
	b.choose(b.fieldByLabel("To"), pool)
	b.typeInto(b.fieldByLabel("Subject"), subject)
	b.typeInto(b.fieldByLabel("Message"), body)
	b.clickText("main button", "Send message")
	b.waitFor("the new conversation", `(s) => location.hash.startsWith('#/c/') && document.querySelector('main h1')?.textContent === s && document.querySelector('.chain .msg')`, subject)
	b.assertFocusOnSent(body)
}

// switchPatient picks a patient in the Current Patient selector.
func (b *tab) switchPatient(name string) {
	b.t.Helper()
	b.choose("#current-patient", name)
	b.waitText("main h1", "Messages about "+name)
	b.waitFor("the list", `() => !document.querySelector('main .loading')`)
}

// clickWithin clicks the target inside the first container whose text
// contains text.
func (b *tab) clickWithin(container, text, target string) {
	b.t.Helper()
	finder := `(c, text, t) => [...document.querySelectorAll(c)].find((e) => e.textContent.includes(text) && e.querySelector(t))?.querySelector(t)`
	b.waitFor(fmt.Sprintf("%s containing %q", container, text), finder, container, text, target)
	b.clickFound(finder, container, text, target)
}

func TestStaffFlow(t *testing.T) {
	subject := "Fever since Tuesday " + runID
	question := "Sofia has had a fever of 101 since Tuesday. Should we bring her in?"
	answer := "Thanks for writing. Please give fluids and call us if it passes 102; we can see her tomorrow at 9."

	// A parent writes about the second child.
	parent := newTab(t, "parent.rivera")
	parent.signIn("portal", "parent.rivera")
	parent.switchPatient("Sofia Rivera")
	parent.writePortalMessage("Nurse line", subject, question)
	// Idempotency-Key on the create, a fresh UUID.
	assertIdempotencyKeys(t, parent, 1)

	// 1. Staff sign in and see it in the inbox, unread.
	staff := newTab(t, "nurse.kim")
	staff.signIn("staff", "nurse.kim")
	staff.waitText("main h1", "Inbox")
	// Needs reply is the default view, oldest wait first: the new message is
	// at the end, perhaps on a later page.
	staff.inboxFind(subject)
	staff.waitFor("the parent's message, unread, in the inbox",
		`(s) => [...document.querySelectorAll('#main a.conv')].some((a) => a.querySelector('.subject').textContent === s && a.classList.contains('unread') && a.querySelector('.badge')?.textContent === '1 unread' && a.querySelector('.patient').textContent === 'Sofia Rivera')`, subject)
	staff.waitText("#inbox-counts", "unread")

	// Filters narrow the list: another pool hides it, its own pool shows it.
	staff.choose(staff.fieldByLabel("Pool"), "Billing")
	staff.waitFor("the Billing view without it", `(s) => !document.querySelector('main .loading') && ![...document.querySelectorAll('#main .conv .subject')].some((e) => e.textContent === s)`, subject)
	staff.choose(staff.fieldByLabel("Pool"), "Nurse line")
	staff.inboxFind(subject)

	// 2. They open it and reply.
	staff.clickText("#main a.conv", subject)
	staff.waitText("main h1", subject)
	staff.waitText(".chain .msg .body", question)
	staff.typeInto(staff.fieldByLabel("Reply"), answer)
	staff.clickText("main button", "Send reply")
	staff.waitFor("the reply in the chain, not yet read", `(a) => {
		const last = [...document.querySelectorAll('.chain .msg')].pop();
		return last && last.querySelector('.body').textContent === a && last.querySelector('.receipt').textContent === 'Not yet read by family';
	}`, answer)
	// The family last read the chain when they wrote it; remember when.
	readBefore := js[string](staff, `() => document.querySelector('#family-read time')?.dateTime || ''`)
	assertIdempotencyKeys(t, staff, 1)

	// Meanwhile the first parent tab writes again; the staff tab's polling
	// must notice without a reload (checked at the end).
	parent.switchPatient("Mateo Rivera")
	parent.writePortalMessage("Front desk", "Refill question "+runID, "Can we get a refill of the inhaler?")

	// 3. The parent signs in afresh, switches patient and sees the reply unread.
	parent2 := newTab(t, "parent.rivera again")
	parent2.signIn("portal", "parent.rivera")
	parent2.waitText("main h1", "Messages about")
	if strings.Contains(js[string](parent2, `() => document.querySelector('main h1').textContent`), "Sofia") {
		parent2.switchPatient("Mateo Rivera")
	}
	parent2.waitFor("the selector to flag the sibling's news",
		`() => [...document.querySelector('#current-patient').options].some((o) => o.textContent.includes('Sofia Rivera') && / \(\d+ unread\)$/.test(o.textContent))`)
	parent2.switchPatient("Sofia Rivera")
	parent2.waitFor("the conversation with an unread badge", `(s) => [...document.querySelectorAll('main li')].some((li) =>
		li.querySelector('h2')?.textContent === s && li.querySelector('.badge')?.textContent === '1 new' && li.querySelector('.conv.unread'))`, subject)

	// 4. Details / Read More opens the chain and marks it read.
	parent2.clickWithin("main li", subject, "a.more")
	parent2.waitText("main h1", subject)
	parent2.waitText(".chain .msg .body", answer)
	waitForResponse(t, parent2, "POST", regexp.MustCompile(`/portal/patients/[^/]+/conversations/[^/]+/read$`), 200)
	parent2.clickText("main a", "All messages")
	parent2.waitFor("the badge gone", `(s) => [...document.querySelectorAll('main li')].some((li) => li.querySelector('h2')?.textContent === s && !li.querySelector('.badge'))`, subject)

	// 5. The staff view shows it read.
	staff.do(chromedp.Reload())
	staff.waitFor("the read receipt", `(a) => {
		const last = [...document.querySelectorAll('.chain .msg')].pop();
		return last && last.querySelector('.body').textContent === a && last.querySelector('.receipt').textContent.startsWith('Read by family · ');
	}`, answer)
	staff.waitFor("a later family-read time", `(before) => { const t = document.querySelector('#family-read time'); return t && t.dateTime !== before && Date.parse(t.dateTime) > (Date.parse(before) || 0); }`, readBefore)

	// Assign, close and reopen from the conversation view.
	staff.clickText("main button", "Assign to me")
	staff.waitFor("assigned", `() => document.querySelector('.side-panel select').selectedOptions[0].textContent.length > 0 && document.querySelector('.side-panel select').value !== '' && ![...document.querySelectorAll('.side-panel button')].some((b) => b.textContent === 'Assign to me')`)
	staff.clickText("main button", "Close conversation")
	staff.waitText("main .chip", "Closed")
	staff.waitText("main .notice", "Reopen it to reply")
	staff.clickText("main button", "Reopen conversation")
	staff.waitText("main .chip", "Open")
	staff.waitFor("the reply box back", `() => [...document.querySelectorAll('label')].some((l) => l.textContent === 'Reply')`)
	// Reopened, it needs a reply again.
	staff.waitText("main .chip.turn", "Needs reply")
	// "Assigned to me" now lists it, and only what is assigned to this user.
	me := js[string](staff, `() => document.querySelector('#who').textContent.split(' · ')[0]`)
	staff.clickText("#nav a", "Inbox")
	staff.choose(staff.fieldByLabel("Pool"), "All pools")
	staff.clickText("label.check", "Assigned to me")
	staff.waitFor("only my conversations", `(s, me) => {
		const items = [...document.querySelectorAll('#main a.conv')];
		return items.some((a) => a.querySelector('.subject').textContent === s) && items.every((a) => a.textContent.includes('Assigned to ' + me));
	}`, subject, me)
	staff.clickText("label.check", "Assigned to me")

	// The inbox's counts are the summary's, not a count of loaded rows.
	assertCountsMatchSummary(t, staff, "nurse.kim")

	// The polling badge for the parent's second message. The inbox was just
	// reloaded, so go to another screen and let the poller find new work.
	// It polls only the summary: the list is fetched when the user asks.
	staff.clickText("#nav a", "Patients")
	staff.waitText("main h1", "Patients")
	listsBefore := inboxListRequests(staff)
	parent.writePortalMessage("Front desk", "Another question "+runID, "Also, is the clinic open Saturday?")
	staff.waitForWithin(25*time.Second, "the new-message badge", `() => { const b = document.querySelector('#new-badge'); return b && !b.hidden && parseInt(b.textContent, 10) >= 1 && document.title.startsWith('('); }`)
	if n := inboxListRequests(staff) - listsBefore; n != 0 {
		staff.fail("polling fetched the inbox list %d times; it should poll /staff/inbox/summary only", n)
	}
	waitForResponse(t, staff, "GET", regexp.MustCompile(`/staff/inbox/summary$`), 200)
	// The badge counts the summary's unread conversations.
	var sum inboxSummary
	apiCall(t, "staff", "nurse.kim", "GET", "/staff/inbox/summary", nil, &sum)
	staff.waitFor("the badge to show the summary's unread count", `(n) => parseInt(document.querySelector('#new-badge').textContent, 10) === n && document.title.startsWith('(' + n + ')')`, sum.Unread)
	// Clicking the badge shows the list, with the new conversation, and
	// clears the badge.
	staff.clickFound(`() => document.querySelector('#new-badge')`)
	staff.inboxFind("Another question " + runID)
	staff.waitFor("the badge gone", `() => document.querySelector('#new-badge').hidden && !document.title.startsWith('(')`)
	assertCountsMatchSummary(t, staff, "nurse.kim")

	for _, b := range []*tab{parent, parent2, staff} {
		b.assertClean()
		assertBearerOnly(t, b)
	}
}

func TestStaffStartedConversation(t *testing.T) {
	subject := "Lab results ready " + runID
	body := "Lily's blood count came back normal. No follow-up needed."

	// The patient's birth date, read through the API the way the page does,
	// so the test can search by it without knowing the seed.
	dob := lilyBirthDate(t)

	staff := newTab(t, "desk.lee")
	staff.signIn("staff", "desk.lee")
	staff.clickText("#nav a", "New conversation")
	staff.waitText("main h1", "New conversation")
	us := dob[5:7] + "/" + dob[8:10] + "/" + dob[0:4] // MM/DD/YYYY, as people type it
	staff.typeInto("#patient-q", us)
	staff.clickText("main button", "Search")
	staff.waitText(".results .name", "Lily Chen")
	staff.clickWithin(".results .result", "Lily Chen", "a")
	staff.waitText("main", "About Lily Chen")
	staff.clickText(".radio-list label", "") // Lily has one linked portal user
	staff.choose(staff.fieldByLabel("Pool"), "Front desk")
	staff.typeInto(staff.fieldByLabel("Subject"), subject)
	// An emoji family, three people and two joiners (eight UTF-16 units), is
	// one character to a person, to the counter and to the API. It goes in as
	// an emoji picker inserts it: typed key events would drop the joiners.
	msg := staff.fieldByLabel("Message")
	staff.do(chromedp.Focus(chromedp.CSS(msg)))
	staff.run(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, input.InsertText, input.InsertTextParams{Text: "👨\u200d👩\u200d👧"})
		return err
	})
	staff.waitFor(`the family emoji counted as 1 character`, `(css, want) => document.querySelector(css).value === '👨\u200d👩\u200d👧'
		&& document.getElementById(document.querySelector(css).getAttribute('aria-describedby').split(' ').pop()).textContent === want`,
		msg, "1 / 5,000 characters")
	staff.typeInto(msg, body)
	staff.waitText(".counter", fmt.Sprintf("%d / 5,000 characters", uniseg.GraphemeClusterCount(body)))
	staff.clickText("main button", "Send message")
	staff.waitFor("the new conversation", `(s) => location.hash.startsWith('#/c/') && document.querySelector('main h1')?.textContent === s`, subject)
	staff.waitText(".chain .msg .body", body)
	assertIdempotencyKeys(t, staff, 1)

	// Close it: the chart history still lists it, as closed.
	staff.clickText("main button", "Close conversation")
	staff.waitText("main .chip", "Closed")
	staff.clickText(".side-panel a", "Lily Chen")
	staff.waitText("main h1", "Lily Chen")
	inChart := `(s, chip) => !document.querySelector('main .loading') && [...document.querySelectorAll('main a.conv')].some((a) => a.querySelector('.subject').textContent === s && a.querySelector('.chip.' + chip))`
	staff.waitFor("the closed conversation in the chart", inChart, subject, "closed")
	staff.choose(staff.fieldByLabel("Show"), "Open")
	staff.waitFor("the Open filter to hide it", `(s) => !document.querySelector('main .loading') && document.querySelector('main .list li') && ![...document.querySelectorAll('main a.conv .subject')].some((e) => e.textContent === s)`, subject)
	staff.choose(staff.fieldByLabel("Show"), "Closed")
	staff.waitFor("the Closed filter to show it", inChart, subject, "closed")
	// Reopen it from the chart.
	staff.clickText("main a.conv", subject)
	staff.clickText("main button", "Reopen conversation")
	staff.waitText("main .chip", "Open")

	parent := newTab(t, "parent.chen")
	parent.signIn("portal", "parent.chen")
	parent.waitText("main h1", "Messages about Lily Chen")
	parent.waitFor("the staff-started conversation, unread", `(s) => [...document.querySelectorAll('main li')].some((li) => li.querySelector('h2')?.textContent === s && li.querySelector('.badge'))`, subject)
	parent.clickWithin("main li", subject, "a.more")
	parent.waitText(".chain .msg .body", body)
	parent.waitText(".chain .msg .author", "")

	staff.assertClean()
	parent.assertClean()
}

// chooseView picks an inbox view (Needs reply, Waiting on family, Done,
// All) and waits for its list.
func (b *tab) chooseView(name string) {
	b.t.Helper()
	b.clickText(".views label", name)
	b.waitFor("the "+name+" view", `(name) => document.querySelector('.views input:checked')?.labels[0].textContent.trim() === name && !document.querySelector('main .loading') && document.querySelector('#main .list li')`, name)
}

// inboxFind waits until the inbox list shows a conversation with subject,
// pressing Load more, as a person would, while the list has more pages.
func (b *tab) inboxFind(subject string) {
	b.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		state := js[string](b, `(s) => {
			if ([...document.querySelectorAll('#main a.conv .subject')].some((e) => e.textContent === s)) return 'found';
			const more = [...document.querySelectorAll('main .list-foot button')].find((x) => x.textContent === 'Load more' && !x.hidden && !x.disabled);
			return more ? 'more' : 'wait';
		}`, subject)
		switch state {
		case "found":
			return
		case "more":
			b.clickText("main .list-foot button", "Load more")
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.fail("%q is not in the inbox list", subject)
}

// TestSecurityHeaders checks every page response, as the browser got it and
// as plain HTTP clients get it (404s included), carries the CSP and the
// other security headers, and that the pages use no cookies.
func TestSecurityHeaders(t *testing.T) {
	b := newTab(t, "visitor")
	for _, p := range []string{"/", "/staff/", "/portal/"} {
		b.navigate(env.stack.Site() + p)
		b.waitFor("the page", `() => document.readyState === 'complete' && !document.querySelector('main .loading')`)
	}
	b.signIn("staff", "admin.garcia")
	b.waitText("main h1", "Inbox")
	b.signIn("portal", "parent.chen")
	b.waitText("main h1", "Messages about")

	seen := map[string]bool{}
	for _, r := range b.siteResponses() {
		path := strings.TrimPrefix(r.URL, env.stack.Site())
		if i := strings.IndexAny(path, "?#"); i >= 0 {
			path = path[:i]
		}
		seen[path] = true
		checkCSP(t, "browser "+r.URL, header(r.Headers, "Content-Security-Policy"))
		if header(r.Headers, "X-Content-Type-Options") != "nosniff" || header(r.Headers, "X-Frame-Options") != "DENY" {
			t.Errorf("%s: missing nosniff or X-Frame-Options", r.URL)
		}
	}
	for _, want := range []string{"/", "/staff/", "/portal/", "/config.json", "/css/app.css", "/js/staff.js", "/js/portal.js", "/js/ui.js"} {
		if !seen[want] {
			t.Errorf("the browser never loaded %s (saw %v)", want, seen)
		}
	}

	// Direct requests, including errors and redirects.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 5 * time.Second}
	for _, p := range []string{"/", "/staff/", "/portal/", "/staff", "/config.json", "/js/auth.js", "/css/app.css", "/favicon.svg", "/no-such-page", "/js/", "/../go.mod", "/.git/config"} {
		res, err := noRedirect.Get(env.stack.Site() + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		checkCSP(t, fmt.Sprintf("GET %s (%d)", p, res.StatusCode), res.Header.Get("Content-Security-Policy"))
		for _, h := range []string{"Strict-Transport-Security", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options"} {
			if res.Header.Get(h) == "" {
				t.Errorf("GET %s (%d): no %s", p, res.StatusCode, h)
			}
		}
		if strings.HasPrefix(p, "/..") || strings.HasPrefix(p, "/.git") || p == "/js/" {
			if res.StatusCode != http.StatusNotFound {
				t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
			}
		}
	}

	// No cookies: the token travels only in the Authorization header.
	if c := js[string](b, `() => document.cookie`); c != "" {
		t.Errorf("document.cookie = %q, want none", c)
	}
	assertBearerOnly(t, b)
	b.assertClean()
}

func checkCSP(t *testing.T, where, csp string) {
	t.Helper()
	if csp == "" {
		t.Errorf("%s: no Content-Security-Policy", where)
		return
	}
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP lacks %q: %s", where, want, csp)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*"} {
		if strings.Contains(csp, bad) {
			t.Errorf("%s: CSP allows %q: %s", where, bad, csp)
		}
	}
}

// assertBearerOnly checks every API call carried a Bearer token and no
// cookie.
func assertBearerOnly(t *testing.T, b *tab) {
	t.Helper()
	reqs := b.apiRequests()
	if len(reqs) == 0 {
		t.Errorf("%s: made no API calls", b.name)
	}
	for _, r := range reqs {
		if !strings.HasPrefix(header(r.Headers, "Authorization"), "Bearer ") {
			t.Errorf("%s: %s %s without a Bearer token", b.name, r.Method, r.URL)
		}
		if header(r.Headers, "Cookie") != "" {
			t.Errorf("%s: %s %s sent a cookie", b.name, r.Method, r.URL)
		}
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// assertIdempotencyKeys checks every create POST so far carried a distinct
// random Idempotency-Key, and that there were at least min of them.
func assertIdempotencyKeys(t *testing.T, b *tab, min int) {
	t.Helper()
	keys := map[string]bool{}
	n := 0
	for _, r := range b.apiRequests() {
		if r.Method != "POST" || !(strings.HasSuffix(r.URL, "/conversations") || strings.HasSuffix(r.URL, "/messages")) {
			continue
		}
		n++
		k := header(r.Headers, "Idempotency-Key")
		if !uuidRE.MatchString(k) {
			t.Errorf("%s: POST %s: Idempotency-Key %q is not a random UUID", b.name, r.URL, k)
		}
		if keys[k] {
			t.Errorf("%s: Idempotency-Key %q reused for another message", b.name, k)
		}
		keys[k] = true
	}
	if n < min {
		t.Errorf("%s: saw %d create POSTs, want at least %d", b.name, n, min)
	}
}

// waitForResponse waits until the tab got a response to method on a URL
// path matching re.
func waitForResponse(t *testing.T, b *tab, method string, re *regexp.Regexp, status int64) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		ids := map[string]bool{}
		for _, r := range b.requests {
			if u, err := url.Parse(r.URL); err == nil && r.Method == method && re.MatchString(u.Path) {
				ids[r.URL] = true
			}
		}
		found := false
		for _, r := range b.responses {
			if ids[r.URL] && r.Status == status {
				found = true
			}
		}
		b.mu.Unlock()
		if found {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.fail("no %d response to %s %s", status, method, re)
}

// inboxSummary is GET /staff/inbox/summary.
type inboxSummary struct {
	Open         int `json:"open"`
	Unread       int `json:"unread"`
	AssignedToMe int `json:"assignedToMe"`
	Pools        []struct {
		ID     string `json:"id"`
		Name   string `json:"name"`
		Open   int    `json:"open"`
		Unread int    `json:"unread"`
	} `json:"pools"`
	LatestActivityAt *time.Time `json:"latestActivityAt"`
}

// assertCountsMatchSummary reads the summary through the API as user, has
// the inbox (which must be on screen) refreshed with its Inbox link, and
// checks the counts it shows are the summary's: overall and per pool, with
// zeros for pools the summary leaves out.
func assertCountsMatchSummary(t *testing.T, b *tab, user string) {
	t.Helper()
	var sum inboxSummary
	apiCall(t, "staff", user, "GET", "/staff/inbox/summary", nil, &sum)
	if sum.Open == 0 || len(sum.Pools) == 0 {
		b.fail("the summary counts nothing open: %+v", sum)
	}
	b.clickText("#nav a", "Inbox")
	b.waitFor("the counts to equal the summary's", `(s) => {
		const c = document.querySelector('#inbox-counts');
		if (!c || document.querySelector('main .loading')) return false;
		const num = (el, key) => el?.querySelector('[data-count="' + key + '"]')?.textContent;
		const line = c.querySelector('.count-line');
		if (num(line, 'open') !== String(s.open) || num(line, 'unread') !== String(s.unread) || num(line, 'assignedToMe') !== String(s.assignedToMe)) return false;
		const rows = [...c.querySelectorAll('.pool-counts li')];
		for (const li of rows) {
			const p = (s.pools || []).find((x) => x.id === li.dataset.pool) || { open: 0, unread: 0 };
			if (num(li, 'open') !== String(p.open) || num(li, 'unread') !== String(p.unread)) return false;
		}
		return (s.pools || []).every((p) => rows.some((li) => li.dataset.pool === p.id));
	}`, sum)
}

// inboxListRequests counts the tab's requests for the inbox list (not its
// summary).
func inboxListRequests(b *tab) int {
	n := 0
	for _, r := range b.apiRequests() {
		if u, err := url.Parse(r.URL); err == nil && r.Method == "GET" && strings.HasSuffix(u.Path, "/staff/inbox") {
			n++
		}
	}
	return n
}

// apiCall calls the API as a demo user, for test set-up and checks only,
// and wants 200.
func apiCall(t *testing.T, audience, user, method, path string, body any, out any) {
	t.Helper()
	apiDo(t, audience, user, method, path, body, http.StatusOK, out)
}

// apiCreate POSTs something new (a conversation or a reply) as a demo user,
// under a fresh Idempotency-Key, and wants 201.
func apiCreate(t *testing.T, audience, user, path string, body any, out any) {
	t.Helper()
	apiDo(t, audience, user, "POST", path, body, http.StatusCreated, out)
}

func apiDo(t *testing.T, audience, user, method, path string, body any, want int, out any) {
	t.Helper()
	if env.err != nil {
		t.Fatal(env.err)
	}
	tok, err := env.stack.Token(audience, user)
	if err != nil {
		t.Fatalf("token for %s: %v", user, err)
	}
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, env.stack.API()+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if want == http.StatusCreated {
		req.Header.Set("Idempotency-Key", randomUUID(t))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != want {
		t.Fatalf("%s %s: %d, want %d", method, path, res.StatusCode, want)
	}
	if out == nil {
		return
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// randomUUID returns a version 4 UUID, as the pages make for Idempotency-Key.
func randomUUID(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func lilyBirthDate(t *testing.T) string {
	t.Helper()
	var res struct {
		Items []struct{ DisplayName, DateOfBirth string }
	}
	apiCall(t, "staff", "desk.lee", "POST", "/staff/patients/search", map[string]string{"query": "Lily"}, &res)
	for _, p := range res.Items {
		if p.DisplayName == "Lily Chen" && len(p.DateOfBirth) == 10 {
			return p.DateOfBirth
		}
	}
	t.Fatalf("Lily Chen not found by search: %+v", res.Items)
	return ""
}

func portalSubjects(t *testing.T, user string) map[string]bool {
	t.Helper()
	var patients struct{ Items []struct{ ID string } }
	apiCall(t, "portal", user, "GET", "/portal/patients", nil, &patients)
	out := map[string]bool{}
	for _, p := range patients.Items {
		cursor := ""
		for {
			var page struct {
				Items      []struct{ Subject string }
				NextCursor string
			}
			q := "?limit=100"
			if cursor != "" {
				q += "&cursor=" + url.QueryEscape(cursor)
			}
			apiCall(t, "portal", user, "GET", "/portal/patients/"+url.PathEscape(p.ID)+"/conversations"+q, nil, &page)
			for _, c := range page.Items {
				out[c.Subject] = true
			}
			if cursor = page.NextCursor; cursor == "" {
				break
			}
		}
	}
	return out
}
