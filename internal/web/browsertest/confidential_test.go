package browsertest

import (
	"testing"
)

// Noah, 14, on his phone: Write Message offers "Only my care team sees
// this" with a plain explanation, for the doctor and the nurse line but
// not billing; what he sends is marked as his and his care team's. His
// mother, on her phone, does not see it. Dr. Patel sees the audience on
// the inbox and the conversation, with Noah as its author.
func TestTeenWritesOnlyToTheCareTeam(t *testing.T) {
	teen := newTab(t, "teen.noah")
	teen.phone()
	teen.signIn("portal", "teen.noah")
	teen.waitText("main h1", "Messages about Noah Okafor")
	teen.clickText("main a.btn", "Write Message")
	teen.waitText("main h1", "Write Message")
	teen.choose(teen.fieldByLabel("To"), "Billing")
	teen.waitFor("the choice off for billing", `() => {
		const c = document.querySelector('.care-team-choice input');
		return c && c.disabled && !c.checked && document.querySelector('.care-team-choice').textContent.includes('does not take conversations only the care team sees');
	}`)
	teen.choose(teen.fieldByLabel("To"), "Dr. Patel")
	teen.waitText(".care-team-choice .hint", "Your parents or guardians will not see this conversation or be told about it.")
	teen.clickText(".care-team-choice label", "Only my care team sees this")
	teen.shoot("60-teen-write-care-team-only")
	teen.typeInto(teen.fieldByLabel("Subject"), "Just for Dr. Patel")
	teen.typeInto(teen.fieldByLabel("Message"), "Can we talk about my sleep at my next visit?")
	teen.clickText("main button", "Send message")
	teen.waitText("main p.muted", "Only you and your care team see this")
	teen.waitText("main .msg .role", "Patient")
	teen.shoot("61-teen-private-conversation")
	teen.clickText("main a", "All messages")
	teen.waitFor("the badge on his list", `() => [...document.querySelectorAll('main .portal-conv')].some((li) => li.textContent.includes('Just for Dr. Patel') && li.textContent.includes('Only you and your care team'))`)
	teen.assertClean()

	mom := newTab(t, "parent.okafor")
	mom.phone()
	mom.signIn("portal", "parent.okafor")
	mom.waitText("main h1", "Messages about Noah Okafor")
	mom.waitText("main .portal-conv", "Sports physical for soccer")
	mom.waitFor("no confidential conversation in her list", `() => !document.querySelector('main .loading') && document.querySelectorAll('main .portal-conv').length > 0
		&& ![...document.querySelectorAll('main .portal-conv')].some((li) => /Just for Dr. Patel|Question for Dr. Patel|care team/.test(li.textContent))`)
	mom.clickText("main a.btn", "Write Message")
	mom.waitText("main h1", "Write Message")
	if n := js[int](mom, `() => document.querySelectorAll('.care-team-choice').length`); n != 0 {
		mom.fail("a guardian is offered the care-team-only choice")
	}
	mom.assertClean()

	dr := newTab(t, "dr.patel")
	dr.signIn("staff", "dr.patel")
	dr.waitText("main h1", "Inbox")
	dr.waitFor("the badge in the inbox", `() => [...document.querySelectorAll('main a.conv')].some((a) => a.textContent.includes('Just for Dr. Patel') && a.textContent.includes('Confidential: patient and care team only'))`)
	dr.clickText("main a.conv", "Just for Dr. Patel")
	dr.waitText("#conv-audience", "The patient and the care team only (confidential)")
	dr.waitText("main .msg .role", "Patient")
	dr.waitText("main .audience-form button", "Share with the family")
	dr.shoot("62-staff-confidential-conversation")
	dr.assertClean()
}

// The front desk moves Noah's mother's sports-form conversation to the
// care team only, with a reason; the history says so, and the family's
// view loses it.
func TestStaffMakeAConversationConfidential(t *testing.T) {
	desk := newTab(t, "desk.lee")
	desk.openChart("desk.lee", "noah", "Noah Okafor")
	desk.clickText("main a.conv", "Sports physical for soccer")
	desk.waitText("#conv-audience", "The family: every linked portal user")
	desk.typeInto(desk.fieldByLabel("Why only the care team"), "Noah asked to keep this between him and the office.")
	desk.clickText("main .audience-form button", "Make confidential")
	desk.waitText("#conv-audience", "The patient and the care team only (confidential)")
	desk.waitText("main .entry", "made it confidential (patient and care team only): Noah asked to keep this between him and the office.")
	desk.waitText("main .side-panel", "Only a doctor or a nurse can share this conversation with the family.")
	desk.shoot("63-staff-made-confidential")
	desk.assertClean()

	mom := newTab(t, "parent.okafor")
	mom.signIn("portal", "parent.okafor")
	mom.waitText("main h1", "Messages about Noah Okafor")
	mom.waitFor("the moved conversation gone from her list", `() => !document.querySelector('main .loading') && ![...document.querySelectorAll('main .portal-conv')].some((li) => li.textContent.includes('Sports physical'))`)
	mom.assertClean()
}
