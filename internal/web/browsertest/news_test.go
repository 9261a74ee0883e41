package browsertest

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pedsportal/messaging/internal/seed"
)

// portalNews is GET /portal/summary as user: unread conversations per
// patient, and in all.
func portalNews(t *testing.T, user string) (map[string]int, int) {
	t.Helper()
	var s struct {
		Patients []struct {
			PatientID string
			Unread    int
		}
		Unread int
	}
	apiCall(t, "portal", user, "GET", "/portal/summary", nil, &s)
	out := map[string]int{}
	for _, p := range s.Patients {
		out[p.PatientID] = p.Unread
	}
	return out, s.Unread
}

type linked struct{ ID, DisplayName string }

func portalPatients(t *testing.T, user string) []linked {
	t.Helper()
	var l struct{ Items []linked }
	apiCall(t, "portal", user, "GET", "/portal/patients", nil, &l)
	return l.Items
}

// startAnswered starts a conversation as parent.rivera about patient and
// has the nurse answer it, so it holds news for the family; it returns
// its ID.
func startAnswered(t *testing.T, patient, subject string) string {
	t.Helper()
	var w struct{ Conversation struct{ ID string } }
	apiCreate(t, "portal", "parent.rivera", "/portal/patients/"+patient+"/conversations",
		map[string]string{"poolId": seed.PoolNurse, "subject": subject, "body": "A question for the nurse."}, &w)
	staffReply(t, patient, w.Conversation.ID, "The nurse's answer to "+subject)
	return w.Conversation.ID
}

func staffReply(t *testing.T, patient, cid, body string) {
	t.Helper()
	apiCreate(t, "staff", "nurse.kim", "/staff/patients/"+patient+"/conversations/"+url.PathEscape(cid)+"/messages", map[string]string{"body": body}, nil)
}

