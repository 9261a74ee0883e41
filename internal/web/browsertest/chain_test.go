package browsertest

import (
	"fmt"
	"net/url"
	"testing"
)

// chainPage is the pages' page size for a conversation's chain (CHAIN_PAGE
// in conversation.js).
const chainPage = 50

// TestLongChainPaging opens a conversation longer than one page in both
// apps and pages it with Load more. Only the API's first page carries the
// conversation header, so the pages must keep the header they have: the
// staff page draws read receipts and the details panel from it.
func TestLongChainPaging(t *testing.T) {
	// Set-up through the API: a staff-started conversation about Lily with
	// more than a page of messages, from both sides.
	subject := "Feeding plan check-ins " + runID
	pid, cid := longChain(t, subject, chainPage+6)
	bodies := make([]string, 0, chainPage+6)
	for i := 1; i <= chainPage+6; i++ {
		bodies = append(bodies, chainBody(i))
	}

	// checkChain waits until the chain shows want, in order, with no error
	// from Load more and its button gone when the chain is complete.
	checkChain := func(b *tab, want []string, complete bool) {
		t.Helper()
		b.waitFor(fmt.Sprintf("%d messages in the chain", len(want)), `(n) => document.querySelectorAll('.chain .msg').length === n`, len(want))
		got := js[[]string](b, `() => [...document.querySelectorAll('.chain .msg .body')].map((e) => e.textContent)`)
		for i := range want {
			if got[i] != want[i] {
				b.fail("message %d is %q, want %q", i, got[i], want[i])
			}
		}
		if msg := js[string](b, `() => [...document.querySelectorAll('main .alert')].map((e) => e.textContent.trim()).filter(Boolean).join(' | ')`); msg != "" {
			b.fail("an error is shown: %s", msg)
		}
		more := js[bool](b, `() => [...document.querySelectorAll('main button')].some((x) => x.textContent === 'Load more' && !x.hidden)`)
		if more == complete {
			b.fail("Load more shown = %v with the chain complete = %v", more, complete)
		}
	}

	// Staff: the first page, then the rest, with receipts on every staff
	// message and the details panel intact.
	staff := newTab(t, "desk.lee")
	staff.signIn("staff", "desk.lee")
	staff.waitText("main h1", "Inbox")
	staff.navigate(env.stack.Site() + "/staff/#/c/" + url.PathEscape(pid) + "/" + url.PathEscape(cid))
	staff.waitText("main h1", subject)
	checkChain(staff, bodies[:chainPage], false)
	staff.clickText("main button", "Load more")
	checkChain(staff, bodies, true)
	if bad := js[int](staff, `() => [...document.querySelectorAll('.chain .msg.staff')].filter((m) => !m.querySelector('.receipt')?.textContent).length`); bad != 0 {
		staff.fail("%d staff messages without a read receipt after Load more", bad)
	}
	// The header still works after paging: a reply appends and redraws it.
	reply := "Staff reply after paging " + runID
	staff.typeInto(staff.fieldByLabel("Reply"), reply)
	staff.clickText("main button", "Send reply")
	checkChain(staff, append(append([]string(nil), bodies...), reply), true)
	staff.waitFor("the new count in the panel", `(n) => [...document.querySelectorAll('.conv-meta dt')].some((dt) => dt.textContent === 'Messages' && dt.nextElementSibling.textContent === String(n))`, len(bodies)+1)
	staff.waitText("main h1", subject)
	staff.waitText(".chain .msg:last-child .receipt", "Not yet read by family")

	// Portal: the same chain, paged the same way, and a reply after it.
	all := append(append([]string(nil), bodies...), reply)
	parent := newTab(t, "parent.chen")
	parent.signIn("portal", "parent.chen")
	parent.waitText("main h1", "Messages about")
	parent.navigate(env.stack.Site() + "/portal/#/c/" + url.PathEscape(pid) + "/" + url.PathEscape(cid))
	parent.waitText("main h1", subject)
	checkChain(parent, all[:chainPage], false)
	parent.clickText("main button", "Load more")
	checkChain(parent, all, true)
	answer := "Parent reply after paging " + runID
	parent.typeInto(parent.fieldByLabel("Your reply"), answer)
	parent.clickText("main button", "Send reply")
	checkChain(parent, append(all, answer), true)

	staff.assertClean()
	parent.assertClean()
}

func chainBody(i int) string { return fmt.Sprintf("Chain message %02d", i) }

// longChain makes, through the API, a conversation about Lily Chen with n
// messages: staff ones, with every fourth from the parent. It returns the
// patient's and the conversation's IDs.
func longChain(t *testing.T, subject string, n int) (pid, cid string) {
	t.Helper()
	var found struct {
		Items []struct{ ID, DisplayName string }
	}
	apiCall(t, "staff", "desk.lee", "POST", "/staff/patients/search", map[string]string{"query": "Lily"}, &found)
	for _, p := range found.Items {
		if p.DisplayName == "Lily Chen" {
			pid = p.ID
		}
	}
	if pid == "" {
		t.Fatalf("Lily Chen not found: %+v", found.Items)
	}
	var patient struct {
		Links []struct{ PortalUserID string }
	}
	apiCall(t, "staff", "desk.lee", "GET", "/staff/patients/"+url.PathEscape(pid), nil, &patient)
	var pools struct{ Items []struct{ ID, Name string } }
	apiCall(t, "staff", "desk.lee", "GET", "/staff/pools", nil, &pools)
	if len(patient.Links) != 1 || len(pools.Items) == 0 {
		t.Fatalf("want one link and some pools: %+v %+v", patient, pools)
	}
	pool := pools.Items[0].ID
	for _, p := range pools.Items {
		if p.Name == "Nurse line" {
			pool = p.ID
		}
	}
	var created struct{ Conversation struct{ ID string } }
	apiCreate(t, "staff", "desk.lee", "/staff/patients/"+url.PathEscape(pid)+"/conversations", map[string]string{
		"portalUserId": patient.Links[0].PortalUserID, "poolId": pool, "subject": subject, "body": chainBody(1),
	}, &created)
	cid = created.Conversation.ID
	for i := 2; i <= n; i++ {
		side, user := "staff", "desk.lee"
		if i%4 == 0 {
			side, user = "portal", "parent.chen"
		}
		apiCreate(t, side, user, "/"+side+"/patients/"+url.PathEscape(pid)+"/conversations/"+url.PathEscape(cid)+"/messages",
			map[string]string{"body": chainBody(i)}, nil)
	}
	return pid, cid
}
