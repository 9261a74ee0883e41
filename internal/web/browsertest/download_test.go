package browsertest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/pedsportal/messaging/internal/seed"
)

// catchDownloads makes the page keep what it would save: the name and text
// of each file a download link would write.
// (The page's CSP lets no fetch read a blob: URL, so the blob is kept as
// it is made.)
const catchDownloads = `() => {
	window.__saved = [];
	const make = URL.createObjectURL;
	const blobs = new Map();
	URL.createObjectURL = (blob) => { const u = make(blob); blobs.set(u, blob); return u; };
	HTMLAnchorElement.prototype.click = function () {
		if (!this.download) return;
		const name = this.download;
		blobs.get(this.href).text().then((text) => window.__saved.push({ name, text }));
	};
	return true;
}`

type saved struct{ Name, Text string }

// download clicks the button and returns the file the page saved.
func (b *tab) download(button string) saved {
	b.t.Helper()
	js[bool](b, `() => { window.__saved = []; return true; }`)
	b.clickText("main button", button)
	b.waitFor("the saved file", `() => window.__saved.length === 1 && /^Saved/.test(document.querySelector('.download-status').textContent)`)
	return js[[]saved](b, `() => window.__saved`)[0]
}

// TestDownload: the family's Download on the conversation list and the
// staff's on the patient page save the patient's conversations as HTML and
// as a FHIR Bundle, at 375 px and at desktop width, with axe clean.
func TestDownload(t *testing.T) {
	for _, w := range []struct {
		name          string
		width, height int64
		opts          []chromedp.EmulateViewportOption
	}{
		{"desktop", 1280, 900, nil},
		{"phone", 375, 812, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulatePortrait}},
	} {
		for _, tc := range []struct{ audience, user, open string }{
			{"portal", "parent.rivera", ""},
			{"staff", "nurse.kim", "#/patient/" + seed.Mateo},
		} {
			t.Run(w.name+"/"+tc.audience, func(t *testing.T) {
				b := newTab(t, tc.user)
				b.do(chromedp.EmulateViewport(w.width, w.height, w.opts...))
				b.signIn(tc.audience, tc.user)
				if tc.open != "" {
					b.navigate(env.stack.Site() + "/staff/" + tc.open)
				}
				b.waitFor("the conversations", `() => document.querySelector('main .download button') && !document.querySelector('main .loading') && document.querySelector('main li a')`)
				b.assertAxe(w.name + " " + tc.audience + " with Download")
				if over := js[int](b, `() => document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
					b.fail("the page scrolls sideways by %d px", over)
				}
				js[bool](b, catchDownloads)
				// What the page looks like with its Download buttons, for
				// people to check.
				if png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)); err == nil {
					_ = os.WriteFile(filepath.Join(screenshotDir(t), "30-"+tc.audience+"-download-"+w.name+".png"), png, 0o644)
				}

				// The family's page is the Current Patient's; the staff's
				// is Mateo's.
				who := js[string](b, `() => document.querySelector('main h1').textContent.replace(/^Messages about /, '')`)
				page := b.download("Download")
				if !strings.HasPrefix(page.Name, "messages-pt-") || !strings.HasSuffix(page.Name, ".html") || tc.audience == "staff" && !strings.HasPrefix(page.Name, "messages-"+seed.Mateo) {
					b.fail("HTML file named %q", page.Name)
				}
				if !strings.HasPrefix(page.Text, "<!doctype html>") || !strings.Contains(page.Text, "Messages about "+who) || strings.Contains(page.Text, "<script") {
					b.fail("HTML file: %.200q", page.Text)
				}
				bundle := b.download("Download FHIR")
				var doc struct {
					ResourceType string
					Entry        []struct{ Resource struct{ ResourceType string } }
				}
				if err := json.Unmarshal([]byte(bundle.Text), &doc); err != nil || doc.ResourceType != "Bundle" || len(doc.Entry) == 0 || doc.Entry[0].Resource.ResourceType != "Communication" {
					b.fail("FHIR file %q: %v %.200q", bundle.Name, err, bundle.Text)
				}
				b.assertAxe(w.name + " " + tc.audience + " after Download")
				b.assertClean()
				// The file itself, as its reader opens it: axe-clean too.
				file := filepath.Join(screenshotDir(t), "31-"+tc.audience+"-download-"+w.name+".html")
				if err := os.WriteFile(file, []byte(page.Text), 0o644); err != nil {
					t.Fatal(err)
				}
				b.navigate("file://" + file)
				b.waitFor("the downloaded file", `() => document.querySelector('main h1') && document.querySelectorAll('article').length > 0`)
				b.assertAxe(w.name + " " + tc.audience + " downloaded HTML file")
				if over := js[int](b, `() => document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
					b.fail("the downloaded file scrolls sideways by %d px", over)
				}
			})
		}
	}
}
