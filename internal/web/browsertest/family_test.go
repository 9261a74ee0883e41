package browsertest

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// openChart signs in as username and opens a patient's staff view from
// patient search.
func (b *tab) openChart(username, query, patient string) {
	b.t.Helper()
	b.signIn("staff", username)
	b.waitText("main h1", "Inbox")
	b.clickText("#nav a", "Patients")
	b.typeInto("#patient-q", query)
	b.clickText("main button", "Search")
	b.clickWithin(".results .result", patient, "a")
	b.waitText("main h1", patient)
	b.waitText("main h2", "Family with portal access")
}

// An admin links a family member from the patient's page: finds portal
// users by name and by e-mail address, links one as guardian, sees the
// link in the patient's family list (also after a reload, so it is the
// server's), and unlinks it after confirming.
func TestAdminLinksAndUnlinksAFamilyMember(t *testing.T) {
	admin := newTab(t, "admin.garcia")
	admin.openChart("admin.garcia", "lil", "Lily Chen")
	admin.waitText("main ul.family > li", "Wei Chen (parent)")

	// By name: both Riveras, addresses masked, their links counted.
	admin.typeInto("#portal-user-q", "rivera")
	admin.clickText("main button", "Find portal user")
	admin.waitFor("Ana and Luis Rivera, masked", `() => {
		const rows = [...document.querySelectorAll('#portal-user-results .result')].map((r) => r.textContent);
		return rows.length === 2 && rows.some((r) => r.includes('Ana Rivera') && r.includes('a•••@example.com') && r.includes('Linked to 2 other patients'))
			&& rows.some((r) => r.includes('Luis Rivera') && r.includes('l•••@example.com') && r.includes('Linked to 1 other patient'))
			&& !document.body.textContent.includes('ana.rivera@example.com');
	}`)
	admin.shoot("30-staff-link-search")

	// By e-mail address: Luis only. Link him as guardian.
	admin.typeInto("#portal-user-q", "luis.rivera@example.com")
	admin.clickText("main button", "Find portal user")
	admin.waitFor("Luis alone", `() => { const r = document.querySelectorAll('#portal-user-results .result'); return r.length === 1 && r[0].textContent.includes('Luis Rivera'); }`)
	admin.choose(admin.fieldByLabel("Relationship of Luis Rivera"), "Guardian")
	admin.clickText("#portal-user-results button", "Link")
	admin.waitText("main ul.family > li", "Luis Rivera (guardian)")
	admin.waitText("#portal-user-results .result", "Linked to this patient as guardian")
	admin.waitFor("the keyboard still on the result's button", `() => document.activeElement?.closest('#portal-user-results .result') !== null`)
	admin.shoot("31-staff-linked")

	admin.do(chromedp.Reload())
	admin.waitText("main ul.family > li", "Luis Rivera (guardian)")

	// Unlink asks first; Cancel keeps the link.
	admin.clickWithin("main ul.family > li", "Luis Rivera", "button")
	admin.waitText("main .confirm", "Remove Luis Rivera’s portal access to Lily Chen?")
	admin.clickText("main .confirm button", "Cancel")
	admin.waitFor("the question gone, the link kept", `() => !document.querySelector('main .confirm') && [...document.querySelectorAll('main ul.family > li')].some((li) => li.textContent.includes('Luis Rivera'))`)
	admin.clickWithin("main ul.family > li", "Luis Rivera", "button")
	admin.clickText("main .confirm button", "Remove access")
	admin.waitFor("Luis unlinked, Wei kept", `() => {
		const rows = [...document.querySelectorAll('main ul.family > li')].map((li) => li.textContent);
		return rows.length === 1 && rows[0].startsWith('Wei Chen (parent)');
	}`)
	admin.do(chromedp.Reload())
	admin.waitText("main h2", "Family with portal access")
	admin.waitFor("still unlinked after a reload", `() => !document.querySelector('main .loading') && document.querySelectorAll('main ul.family > li').length === 1`)
	admin.assertClean()
}

// Staff who are not admins see the family list but no control to change it.
func TestNonAdminSeesNoLinkControls(t *testing.T) {
	nurse := newTab(t, "nurse.kim")
	nurse.openChart("nurse.kim", "riv mat", "Mateo Rivera")
	nurse.waitText("main ul.family > li", "Ana Rivera (parent)")
	if n := js[int](nurse, `() => document.querySelectorAll('#portal-user-q, .link-form, main ul.family button, main .confirm').length`); n != 0 {
		nurse.fail("a nurse sees %d link controls", n)
	}
	nurse.assertClean()
}