// assertCounts waits until the Current Patient control, the Messages link
// and the title show the summary's unread counts. The summary is read
// again each time round: a read the page just sent may still be landing.
func (b *tab) assertCounts(t *testing.T, user string) {
	t.Helper()
	var want map[string]string
	var total int
	for deadline := time.Now().Add(stepTimeout); ; {
		news, n := portalNews(t, user)
		want, total = map[string]string{}, n
		for _, p := range portalPatients(t, user) {
			want[p.ID] = p.DisplayName
			if k := news[p.ID]; k > 0 {
				want[p.ID] += " (" + itoa(int64(k)) + " unread)"
			}
		}
		if js[bool](b, `(want, total) => {
			const opts = [...document.querySelectorAll('#current-patient option')];
			const badge = document.querySelector('#unread-badge');
			const badgeOK = total === 0 ? badge.hidden : !badge.hidden && badge.textContent.startsWith(String(total) + ' unread');
			return opts.length === Object.keys(want).length && opts.every((o) => want[o.value] === o.textContent)
				&& badgeOK && (total === 0 ? !document.title.startsWith('(') : document.title.startsWith('(' + total + ') Messages'));
		}`, want, total) {
			return
		}
		if time.Now().After(deadline) {
			b.fail("the page's counts are not the summary's %v (total %d)", want, total)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// News where it is seen: a parent of two signs in and lands on the child
// with news; each child's unread count is in the Current Patient control,
// the total in the navigation and the title; an office reply about the
// other child shows up there without a reload; an open conversation draws
// a new reply and the office's read in place, keeping the reply being
// typed; and the staff conversation page shows the family's read receipt
// without a reload.
func TestNewsWhereItIsSeen(t *testing.T) {
	sofiaSubject := "Bedtime routine " + runID
	sofiaConv := startAnswered(t, seed.Sofia, sofiaSubject)
	news, _ := portalNews(t, "parent.rivera")
	var first string
	for _, p := range portalPatients(t, "parent.rivera") {
		if news[p.ID] > 0 {
			first = p.ID
			break
		}
	}
	if first == "" {
		t.Fatal("no child has news after the nurse's answer")
	}

	parent := newTab(t, "parent.rivera")
	// Another child chosen before: after a sign-in the child with news wins.
	parent.navigate(env.stack.Site() + "/portal/")
	js[bool](parent, `(id) => { sessionStorage.setItem('pp.portal.patient', id); return true; }`, otherThan(first))
	parent.signIn("portal", "parent.rivera")
	parent.waitFor("the child with news as Current Patient", `(id) => document.querySelector('#current-patient')?.value === id`, first)
	parent.assertCounts(t, "parent.rivera")
	parent.shoot("40-portal-news-counts")

	// The office answers about Mateo while Sofia's list is on screen.
	parent.switchPatient("Sofia Rivera")
	parent.waitText("main .portal-conv", sofiaSubject)
	mateoSubject := "Vaccine schedule " + runID
	startAnswered(t, seed.Mateo, mateoSubject)
	parent.assertCounts(t, "parent.rivera")
	parent.waitText("#live", "new message from the office")

	// Sofia's own list updates in place when the office answers her again,
	// and the keyboard stays on the link it was on.
	js[bool](parent, `(s) => { [...document.querySelectorAll('main .portal-conv')].find((li) => li.textContent.includes(s)).querySelector('a.more').focus(); return true; }`, sofiaSubject)
	staffReply(t, seed.Sofia, sofiaConv, "And one more thing about bedtime.")
	parent.waitFor("Sofia's conversation showing 2 new, focus kept", `(s) => {
		const li = [...document.querySelectorAll('main .portal-conv')].find((x) => x.textContent.includes(s));
		return li && li.querySelector('.badge.new')?.textContent === '2 new' && document.activeElement === li.querySelector('a.more');
	}`, sofiaSubject)

	// Opening it reads it: the counts go down.
	parent.clickWithin("main .portal-conv", sofiaSubject, "a.more")
	parent.waitText(".chain .msg.staff .body", "And one more thing about bedtime.")
	parent.assertCounts(t, "parent.rivera")

	// A reply being typed stays while the office's next message arrives.
	field := parent.fieldByLabel("Your reply")
	parent.typeInto(field, "Half typed "+runID)
	staffReply(t, seed.Sofia, sofiaConv, "Also: no screens an hour before bed. "+runID)
	parent.waitText(".chain .msg.staff .body", "no screens an hour before bed. "+runID)
	if !js[bool](parent, `(css, v) => document.activeElement === document.querySelector(css) && document.querySelector(css).value === v`, field, "Half typed "+runID) {
		parent.fail("the reply being typed lost its text or the keyboard when the new message arrived")
	}
	parent.assertCounts(t, "parent.rivera") // read at once: it is on screen
	parent.shoot("41-portal-conversation-live")

	// The family's reply, then the office reads it: its status line moves
	// from received to seen, in place.
	reply := "Thanks, we will try that. " + runID
	parent.typeInto(field, reply)
	parent.clickText("main button", "Send reply")
	parent.assertFocusOnSent(reply)
	parent.waitFor("received", `(b) => [...document.querySelectorAll('.chain .msg.portal')].some((m) => m.querySelector('.body')?.textContent === b && m.querySelector('.msg-status')?.textContent.includes('Received'))`, reply)
	apiCall(t, "staff", "nurse.kim", "POST", "/staff/patients/"+seed.Sofia+"/conversations/"+sofiaConv+"/read", nil, nil)
	parent.waitFor("seen by the office, without a reload", `(b) => [...document.querySelectorAll('.chain .msg.portal')].some((m) => m.querySelector('.body')?.textContent === b && m.querySelector('.msg-status')?.textContent.includes('Seen by the office'))`, reply)

	// The staff page: the family reads the nurse's reply while it is open,
	// and its receipt turns to read without a reload.
	parent.clickText("main .back a", "All messages")
	parent.waitText("main h1", "Messages about Sofia Rivera")
	nurse := newTab(t, "nurse.kim")
	nurse.signIn("staff", "nurse.kim")
	nurse.waitText("main h1", "Inbox")
	nurse.navigate(env.stack.Site() + "/staff/#/c/" + seed.Sofia + "/" + sofiaConv)
	nurse.waitFor("the chain", `() => document.querySelector('.chain .msg')`)
	nurseReply := "Let us know how the first week goes. " + runID
	nurse.typeInto(nurse.fieldByLabel("Reply"), nurseReply)
	nurse.clickText("main button", "Send reply")
	nurse.waitFor("not yet read", `(b) => [...document.querySelectorAll('.chain .msg.staff')].some((m) => m.querySelector('.body')?.textContent === b && m.querySelector('.receipt')?.textContent === 'Not yet read by family')`, nurseReply)
	reloads := len(nurse.siteResponses())
	polls := len(nurse.apiRequests())
	apiCall(t, "portal", "parent.rivera", "POST", "/portal/patients/"+seed.Sofia+"/conversations/"+sofiaConv+"/read", nil, nil)
	nurse.waitForWithin(30*time.Second, "read by family, in place", `(b) => [...document.querySelectorAll('.chain .msg.staff')].some((m) => m.querySelector('.body')?.textContent === b && m.querySelector('.receipt')?.textContent.startsWith('Read by family'))
		&& !document.querySelector('#family-read').textContent.includes('Not yet')`, nurseReply)
	if n := len(nurse.siteResponses()); n != reloads {
		nurse.fail("the staff page reloaded (%d page responses) to show the receipt", n-reloads)
	}
	if n := len(nurse.apiRequests()) - polls; n < 1 {
		nurse.fail("the receipt changed without a request (%d)", n)
	}
	nurse.shoot("42-staff-read-receipt-live")
	parent.assertClean()
	nurse.assertClean()
}

// assertStartedInPlace waits for the practice line, then fails if the
// navigation, the Current Patient bar or the page's main part moved while
// the portal started, by the browser's own layout-shift record: a first
// tap must land where it was aimed, and Lighthouse counts each shift.
func (b *tab) assertStartedInPlace(practice string) {
	b.t.Helper()
	b.waitText("#practice", practice)
	b.waitFor("the Current Patient bar", `() => document.querySelector('#current-patient')`)
	moved := js[[]string](b, `() => new Promise((done) => {
		const held = ['nav', 'patient-bar', 'main'].map((id) => document.getElementById(id));
		new PerformanceObserver((list) => done(list.getEntries().flatMap((e) => e.sources || [])
			.filter((s) => s.node && held.some((el) => s.node === el || el.contains(s.node) || s.node.contains?.(el)))
			.map((s) => (s.node.id || s.node.nodeName) + ' ' + (s.node.textContent || '').trim().slice(0, 30) + ' ' + JSON.stringify([s.previousRect, s.currentRect])))).observe({ type: 'layout-shift', buffered: true });
		setTimeout(() => done([]), 1000);
	})`)
	if len(moved) > 0 {
		b.fail("the page moved while it started: %q", moved)
	}
}

// otherThan is a linked child of Ana Rivera other than id.
func otherThan(id string) string {
	if id == seed.Mateo {
		return seed.Sofia
	}
	return seed.Mateo
}

// The practice's name, phone and office hours, from the directory, in the
// portal header, the empty state of a parent with no linked child, the
// emergency notice, and the signed-out screen after sign-out.
func TestPracticeIdentity(t *testing.T) {
	const name, hours = "Maple Grove Pediatrics", "Mon–Fri 8 AM–5 PM, Sat 9 AM–noon"
	b := newTab(t, "parent.new")
	b.signIn("portal", "parent.new")
	b.waitText("main .notice", "No patients are linked to your account yet.")
	for _, css := range []string{"#practice", "main .notice"} {
		for _, want := range []string{name, seed.NurseLine} {
			b.waitText(css, want)
		}
	}
	b.waitText("#practice", "Office hours "+hours)
	b.waitText("main .notice.emergency", seed.NurseLine)
	if href := js[string](b, `() => document.querySelector('#practice a.tel')?.getAttribute('href') || ''`); href != "tel:+15555550142" {
		b.fail("the practice's phone links to %q, want tel:+15555550142", href)
	}
	b.shoot("45-portal-no-child-practice")

	p := newTab(t, "parent.chen")
	p.signIn("portal", "parent.chen")
	p.assertStartedInPlace(name)
	// On a phone too, in a tab that already holds the session: a reload.
	p.phone()
	p.do(chromedp.Reload())
	p.assertStartedInPlace(name)
	p.do(chromedp.EmulateViewport(1280, 900))
	p.openFromNav("Write Message", "#/write")
	p.waitText("main h1", "Write Message")
	for _, want := range []string{name + " reads messages during office hours (" + hours + ")", seed.NurseLine, "call 911"} {
		p.waitText("main .notice.emergency", want)
	}
	p.shoot("46-portal-write-practice")
	if !strings.Contains(js[string](p, `() => document.title`), name) {
		p.fail("the title does not name the practice: %q", js[string](p, `() => document.title`))
	}
	p.clickText("#sign-out", "Sign out")
	p.waitText("main", "You have signed out.")
	p.waitText("main .notice.emergency", seed.NurseLine)
	b.assertClean()
	p.assertClean()
}
