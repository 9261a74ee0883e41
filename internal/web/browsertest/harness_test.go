package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const stepTimeout = 15 * time.Second

// env is shared by the tests: one product stack and one browser. Tests use
// separate browser contexts (like separate browser profiles), so each user's
// sessionStorage is their own.
var env struct {
	stack   stack
	browser context.Context
	err     error // why the environment could not start; every test fails with it
}

// stack is what the tests need from the running product.
type stack interface {
	Site() string
	API() string
	Issuer() string
	Token(audience, username string) (string, error)
	// Overdue stores a conversation that has waited on the practice for
	// a month and marks it overdue as the escalator does, and returns its
	// ID.
	Overdue(ctx context.Context) (string, error)
	Stop()
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	bin, err := chromiumPath()
	if err != nil {
		env.err = err
		return m.Run()
	}
	st, err := startStack(ctx)
	if err != nil {
		env.err = fmt.Errorf("start the product stack: %w", err)
		return m.Run()
	}
	defer st.Stop()
	env.stack = st

	profile, err := os.MkdirTemp("", "browsertest-profile-")
	if err != nil {
		env.err = err
		return m.Run()
	}
	defer os.RemoveAll(profile)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(profile),
	)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil { // starts chromium, with no timeout
		env.err = fmt.Errorf("start chromium (%s): %w", bin, err)
		return m.Run()
	}
	env.browser = browser
	code := m.Run()
	fmt.Println(axeSummary())
	return code
}

// chromiumPath finds Debian's chromium. A missing browser is a failure, not
// a skip: a skipped browser test looks green in CI while testing nothing.
func chromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("$CHROMIUM=%s: %w; unset it and run `make tools`, which installs Debian's chromium with apt", p, err)
		}
		return p, nil
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", errors.New("chromium is not installed (looked for /usr/bin/chromium and $CHROMIUM): run `make tools`, which installs Debian's chromium with apt")
}

// tab is one user's browser tab, in its own browser context, with hooks
// that catch any script an attacker could get to run.
type tab struct {
	t    *testing.T
	ctx  context.Context
	name string

	axeSeen map[string]bool // screens (path and route) axe has checked in this tab

	mu        sync.Mutex
	dialogs   []string
	problems  []string            // console errors and exceptions
	responses []*network.Response // every response the tab received
	requests  []*network.Request  // every request the tab sent
}

// guardScript runs before any page script in every document. It records
// CSP violations and any call to the dialog functions, and exposes
// window.__xss for payloads to set.
const guardScript = `(() => {
  window.__xss = 0;
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || ''));
  });
})();`

func newTab(t *testing.T, name string) *tab {
	t.Helper()
	if env.err != nil {
		t.Fatal(env.err)
	}
	ctx, cancel := chromedp.NewContext(env.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &tab{t: t, ctx: ctx, name: name}
	if err := chromedp.Do(ctx); err != nil { // open the tab, with no timeout
		t.Fatalf("open tab: %v", err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	responses := chromedp.Events(ctx, network.ResponseReceived)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	console := chromedp.Console(ctx)
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.dialogs = append(b.dialogs, string(ev.Type)+": "+ev.Message)
			b.mu.Unlock()
			// Dismiss it, or the page stays blocked.
			_, _ = chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	go func() {
		for ev, err := range responses {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.responses = append(b.responses, ev.Response)
			b.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.requests = append(b.requests, ev.Request)
			b.mu.Unlock()
		}
	}()
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.problems = append(b.problems, m.String()+" ("+m.URL+")")
				b.mu.Unlock()
			}
		}
	}()
	b.run(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: guardScript})
		return err
	})
	b.do(chromedp.EmulateViewport(1280, 900))
	return b
}

// run runs one custom step with the step timeout.
func (b *tab) run(f func(context.Context, *chromedp.Target) error) {
	b.t.Helper()
	b.do(chromedp.Func(f))
}

// do runs steps with the step timeout and fails the test on error, saving a
// screenshot of the moment for the person reading the failure.
func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.fail("%v", err)
	}
}

