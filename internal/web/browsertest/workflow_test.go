package browsertest

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// convIDs reads the patient and conversation IDs of the conversation on
// screen from the location hash (#/c/{pid}/{cid}).
func (b *tab) convIDs() (pid, cid string) {
	b.t.Helper()
	parts := strings.Split(strings.TrimPrefix(js[string](b, `() => location.hash`), "#/c/"), "/")
	if len(parts) != 2 {
		b.fail("not on a conversation")
	}
	pid, _ = url.PathUnescape(parts[0])
	cid, _ = url.PathUnescape(parts[1])
	return pid, cid
}

// openConversation shows a conversation in the staff page, as following a
// link from the inbox does.
func (b *tab) openConversation(pid, cid, subject string) {
	b.t.Helper()
	b.navigate(env.stack.Site() + "/staff/#/c/" + url.PathEscape(pid) + "/" + url.PathEscape(cid))
	b.waitText("main h1", subject)
	b.waitFor("the history", `() => document.querySelector('.work-panel .history li')`)
}

// inboxLacks waits until the inbox list, loaded, does not show subject.
func (b *tab) inboxLacks(subject string) {
	b.t.Helper()
	b.waitFor("the list without "+subject, `(s) => !document.querySelector('main .loading') && document.querySelector('#main .list li')
		&& ![...document.querySelectorAll('#main a.conv .subject')].some((e) => e.textContent === s)`, subject)
}

// waitDetail waits until the details panel entry with the given id shows text.
func (b *tab) waitDetail(id, text string) {
	b.t.Helper()
	b.waitText(".side-panel #"+id, text)
}

