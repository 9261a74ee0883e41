package browsertest

import (
	"bytes"
	"image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pedsportal/messaging/internal/attach/attachtest"
)

// checkWithin bounds the wait for a file to be scanned and made safe: the
// local scanner sweeps at once on S3's event, and every 2 s regardless.
const checkWithin = 30 * time.Second

// writeJPEG writes a small phone photo, GPS position included, named
// name into dir.
func writeJPEG(t *testing.T, dir, name string) string {
	t.Helper()
	return writeFile(t, dir, name, attachtest.PhotoWithGPS(96, 64, 1))
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// attach chooses files in the form's file picker, as a person does in the
// system dialog.
func (b *tab) attach(paths ...string) {
	b.t.Helper()
	b.do(chromedp.SetUploadFiles(chromedp.CSS(`main form input[type=file]`), paths))
}

// fileState waits until the picker's entry for name is in state (ready,
// blocked, refused) and returns its status text.
func (b *tab) fileState(name, state string) string {
	b.t.Helper()
	find := `(n, s) => [...document.querySelectorAll('main form .files .file')].find((li) => li.querySelector('.file-name').textContent === n && li.classList.contains(s))`
	b.waitForWithin(checkWithin, name+" "+state, find, name, state)
	return js[string](b, `(n, s) => (`+find+`)(n, s).querySelector('.file-status').textContent`, name, state)
}

// catchOpened makes the page keep the links it opens in a new tab (a
// file's download), instead of opening them.
const catchOpened = `() => {
	window.__opened = [];
	HTMLAnchorElement.prototype.click = function () { if (this.target === '_blank') window.__opened.push(this.href); };
	return true;
}`

// TestAttachPhotoToReply: a parent attaches a JPEG to a reply on a phone
// and on a desktop, watches its upload and check, sends it and sees the
// thumbnail; staff see the thumbnail and download the file over its
// short-lived link, then answer with a PDF, which the family gets as a
// download only.
func TestAttachPhotoToReply(t *testing.T) {
	dir := t.TempDir()
	photo := writeJPEG(t, dir, "rash on arm.jpg")
	subject := "Rash photo " + runID

	parent := newTab(t, "parent.rivera")
	parent.signIn("portal", "parent.rivera")
	parent.waitText("main h1", "Messages about")
	parent.writePortalMessage("Nurse", subject, "A rash came up this morning.")
	parent.phone() // the parent attaches and sends from a phone
	parent.attach(photo)
	status := parent.fileState("rash on arm.jpg", "ready")
	if !strings.Contains(status, "Ready to send") {
		parent.fail("the photo's status is %q", status)
	}
	// Its progress bar is labelled with the file and shows the whole
	// upload done.
	if v := js[float64](parent, `() => document.querySelector('progress[aria-label="Upload of rash on arm.jpg"]')?.value ?? -1`); v != 100 {
		parent.fail("progress for the photo is %v, want 100", v)
	}
	parent.shoot("70-portal-reply-photo-ready")
	parent.phone()
	parent.typeInto(parent.fieldByLabel("Your reply"), "Here is the photo.")
	parent.clickText("main button", "Send reply")
	thumb := `(n) => [...document.querySelectorAll('.chain .msg-files img.thumb')].find((i) => i.alt === n && i.complete && i.naturalWidth > 0)`
	parent.waitForWithin(checkWithin, "the photo's thumbnail in the chain", thumb, "rash on arm.jpg")
	if n := js[int](parent, `() => document.querySelectorAll('main form .files .file').length`); n != 0 {
		parent.fail("the reply form still lists %d files after sending", n)
	}
	parent.shoot("71-portal-chain-thumbnail")
	parent.assertClean()
	conv := js[string](parent, `() => location.hash`)

	staff := newTab(t, "nurse.kim")
	staff.signIn("staff", "nurse.kim")
	staff.waitText("main h1", "Inbox")
	staff.navigate(env.stack.Site() + "/staff/" + conv)
	staff.waitForWithin(checkWithin, "the photo's thumbnail for staff", thumb, "rash on arm.jpg")
	staff.shoot("72-staff-chain-thumbnail")
	js[bool](staff, catchOpened)
	staff.clickFound(`() => document.querySelector('.chain button[aria-label="Download rash on arm.jpg"]')`)
	staff.waitFor("the download link", `() => window.__opened.length === 1`)
	link := js[string](staff, `() => window.__opened[0]`)
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("download: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jpeg.Decode(bytes.NewReader(body)); err != nil {
		t.Fatalf("download is not a JPEG: %v", err)
	}
	// What the practice downloads is the re-encoded copy: the phone's GPS
	// position is gone with its EXIF block.
	if bytes.Contains(body, []byte("Exif\x00")) || bytes.Contains(body, []byte(attachtest.GPSMarker)) {
		t.Fatal("the downloaded photo still carries EXIF")
	}

	staff.attach(writeFile(t, dir, "care plan.pdf", attachtest.PDF(false)))
	staff.fileState("care plan.pdf", "ready")
	staff.typeInto(staff.fieldByLabel("Reply"), "The care plan is attached.")
	staff.clickText("main button", "Send reply")
	staff.waitFor("the PDF in the chain", `() => document.querySelector('.chain button[aria-label="Download care plan.pdf"]')`)
	// The redraw after sending kept the photo's thumbnail: one link asked for.
	thumbLinks := 0
	for _, r := range staff.apiRequests() {
		if strings.Contains(r.URL, "variant=thumbnail") {
			thumbLinks++
		}
	}
	if thumbLinks != 1 || !js[bool](staff, `(n) => Boolean((`+thumb+`)(n))`, "rash on arm.jpg") {
		staff.fail("after the redraw: %d thumbnail links asked for, want 1, and the thumbnail shown", thumbLinks)
	}
	staff.assertClean()

	parent.do(chromedp.Reload()) // the family opens the conversation again
	parent.waitFor("the PDF for the family", `() => document.querySelector('.chain button[aria-label="Download care plan.pdf"]')`)
	if js[bool](parent, `() => [...document.querySelectorAll('.chain img.thumb')].some((i) => i.alt === 'care plan.pdf')`) {
		parent.fail("a PDF shows as an image")
	}
	js[bool](parent, catchOpened)
	// The page may still redraw the chain once after the reload (its first
	// summary poll); a press on a button that redraw replaced opens
	// nothing, so press again, as a person would, until the link opens.
	for try := 0; ; try++ {
		parent.clickFound(`() => document.querySelector('.chain button[aria-label="Download care plan.pdf"]')`)
		opened := false
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !opened; time.Sleep(100 * time.Millisecond) {
			opened = js[bool](parent, `() => window.__opened.length > 0`)
		}
		if opened || try == 2 {
			break
		}
	}
	parent.waitFor("the PDF's link", `() => window.__opened.length >= 1`)
	pdf, err := http.Get(js[string](parent, `() => window.__opened[0]`))
	if err != nil {
		t.Fatal(err)
	}
	pdf.Body.Close()
	if d := pdf.Header.Get("Content-Disposition"); pdf.StatusCode != http.StatusOK || !strings.HasPrefix(d, "attachment;") {
		t.Fatalf("PDF download: %d, Content-Disposition %q; want 200 as an attachment", pdf.StatusCode, d)
	}
	parent.assertClean()
}

// eicar is the antivirus test file, built here so no scanner on the
// machine quarantines the test's source.
func eicar() []byte {
	return []byte(strings.Join([]string{`X5O!P%@AP[4\PZX54(P^)7CC)7}$`, `EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`}, ""))
}

// TestAttachRefusals: on Write Message, an 11 MB file and a file of
// another type are refused before any upload, with a sentence saying why;
// EICAR is blocked by the scanner and never offered for download; a file
// whose name is an XSS payload shows it as text, in the form and in the
// chain.
func TestAttachRefusals(t *testing.T) {
	dir := t.TempDir()
	big := writeFile(t, dir, "school form scan.pdf", bytes.Repeat([]byte("%PDF-1.4 "), (11<<20)/9))
	text := writeFile(t, dir, "notes.txt", []byte("not a photo"))
	virus := writeFile(t, dir, "insurance card.pdf", eicar())
	xssName := `"><img src=x onerror=window.__xss=5>.jpg`
	xss := writeJPEG(t, dir, xssName)

	parent := newTab(t, "parent.chen")
	parent.signIn("portal", "parent.chen")
	parent.waitText("main h1", "Messages about")
	parent.clickText("#nav a", "Write Message")
	parent.waitText("main h1", "Write Message")

	parent.attach(big, text)
	if s := parent.fileState("school form scan.pdf", "refused"); !strings.Contains(s, "This file is 11 MB; a file can be at most 10 MB") {
		parent.fail("the large file says %q", s)
	}
	if s := parent.fileState("notes.txt", "refused"); !strings.Contains(s, "cannot be attached") {
		parent.fail("the text file says %q", s)
	}
	for _, r := range parent.apiRequests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL, "/attachments") {
			parent.fail("a refused file asked for an upload slot: %s", r.URL)
		}
	}
	parent.shoot("73-portal-attach-refused")
	// Remove takes a file off the list.
	parent.clickFound(`() => document.querySelector('main form button[aria-label="Remove notes.txt"]')`)
	parent.waitFor("notes.txt removed", `() => ![...document.querySelectorAll('main form .file-name')].some((e) => e.textContent === 'notes.txt')`)

	parent.attach(virus, xss)
	if s := parent.fileState("insurance card.pdf", "blocked"); !strings.HasPrefix(s, "Blocked") {
		parent.fail("EICAR says %q", s)
	}
	parent.fileState(xssName, "ready")
	if !js[bool](parent, `(n) => [...document.querySelectorAll('main form .file-name')].some((e) => e.textContent === n && e.children.length === 0)`, xssName) {
		parent.fail("the hostile file name is not shown as text in the form")
	}
	parent.shoot("74-portal-attach-blocked")

	subject := "Insurance card " + runID
	parent.choose(parent.fieldByLabel("To"), "Billing")
	parent.typeInto(parent.fieldByLabel("Subject"), subject)
	parent.typeInto(parent.fieldByLabel("Message"), "The card, front and back.")
	parent.clickText("main button", "Send message")
	parent.waitFor("the new conversation", `(s) => document.querySelector('main h1')?.textContent === s && document.querySelector('.chain .msg-files')`, subject)
	// The chain carries the safe file only, its name as text and as the
	// thumbnail's alt; the blocked one is nowhere, and has no link.
	got := js[[]string](parent, `() => [...document.querySelectorAll('.chain .msg-files .file-name')].map((e) => e.children.length ? '<markup>' : e.textContent)`)
	if len(got) != 1 || got[0] != xssName {
		parent.fail("the chain's files are %q, want only %q as text", got, xssName)
	}
	parent.waitForWithin(checkWithin, "the thumbnail", `(n) => [...document.querySelectorAll('.chain img.thumb')].some((i) => i.alt === n && i.naturalWidth > 0)`, xssName)
	if js[bool](parent, `() => document.body.textContent.includes('insurance card.pdf') || !!document.querySelector('[aria-label="Download insurance card.pdf"]')`) {
		parent.fail("the blocked file shows in the chain")
	}
	// No markup from the name anywhere (the thumbnail is the page's own).
	if bad := js[[]string](parent, `() => [...document.querySelectorAll('main img:not(.thumb), main svg, main iframe, main script, [onerror], [onload]')].map((e) => e.outerHTML.slice(0, 120))`); len(bad) > 0 {
		parent.fail("injected elements in the page: %q", bad)
	}
	parent.assertClean()
}

// TestAttachRefusedByS3: a device that misreports a file's size gets past
// the page's own check, and S3's POST policy refuses the upload; the page
// says so in words and sends nothing.
func TestAttachRefusedByS3(t *testing.T) {
	big := writeFile(t, t.TempDir(), "scan.pdf", bytes.Repeat([]byte("%PDF-1.4 "), (11<<20)/9))
	parent := newTab(t, "parent.chen")
	parent.signIn("portal", "parent.chen")
	parent.waitText("main h1", "Messages about")
	parent.clickText("#nav a", "Write Message")
	parent.waitText("main h1", "Write Message")
	// The lie: every file claims to be 1 KB; what is posted is the file.
	js[bool](parent, `() => { Object.defineProperty(Blob.prototype, 'size', { get() { return 1024; } }); return true; }`)
	parent.attach(big)
	s := parent.fileState("scan.pdf", "failed")
	if !strings.Contains(s, "The file store refused this file: it is larger than 10 MB") {
		parent.fail("S3's refusal reads %q", s)
	}
	// S3's 400 is in the console log; nothing else ran.
	parent.assertNoScriptRan()
}
