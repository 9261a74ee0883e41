package browsertest

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestXSS sends hostile text through the real UI, as subject and body, and
// checks both apps show it as literal text and run none of it.
func TestXSS(t *testing.T) {
	payloads := []string{
		`<img src=x onerror="window.__xss=1;alert(1)">`,
		`<svg onload="window.__xss=2;alert(2)">`,
		`<a href="javascript:window.__xss=3;alert(3)">click me</a>`,
		`</script><script>window.__xss=4;alert(4)</script>`,
		`"><img src=x onerror=window.__xss=5>`,
		`'><svg/onload=window.__xss=6>`,
		`" onmouseover="window.__xss=7" x="`,
		`<iframe srcdoc="<script>parent.__xss=8</script>"></iframe>`,
		`<details open ontoggle="window.__xss=9">x</details>`,
		`<input autofocus onfocus="window.__xss=10">`,
		`<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=11>`,
		`javascript:window.__xss=12`,
		`{{constructor.constructor('window.__xss=13')()}}`,
		`&lt;b&gt;not bold&lt;/b&gt; &amp; <b>bold?</b>`,
		`<object data="javascript:window.__xss=15"></object>`,
		"<style>*{display:none}</style><body onload=window.__xss=16>",
	}
	if len(payloads) < 12 {
		t.Fatal("need at least 12 payloads")
	}
	parent := newTab(t, "parent.chen")
	parent.signIn("portal", "parent.chen")
	parent.waitText("main h1", "Messages about Lily Chen")
	for i, p := range payloads {
		body := fmt.Sprintf("Body %d:\n%s\n%s", i, p, p)
		parent.writePortalMessage("Billing", p, body)
		// The chain shows exactly what was typed, as text.
		ok := js[bool](parent, `(s, b) => document.querySelector('main h1').textContent === s &&
			document.querySelector('main h1').children.length === 0 &&
			[...document.querySelectorAll('.chain .msg .body')].some((e) => e.textContent === b && e.children.length === 0)`, p, body)
		if !ok {
			parent.fail("payload %d not shown literally in the chain", i)
		}
		parent.assertClean()
	}
	assertNoInjectedNodes(t, parent)

	// The portal list shows every payload as a subject, as text.
	parent.clickText("#nav a", "Messages")
	parent.waitText("main h1", "Messages about Lily Chen")
	assertSubjectsLiteral(t, parent, "main h2.subject", payloads)
	assertNoInjectedNodes(t, parent)
	parent.assertClean()

	// Staff see them as text in the inbox and in a chain.
	staff := newTab(t, "nurse.kim")
	staff.signIn("staff", "nurse.kim")
	staff.waitText("main h1", "Inbox")
	staff.choose(staff.fieldByLabel("Pool"), "Billing")
	assertSubjectsLiteral(t, staff, "#main .conv .subject", payloads)
	assertNoInjectedNodes(t, staff)
	for _, i := range []int{0, 4, 10} {
		staff.clickText("#main a.conv", payloads[i])
		staff.waitFor("the chain", `(s) => document.querySelector('main h1')?.textContent === s && document.querySelector('.chain .msg .body')`, payloads[i])
		if !js[bool](staff, `(s) => [...document.querySelectorAll('.chain .msg .body')].some((e) => e.textContent.includes(s) && e.children.length === 0)`, payloads[i]) {
			staff.fail("payload %d not shown literally in the staff chain", i)
		}
		assertNoInjectedNodes(t, staff)
		staff.do(chromedp.NavigateBack())
		staff.waitText("main h1", "Inbox")
	}
	staff.assertClean()

	// With these the inbox has more than a page: Load more brings the next
	// page, newest activity first across pages, with no repeats.
	// (Open and closed: the seed's five and these sixteen are 21 even when
	// this test runs alone.)
	staff.choose(staff.fieldByLabel("Pool"), "All pools")
	staff.chooseView("All")
	staff.choose(staff.fieldByLabel("Status"), "Open and closed")
	staff.waitFor("a full first page", `() => document.querySelectorAll('#main a.conv').length === 20 && [...document.querySelectorAll('main button')].some((b) => b.textContent === 'Load more' && !b.hidden)`)
	staff.clickText("main button", "Load more")
	staff.waitFor("the second page", `() => document.querySelectorAll('#main a.conv').length > 20`)
	if msg := js[string](staff, `() => {
		const rows = [...document.querySelectorAll('#main a.conv')];
		const hrefs = rows.map((a) => a.getAttribute('href'));
		if (new Set(hrefs).size !== hrefs.length) return 'repeated rows';
		const times = rows.map((a) => Date.parse(a.querySelector('time').dateTime));
		for (let i = 1; i < times.length; i++) if (times[i] > times[i - 1]) return 'not newest first at row ' + i;
		return '';
	}`); msg != "" {
		staff.fail("inbox paging: %s", msg)
	}

	// And the API stored them unchanged: nothing was escaped or stripped.
	stored := portalSubjects(t, "parent.chen")
	for _, p := range payloads {
		if !stored[p] {
			t.Errorf("payload not stored verbatim: %q", p)
		}
	}
}

func assertSubjectsLiteral(t *testing.T, b *tab, css string, payloads []string) {
	t.Helper()
	b.waitFor("every payload as a subject", `(css, ps) => {
		const shown = new Set([...document.querySelectorAll(css)].filter((e) => e.children.length === 0).map((e) => e.textContent));
		return ps.every((p) => shown.has(p));
	}`, css, payloads)
}

// assertNoInjectedNodes fails when the page holds an element a payload could
// have created. The pages themselves use none of these.
func assertNoInjectedNodes(t *testing.T, b *tab) {
	t.Helper()
	bad := js[[]string](b, `() => [...document.querySelectorAll('main img, main svg, main iframe, main script, main object, main embed, main details, main math, main style, main input[autofocus], main b, a[href^="javascript"], [onerror], [onload], [onmouseover], [onfocus], [ontoggle]')].map((e) => e.outerHTML.slice(0, 120))`)
	if len(bad) > 0 {
		b.fail("injected elements in the page: %q", bad)
	}
}