func (b *tab) fail(format string, args ...any) {
	b.t.Helper()
	shot := b.debugShot()
	loc, _ := chromedp.Run(b.ctx, chromedp.Location())
	text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 1500) : ''`))
	b.t.Fatalf("%s: %s\n  at %s\n  screenshot: %s\n  last API responses:\n%s  page text:\n%s", b.name, fmt.Sprintf(format, args...), loc, shot, b.lastAPIResponses(8), text)
}

// lastAPIResponses lists the tab's last n answers from the API, oldest
// first, for a failure's report.
func (b *tab) lastAPIResponses(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var api []*network.Response
	for _, r := range b.responses {
		if strings.HasPrefix(r.URL, env.stack.API()+"/") {
			api = append(api, r)
		}
	}
	var sb strings.Builder
	for _, r := range api[max(0, len(api)-n):] {
		fmt.Fprintf(&sb, "    %d %s\n", r.Status, strings.TrimPrefix(r.URL, env.stack.API()))
	}
	return sb.String()
}

func (b *tab) debugShot() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return "(none: " + err.Error() + ")"
	}
	dir := filepath.Join(screenshotDir(b.t), "failures")
	_ = os.MkdirAll(dir, 0o755)
	p := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(b.t.Name()+"-"+b.name)+".png")
	_ = os.WriteFile(p, png, 0o644)
	return p
}

// js evaluates fn (a JavaScript function expression) with JSON-encoded
// arguments and decodes its result into T.
func js[T any](b *tab, fn string, args ...any) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](call(fn, args...), chromedp.EvalAwaitPromise))
	if err != nil {
		b.fail("evaluate %s: %v", fn, err)
	}
	return v
}

func call(fn string, args ...any) string {
	if args == nil {
		args = []any{}
	}
	enc, err := json.Marshal(args)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("(%s)(...%s)", fn, enc)
}

// waitFor polls fn until it returns true. Polling from Go, rather than in
// the page, survives navigations in between.
func (b *tab) waitFor(what string, fn string, args ...any) {
	b.t.Helper()
	b.waitForWithin(stepTimeout, what, fn, args...)
}

func (b *tab) waitForWithin(d time.Duration, what string, fn string, args ...any) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	expr := call(fn, args...)
	var lastErr error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { try { return Boolean(`+expr+`); } catch (e) { return false; } })()`))
		cancel()
		if err == nil && ok {
			return
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	b.fail("timed out after %s waiting for %s (last error: %v)", d, what, lastErr)
}

// waitText waits until an element matching css contains text.
func (b *tab) waitText(css, text string) {
	b.t.Helper()
	b.waitFor(fmt.Sprintf("%q in %s", text, css),
		`(css, text) => [...document.querySelectorAll(css)].some((e) => e.textContent.includes(text))`, css, text)
}

// clickText clicks (with a real mouse event) the first visible element
// matching css whose text contains text.
func (b *tab) clickText(css, text string) {
	b.t.Helper()
	finder := `(css, text) => [...document.querySelectorAll(css)].find((e) => e.textContent.includes(text) && e.offsetParent !== null)`
	b.waitFor(fmt.Sprintf("clickable %q in %s", text, css), finder, css, text)
	b.clickFound(finder, css, text)
}

// clickFound scrolls the element that finder returns into view and clicks
// its centre with the mouse, as a person would. Coordinates, rather than
// DOM node IDs, keep this immune to the page re-rendering in between.
func (b *tab) clickFound(finder string, args ...any) {
	b.t.Helper()
	type point struct {
		X, Y float64
		OK   bool
	}
	p := js[point](b, `(...args) => {
		const el = (`+finder+`)(...args);
		if (!el) return { X: 0, Y: 0, OK: false };
		el.scrollIntoView({ block: 'center', inline: 'center' });
		const r = el.getBoundingClientRect();
		const x = r.left + Math.min(r.width / 2, 40), y = r.top + r.height / 2;
		const hit = document.elementFromPoint(x, y);
		return { X: x, Y: y, OK: Boolean(hit && (hit === el || el.contains(hit) || hit.contains(el) || (el.control && hit === el.control))) };
	}`, args...)
	if !p.OK {
		b.fail("the element to click is missing or covered (%v)", args)
	}
	b.axeOncePerScreen()
	b.do(chromedp.MouseClickXY(p.X, p.Y))
}

// openFromNav clicks the navigation link text right after sign-in and, if
// the page was still starting and the address did not move to hash, clicks
// again, as a person would when a first tap is lost.
func (b *tab) openFromNav(text, hash string) {
	b.t.Helper()
	for try := 0; try < 3; try++ {
		b.clickText("#nav a", text)
		for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if js[bool](b, `(h) => location.hash === h`, hash) {
				return
			}
		}
	}
}

// typeInto focuses the field and types v with key events, as a person does.
func (b *tab) typeInto(css, v string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(css)))
	js[bool](b, `(css) => { document.querySelector(css).value = ''; return true; }`, css)
	b.do(chromedp.SendKeys(chromedp.CSS(css), v))
}

// fieldByLabel returns a CSS selector for the control labelled label.
func (b *tab) fieldByLabel(label string) string {
	b.t.Helper()
	b.waitFor("field "+label, `(label) => [...document.querySelectorAll('label')].some((l) => l.textContent.trim() === label && l.control)`, label)
	id := js[string](b, `(label) => [...document.querySelectorAll('label')].find((l) => l.textContent.trim() === label && l.control).control.id`, label)
	return "#" + id
}

