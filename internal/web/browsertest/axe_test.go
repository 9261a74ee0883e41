package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// axeTags are the rule sets every screen must pass: WCAG 2.1 A and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// axeSource is npm axe-core, pinned in .tools (make tools installs it).
var axeSource = sync.OnceValues(func() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, ".tools", "node_modules", "axe-core", "axe.min.js")
		if b, err := os.ReadFile(p); err == nil {
			return string(b), nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return "", fmt.Errorf("axe-core is not installed (no %s): run `make tools`, which runs npm ci in .tools", p)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the test's folder")
		}
		dir = parent
	}
})

type axeNode struct {
	Target  []any  `json:"target"`
	Summary string `json:"failureSummary"`
	HTML    string `json:"html"`
}

type axeViolation struct {
	ID      string    `json:"id"`
	Impact  string    `json:"impact"`
	Help    string    `json:"help"`
	HelpURL string    `json:"helpUrl"`
	Nodes   []axeNode `json:"nodes"`
}

// axeScreens counts the screens (at one width each) axe has checked in
// this run, for the log at the end.
var axeScreens struct {
	sync.Mutex
	n int
}

// assertAxe runs axe-core on the page as it is and fails on any WCAG 2.1
// A/AA violation (and on target-size, WCAG 2.2's 24 px minimum). axe goes in through the DevTools protocol
// (Runtime.evaluate), which runs it as the debugger would: the page's CSP
// stays as it is, with no bypass and no <script> tag, so a page that only
// works with a weakened CSP still fails the other checks.
func (b *tab) assertAxe(name string) {
	b.t.Helper()
	vs := b.axeViolations()
	axeScreens.Lock()
	axeScreens.n++
	axeScreens.Unlock()
	if len(vs) == 0 {
		return
	}
	var sb strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&sb, "\n  [%s] %s (%s): %s", v.Impact, v.ID, v.HelpURL, v.Help)
		for _, n := range v.Nodes {
			fmt.Fprintf(&sb, "\n    %v %s\n      %s", n.Target, n.HTML, strings.ReplaceAll(n.Summary, "\n", "\n      "))
		}
	}
	b.fail("%s: axe-core found %d WCAG 2.1 A/AA violations:%s", name, len(vs), sb.String())
}

// axeOncePerScreen runs assertAxe the first time a tab is about to act on
// a screen (a path and a route, such as /staff/#/c), so every screen a test
// clicks through is checked, not only the ones it shoots.
func (b *tab) axeOncePerScreen() {
	b.t.Helper()
	key := js[string](b, `() => location.origin + location.pathname + '#' + location.hash.replace(/^#\/?/, '').split('/')[0]`)
	if b.axeSeen == nil {
		b.axeSeen = map[string]bool{}
	}
	if b.axeSeen[key] {
		return
	}
	b.axeSeen[key] = true
	b.assertAxe("before a click on " + key)
}

// axeViolations injects axe-core once per document and runs it.
func (b *tab) axeViolations() []axeViolation {
	b.t.Helper()
	src, err := axeSource()
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof window.axe === 'object' && typeof window.axe.run === 'function'`))
	if err != nil {
		b.fail("axe: %v", err)
	}
	if !loaded {
		err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			silent := true
			res, err := cdp.Call(ctx, tg, runtime.Evaluate, runtime.EvaluateParams{Expression: src, Silent: &silent})
			if err == nil && res.ExceptionDetails != nil {
				err = fmt.Errorf("%s", res.ExceptionDetails.Text)
			}
			return err
		}))
		if err != nil {
			b.fail("inject axe-core: %v", err)
		}
	}
	vs := js[[]axeViolation](b, `async (tags) => {
		// target-size (WCAG 2.2's 24 px minimum) on top: thumbs on a phone.
		const r = await axe.run(document, { runOnly: { type: 'tag', values: tags }, rules: { 'target-size': { enabled: true } }, resultTypes: ['violations'] });
		return r.violations.map((v) => ({ id: v.id, impact: v.impact || '', help: v.help, helpUrl: v.helpUrl,
			nodes: v.nodes.map((n) => ({ target: n.target, failureSummary: n.failureSummary || '', html: (n.html || '').slice(0, 160) })) }));
	}`, axeTags)
	sort.Slice(vs, func(i, j int) bool { return vs[i].ID < vs[j].ID })
	return vs
}

// TestAxeHarness proves the check is not vacuous (an unlabelled field is
// found, with its rule, selector and help page) and that the injection does
// not weaken the page: after axe has run, an inline script is still refused
// by the CSP.
func TestAxeHarness(t *testing.T) {
	v := newTab(t, "visitor")
	v.navigate(env.stack.Site() + "/portal/")
	v.waitText("main button", "Sign in")
	v.assertAxe("portal signed out")
	js[bool](v, `() => { const i = document.createElement('input'); i.id = 'axe-probe'; document.querySelector('main').append(i); return true; }`)
	found := false
	for _, x := range v.axeViolations() {
		if x.ID == "label" && len(x.Nodes) == 1 && fmt.Sprint(x.Nodes[0].Target) == "[#axe-probe]" && strings.HasPrefix(x.HelpURL, "https://") {
			found = true
		}
	}
	if !found {
		v.fail("axe-core did not report the unlabelled probe field")
	}
	js[bool](v, `() => { document.querySelector('#axe-probe').remove(); return true; }`)

	// Two 10 px buttons side by side: too small to hit with a thumb.
	js[bool](v, `() => {
		const d = document.createElement('div'); d.id = 'axe-tiny';
		for (const n of ['a', 'b']) { const b = document.createElement('button'); b.textContent = n; b.style.cssText = 'width:10px;height:10px;padding:0;margin:0;border:0;font-size:6px;min-height:0'; d.append(b); }
		document.querySelector('main').append(d); return true; }`)
	found = false
	for _, x := range v.axeViolations() {
		if x.ID == "target-size" {
			found = true
		}
	}
	if !found {
		v.fail("axe-core did not report the 10 px targets")
	}
	js[bool](v, `() => { document.querySelector('#axe-tiny').remove(); return true; }`)
	ran := js[bool](v, `() => new Promise((done) => {
		window.__inline = false;
		const s = document.createElement('script');
		s.textContent = 'window.__inline = true;';
		document.body.append(s);
		setTimeout(() => done(window.__inline), 100);
	})`)
	if ran {
		v.fail("an inline script ran after axe was injected: the CSP was weakened")
	}
	if n := js[int](v, `() => window.__csp.length`); n == 0 {
		v.fail("the CSP did not report the refused inline script")
	}
}

// axeSummary is the line TestMain prints after the tests.
func axeSummary() string {
	axeScreens.Lock()
	defer axeScreens.Unlock()
	return fmt.Sprintf("axe-core (WCAG 2.1 A/AA) checked %d screens", axeScreens.n)
}