// TestStaffWorkflowPages follows a parent's message through the staff
// workflow in the pages: Needs reply, opening it (still Needs reply), a
// reply (Waiting on family), a reroute with a reason (the family sees only
// the new pool), an internal note (staff only), two staff claiming it (the
// second is told who took it and takes over) and a change from a page that
// was stale (the page says so and shows what is there now). The family's
// status line fits a phone.
func TestStaffWorkflowPages(t *testing.T) {
	subject := "Ear pain at night " + runID
	question := "Mateo wakes up at night pulling at his left ear. Does he need to be seen?"
	answer := "Thanks for writing. Ear pain at night is common with a cold; we can see him tomorrow morning."
	const reason = "REASON-family-asked-about-copay-4417"
	const note = "NOTE-mother-prefers-a-call-after-3-9902"

	parent := newTab(t, "parent.rivera")
	parent.signIn("portal", "parent.rivera")
	parent.waitText("main h1", "Messages about")
	if !strings.Contains(js[string](parent, `() => document.querySelector('main h1').textContent`), "Mateo") {
		parent.switchPatient("Mateo Rivera")
	}
	parent.writePortalMessage("Nurse line", subject, question)
	pid, cid := parent.convIDs()
	// Received, with when a reply usually comes: the longest status line.
	assertStatusLines(t, parent, pid, cid, "24-portal-status-received")

	// Needs reply is where staff start, and it holds the new message with
	// whose turn it is and since when.
	nurse := newTab(t, "nurse.kim")
	nurse.signIn("staff", "nurse.kim")
	nurse.waitText("main h1", "Inbox")
	nurse.waitFor("Needs reply chosen", `() => document.querySelector('.views input:checked')?.labels[0].textContent.trim() === 'Needs reply'`)
	nurse.inboxFind(subject)
	nurse.waitFor("the turn and the wait on its row", `(s) => [...document.querySelectorAll('#main a.conv')].some((a) =>
		a.querySelector('.subject').textContent === s && /Needs reply · waiting since .+ \(.+\)/.test(a.querySelector('.turn')?.textContent || ''))`, subject)

	// Opening it (which marks it read) leaves it in Needs reply.
	nurse.clickText("#main a.conv", subject)
	nurse.waitText("main h1", subject)
	waitForResponse(t, nurse, "POST", regexp.MustCompile(`/staff/patients/[^/]+/conversations/[^/]+/read$`), 200)
	nurse.waitText("main .chip.turn", "Needs reply")
	nurse.clickText("main a", "Back to inbox")
	nurse.inboxFind(subject)

	// A reply hands the turn to the family.
	nurse.clickText("#main a.conv", subject)
	nurse.typeInto(nurse.fieldByLabel("Reply"), answer)
	nurse.clickText("main button", "Send reply")
	nurse.waitText("main .chip.turn", "Waiting on family")
	nurse.waitDetail("conv-turn", "Waiting on family since")
	nurse.clickText("main a", "Back to inbox")
	nurse.inboxLacks(subject)
	nurse.chooseView("Waiting on family")
	nurse.inboxFind(subject)

	// Reroute with a reason: the panel says where it went and why; the
	// Front desk pool lists it.
	nurse.clickText("#main a.conv", subject)
	nurse.waitFor("the history", `() => document.querySelector('.work-panel .history li')`)
	nurse.waitText(".work-panel .staff-only", "Staff only — never shown to the family")
	nurse.clickText(".work-panel button", "Move conversation")
	nurse.waitText(".work-panel .alert", "Choose the pool to move it to.")
	nurse.choose(nurse.fieldByLabel("Move to pool"), "Front desk")
	nurse.typeInto(nurse.fieldByLabel("Reason for moving"), reason)
	nurse.clickText(".work-panel button", "Move conversation")
	nurse.waitDetail("conv-pool", "Front desk")
	nurse.waitText(".work-panel .history", "Jordan Kim, RN rerouted to Front desk from Nurse line: "+reason)

	// An internal note, in the staff-only panel.
	nurse.typeInto(nurse.fieldByLabel("Internal note"), note)
	nurse.clickText(".work-panel button", "Add note")
	nurse.waitFor("the note in the staff-only history", `(n) => [...document.querySelectorAll('.work-panel .history .entry.note')].some((li) =>
		li.querySelector('.note-text')?.textContent === n && li.textContent.includes('Jordan Kim, RN added a note'))
		&& document.querySelector('.work-panel .staff-only')`, note)
	nurse.shoot("16-staff-notes-history")

	nurse.clickText("main a", "Back to inbox")
	nurse.choose(nurse.fieldByLabel("Pool"), "Front desk")
	nurse.inboxFind(subject)
	nurse.choose(nurse.fieldByLabel("Pool"), "Nurse line")
	nurse.inboxLacks(subject)
	nurse.choose(nurse.fieldByLabel("Pool"), "All pools")

	// The family sees the new pool's name, and neither the reason nor the
	// note, in the list or in the chain.
	parent.clickText("main a", "All messages")
	parent.waitFor("the new pool in the list", `(s) => [...document.querySelectorAll('main li')].some((li) => li.querySelector('h2')?.textContent === s && li.textContent.includes('To: Front desk'))`, subject)
	assertNotShown(t, parent, reason, note)
	parent.clickWithin("main li", subject, "a.more")
	parent.waitText(".chain .msg .body", answer)
	parent.waitText("main p.muted", "To: Front desk")
	assertNotShown(t, parent, reason, note)

	// The family's own message says where it stands, on a phone too.
	assertStatusLines(t, parent, pid, cid, "25-portal-status-answered")

	// Two staff claim it. Both pages are open; the nurse claims first.
	desk := newTab(t, "desk.lee")
	desk.signIn("staff", "desk.lee")
	desk.waitText("main h1", "Inbox")
	desk.openConversation(pid, cid, subject)
	nurse.openConversation(pid, cid, subject)
	nurse.clickText(".side-panel button", "Assign to me")
	nurse.waitDetail("conv-assignee", "Jordan Kim, RN")
	desk.clickText(".side-panel button", "Assign to me")
	desk.waitFor("the conflict naming the nurse", `() => {
		const n = document.querySelector('.change-notice');
		return n && !n.hidden && /^Jordan Kim, RN took this conversation at .+\./.test(n.querySelector('strong')?.textContent || '') && document.activeElement === n;
	}`)
	desk.waitDetail("conv-assignee", "Jordan Kim, RN") // reloaded: what is true now
	desk.shoot("17-staff-claim-conflict")
	desk.clickText(".change-notice button", "Take over")
	desk.waitDetail("conv-assignee", "Sam Lee")
	desk.waitFor("the notice gone", `() => document.querySelector('.change-notice').hidden`)
	desk.waitText(".work-panel .history", "Sam Lee took over")

	// The nurse's page still shows the conversation as hers: her change is
	// refused, and the page says why and shows what is there now.
	nurse.waitDetail("conv-assignee", "Jordan Kim, RN")
	nurse.clickText(".side-panel button", "Close conversation")
	nurse.waitFor("the plain explanation", `() => {
		const n = document.querySelector('.change-notice');
		return n && !n.hidden && n.textContent.includes('Someone else changed this conversation while you had it open, so your change was not saved.')
			&& n.textContent.includes('it is assigned to Sam Lee');
	}`)
	nurse.waitDetail("conv-assignee", "Sam Lee")
	nurse.waitText("main .chip", "Open")
	nurse.waitText(".work-panel .history", "Sam Lee took over")
	nurse.shoot("18-staff-changed-meanwhile")
	var h struct{ Conversation struct{ Status string } }
	apiCall(t, "staff", "nurse.kim", "GET", "/staff/patients/"+url.PathEscape(pid)+"/conversations/"+url.PathEscape(cid)+"?limit=1", nil, &h)
	if h.Conversation.Status != "open" {
		t.Errorf("the stale close went through: status %q", h.Conversation.Status)
	}

	// No reply needed moves it to Done; Needs reply brings it back.
	desk.clickText(".side-panel button", "Needs reply")
	desk.waitText("main .chip.turn", "Needs reply")
	desk.clickText(".side-panel button", "No reply needed")
	desk.waitText("main .chip.turn", "No reply needed")
	desk.waitText(".work-panel .history", "Sam Lee marked it as no reply needed")
	desk.clickText("main a", "Back to inbox")
	desk.chooseView("Done")
	desk.inboxFind(subject)

	parent.assertClean()
	// The staff tabs had 409s on purpose; a refused request is logged.
	nurse.assertNoScriptRan()
	desk.assertNoScriptRan()
}