// choose selects the option with the given visible label in a <select>,
// firing change as a person's choice does.
func (b *tab) choose(css, optionText string) {
	b.t.Helper()
	b.waitFor("option "+optionText, `(css, text) => { const s = document.querySelector(css); return s && [...s.options].some((o) => o.textContent.includes(text)); }`, css, optionText)
	b.do(chromedp.Focus(chromedp.CSS(css)))
	js[bool](b, `(css, text) => {
		const s = document.querySelector(css);
		s.value = [...s.options].find((o) => o.textContent.includes(text)).value;
		s.dispatchEvent(new Event('input', { bubbles: true }));
		s.dispatchEvent(new Event('change', { bubbles: true }));
		return true;
	}`, css, optionText)
}

func (b *tab) navigate(url string) {
	b.t.Helper()
	b.do(chromedp.Navigate(url))
}

// signIn goes through the real OIDC flow: the app's Sign in button, the
// issuer's sign-in page, the user's button, and back to the app.
func (b *tab) signIn(audience, username string) {
	b.t.Helper()
	b.navigate(env.stack.Site() + "/" + audience + "/")
	b.clickText("main button", "Sign in")
	b.waitFor("the issuer's sign-in page", `(iss) => location.href.startsWith(iss)`, env.stack.Issuer())
	b.clickIssuerUser(username)
	b.waitFor("the app after sign-in", `(site) => location.href.startsWith(site) && !document.querySelector('#sign-out').hidden`, env.stack.Site())
}

// clickIssuerUser clicks the issuer page's button or link for the user.
func (b *tab) clickIssuerUser(username string) {
	b.t.Helper()
	finder := `(u) => [...document.querySelectorAll('button, a, input[type=submit]')].find((e) => (e.textContent + ' ' + (e.value || '')).includes(u))`
	// A click on a page still loading can be lost: wait until it is loaded.
	b.waitFor("a sign-in choice for "+username, `(u) => document.readyState === 'complete' && (`+finder+`)(u)`, username)
	b.clickFound(finder, username)
}

// assertClean fails if any script ran that should not have: a dialog, the
// payload flag, a CSP violation (an injected inline handler or script the
// CSP had to block) or an uncaught exception.
func (b *tab) assertClean() {
	b.t.Helper()
	b.assertNoScriptRan()
	b.mu.Lock()
	problems := append([]string(nil), b.problems...)
	b.mu.Unlock()
	for _, p := range problems {
		// A 401 the app handles shows up as a failed fetch in the log.
		if strings.Contains(p, "401") {
			continue
		}
		// So does a refresh token the issuer refuses (400 invalid_grant):
		// the session ends with the prompt.
		if strings.Contains(p, "status of 400") && strings.HasSuffix(p, "/oauth2/token)") {
			continue
		}
		// The issuer's sign-in page is not ours; its missing favicon is not
		// a fault of the pages under test.
		if strings.HasSuffix(p, "/favicon.ico)") && !strings.Contains(p, env.stack.Site()+"/") {
			continue
		}
		b.fail("console error or exception: %s", p)
	}
}

// assertNoScriptRan is assertClean without the console check, for a tab
// whose test provokes failed requests on purpose.
func (b *tab) assertNoScriptRan() {
	b.t.Helper()
	b.mu.Lock()
	dialogs := append([]string(nil), b.dialogs...)
	b.mu.Unlock()
	if len(dialogs) > 0 {
		b.fail("a script opened dialogs: %q", dialogs)
	}
	type guard struct {
		XSS any      `json:"xss"`
		CSP []string `json:"csp"`
	}
	g := js[guard](b, `() => ({ xss: window.__xss, csp: window.__csp || [] })`)
	if g.XSS != float64(0) && g.XSS != nil {
		b.fail("an injected script ran: window.__xss = %v", g.XSS)
	}
	if len(g.CSP) > 0 {
		b.fail("CSP violations (something tried to run or load): %q", g.CSP)
	}
}

// siteResponses returns the responses the tab got from the site's origin.
func (b *tab) siteResponses() []*network.Response {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*network.Response
	for _, r := range b.responses {
		if strings.HasPrefix(r.URL, env.stack.Site()+"/") {
			out = append(out, r)
		}
	}
	return out
}

func (b *tab) apiRequests() []*network.Request {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []*network.Request
	for _, r := range b.requests {
		if strings.HasPrefix(r.URL, env.stack.API()+"/") && r.Method != "OPTIONS" {
			out = append(out, r)
		}
	}
	return out
}

func header(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

// screenshotDir is .screenshots/ at the repository root (git-ignored).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".screenshots")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's folder")
		}
		dir = parent
	}
}
