package browsertest

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/pedsportal/messaging/internal/seed"
)

// GIVEN a parent's new message about Mateo WHEN the nurse keeps a template
// of her own, picks it in the reply box, sees Mateo's first name resolved
// in the text, edits it and sends it THEN the family's chain holds exactly
// the edited text: the server resolved the variable, the person edited,
// and nothing was sent before Send.
func TestTemplateFlow(t *testing.T) {
	subject := "Cough at night " + runID
	var started struct {
		Conversation struct {
			ID string `json:"id"`
		} `json:"conversation"`
	}
	apiCreate(t, "portal", "parent.rivera", "/portal/patients/"+seed.Mateo+"/conversations",
		map[string]string{"poolId": seed.PoolNurse, "subject": subject, "body": "Mateo coughs a lot at night."}, &started)

	staff := newTab(t, "nurse.kim")
	staff.signIn("staff", "nurse.kim")
	staff.waitText("main h1", "Inbox")

	// My templates: create one.
	title := "Night cough " + runID
	staff.clickText("#nav a", "My templates")
	staff.waitText("main h1", "My templates")
	staff.typeInto(staff.fieldByLabel("Title"), title)
	staff.typeInto(staff.fieldByLabel("Text"), "Hi, thanks for writing about {childFirstName}. A humidifier at night often helps.")
	staff.clickText("main button", "Save template")
	staff.waitText(".template-list h3", title)

	// The reply box: pick it, insert, see the name resolved.
	staff.navigate(env.stack.Site() + "/staff/#/c/" + seed.Mateo + "/" + started.Conversation.ID)
	staff.waitText("main h1", subject)
	staff.choose(staff.fieldByLabel("Templates"), title)
	staff.clickText("main button", "Insert")
	reply := staff.fieldByLabel("Reply")
	staff.waitFor("the resolved template in the reply box", `(css) => document.querySelector(css).value === 'Hi, thanks for writing about Mateo. A humidifier at night often helps.'`, reply)
	if n := len(apiPosts(staff, "/messages")); n != 0 {
		staff.fail("inserting a template posted %d messages; it must only fill the box", n)
	}
	// Edit it as a person does, then send.
	js[bool](staff, `(css) => { const e = document.querySelector(css); e.focus(); e.setSelectionRange(e.value.length, e.value.length); return true; }`, reply)
	staff.do(chromedp.SendKeys(chromedp.CSS(reply), " Call us if he has trouble breathing."))
	staff.clickText("main button", "Send reply")
	want := "Hi, thanks for writing about Mateo. A humidifier at night often helps. Call us if he has trouble breathing."
	staff.waitFor("the edited reply in the chain", `(w) => [...document.querySelectorAll('.chain .msg .body')].some((b) => b.textContent === w)`, want)

	// The practice's own template is offered too, for the same patient.
	staff.waitFor("the practice template in the picker", `(css) => [...document.querySelector(css).options].some((o) => o.textContent === 'Office hours and nurse line')`, staff.fieldByLabel("Templates"))
	staff.assertClean()
}

// apiPosts lists the tab's POSTs to the API whose path ends with suffix.
func apiPosts(b *tab, suffix string) []string {
	var out []string
	for _, r := range b.apiRequests() {
		if r.Method == "POST" && strings.HasSuffix(r.URL, suffix) {
			out = append(out, r.URL)
		}
	}
	return out
}