// assertNotShown fails if the page's text holds any of the staff-only
// strings.
func assertNotShown(t *testing.T, b *tab, staffOnly ...string) {
	t.Helper()
	text := js[string](b, `() => document.documentElement.innerText + ' ' + document.documentElement.textContent`)
	for _, s := range staffOnly {
		if strings.Contains(text, s) {
			b.fail("the family's page shows staff-only text %q", s)
		}
	}
}

// assertStatusLines checks the family's messages on screen each carry the
// status line the API gives them, as text, and that at 375 px it wraps
// within the screen rather than scrolling sideways.
func assertStatusLines(t *testing.T, b *tab, pid, cid, shot string) {
	t.Helper()
	var chain struct {
		Messages []struct {
			Body   string
			Author struct{ Side string }
			Status *struct{ State, Text, Expected string }
		}
	}
	apiCall(t, "portal", "parent.rivera", "GET", "/portal/patients/"+url.PathEscape(pid)+"/conversations/"+url.PathEscape(cid), nil, &chain)
	type want struct{ Body, Line string }
	var wants []want
	for _, m := range chain.Messages {
		if m.Author.Side != "portal" {
			continue
		}
		if m.Status == nil || m.Status.Text == "" {
			t.Errorf("the API gives no status for the family's message %q", m.Body)
			continue
		}
		line := "✓ " + m.Status.Text
		if m.Status.Expected != "" {
			line += " · " + m.Status.Expected
		}
		wants = append(wants, want{m.Body, line})
	}
	for _, w := range wants {
		b.waitFor("the status line under "+w.Body, `(body, line) => [...document.querySelectorAll('.chain .msg.portal')].some((m) =>
			m.querySelector('.body')?.textContent === body && m.querySelector('.msg-status')?.textContent === line)`, w.Body, w.Line)
	}
	b.do(chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	defer b.do(chromedp.EmulateViewport(1280, 900))
	b.waitFor("the phone layout", `() => window.innerWidth === 375`)
	if over := js[int](b, `() => document.documentElement.scrollWidth - window.innerWidth`); over > 0 {
		b.fail("the conversation at 375 px scrolls sideways by %d px", over)
	}
	if bad := js[[]string](b, `() => [...document.querySelectorAll('.chain .msg-status')].filter((e) => {
		const r = e.getBoundingClientRect();
		return r.left < 0 || r.right > window.innerWidth || e.scrollWidth > e.clientWidth || getComputedStyle(e).visibility === 'hidden' || r.height === 0;
	}).map((e) => e.textContent)`); len(bad) > 0 {
		b.fail("status lines not readable at 375 px: %q", bad)
	}
	if len(wants) > 0 {
		b.shoot(shot)
	}
}

// TestOverdueBadge checks a conversation past its pool's response target
// says so in the inbox, in words, and one that is not does not.
func TestOverdueBadge(t *testing.T) {
	staff := newTab(t, "dr.patel")
	id, err := env.stack.Overdue(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	staff.signIn("staff", "dr.patel")
	staff.waitText("main h1", "Inbox")
	staff.waitFor("the Overdue badge on the overdue row only", `(id) => {
		const rows = [...document.querySelectorAll('#main a.conv')];
		const row = rows.find((a) => a.getAttribute('href').endsWith('/' + encodeURIComponent(id)));
		const flag = row?.querySelector('.flag.overdue');
		return flag && flag.textContent === 'Overdue' && flag.offsetParent !== null
			&& rows.filter((a) => a.querySelector('.flag.overdue')).length === 1;
	}`, id)
	staff.shoot("19-staff-inbox-overdue")
	staff.assertClean()
}
