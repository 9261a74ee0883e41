package browsertest

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestKeyboard writes and sends a message with the keyboard alone, and
// checks that focus is always visible and follows the screens.
func TestKeyboard(t *testing.T) {
	b := newTab(t, "parent.chen")
	b.signIn("portal", "parent.chen")
	b.waitText("main h1", "Messages about Lily Chen")
	b.waitFor("the list", `() => !document.querySelector('main .loading')`)

	focused := func() string {
		return js[string](b, `() => {
			const e = document.activeElement;
			const s = getComputedStyle(e);
			const visible = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
			return (visible ? '' : 'NO-OUTLINE ') + e.tagName + ' ' + (e.textContent || e.id || '').trim().slice(0, 40);
		}`)
	}
	// tabTo presses Tab until the focused element's text starts with want.
	tabTo := func(want string) {
		t.Helper()
		for range 40 {
			b.do(chromedp.KeyEvent(kb.Tab))
			if f := focused(); isFocused(f, want) {
				if strings.HasPrefix(f, "NO-OUTLINE ") {
					b.fail("focus on %q has no visible outline", f)
				}
				return
			}
		}
		b.fail("could not Tab to %q", want)
	}

	js[bool](b, `() => { document.activeElement.blur(); window.scrollTo(0, 0); return true; }`)
	tabTo("Skip to content")
	tabTo("Write Message")
	b.do(chromedp.KeyEvent(kb.Enter))
	b.waitText("main h1", "Write Message")
	// Focus moved to the new screen's heading, for screen readers.
	b.waitFor("focus on the heading", `() => document.activeElement === document.querySelector('main h1')`)

	tabTo("SELECT")
	b.do(chromedp.KeyEvent(kb.ArrowDown)) // the first pool
	b.do(chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("Keyboard only "+runID))
	b.do(chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent("Sent without a mouse."))
	tabTo("Send message")
	b.do(chromedp.KeyEvent(kb.Enter))
	b.waitFor("the sent conversation", `(s) => document.querySelector('main h1')?.textContent === s`, "Keyboard only "+runID)
	b.assertClean()
}

// isFocused reports whether focused ("[NO-OUTLINE ]TAG text") is the element
// named by want: its tag, or the start of its text.
func isFocused(focused, want string) bool {
	tag, text, _ := strings.Cut(strings.TrimPrefix(focused, "NO-OUTLINE "), " ")
	return tag == want || strings.HasPrefix(text, want)
}
