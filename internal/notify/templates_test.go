package notify_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/notify"
	"github.com/pedsportal/messaging/internal/seed"
)

// Subjects and bodies as the demo data writes them (the seed does not
// export its conversations), and the words in them that would give a
// condition away.
var sampleSubjects = []string{
	"Rash after starting amoxicillin",
	"Follow-up on ear infection",
	"School physical form",
	"Question about last statement",
	"Flu vaccine clinic reminder",
}

var sampleBodies = []string{
	"Mateo started amoxicillin on Monday and now has a red, blotchy rash on his chest. No fever, no trouble breathing. Should we stop the medicine?",
	"Sofia finished her antibiotics yesterday. She still tugs at her left ear at night. Does she need a recheck?",
	"Thanks for the update. Some ear tugging can last a few days. If it continues past Friday or she gets a fever, please book a recheck.",
	"Can you fill out Mateo's school physical form? I uploaded it at the front desk.",
	"Done: the signed form is ready for pickup at the front desk.",
	"The statement from the last visit shows a balance, but I thought the visit was covered. Can you check?",
	"Hi! Lily is due for her flu vaccine. We have walk-in clinic hours Saturday 9–12. Reply here if you have any questions.",
}

var clinicalWords = []string{
	"amoxicillin", "rash", "fever", "ear", "infection", "antibiotics", "antibiotic", "vaccine", "flu",
	"physical", "statement", "balance", "medicine", "breathing", "recheck", "clinic",
}

// forbidden lists what no notification may contain: the demo data's
// patient names (whole, first and last), birth dates in the usual
// spellings, the portal users' and staff's names, every pool's name, and
// the subjects, bodies and clinical words above.
func forbidden(t *testing.T) []string {
	t.Helper()
	f := seed.DirectoryFile()
	var out []string
	out = append(out, sampleSubjects...)
	out = append(out, sampleBodies...)
	out = append(out, clinicalWords...)
	for _, p := range f.Patients {
		out = append(out, p.DisplayName, p.DateOfBirth)
		out = append(out, strings.Fields(p.DisplayName)...)
		dob, err := time.Parse("2006-01-02", p.DateOfBirth)
		if err != nil {
			t.Fatalf("seed DOB %q: %v", p.DateOfBirth, err)
		}
		out = append(out, dob.Format("01/02/2006"), dob.Format("1/2/2006"), dob.Format("January 2, 2006"), dob.Format("Jan 2, 2006"), dob.Format("2 January 2006"))
	}
	for _, u := range f.PortalUsers {
		out = append(out, u.DisplayName)
		out = append(out, strings.Fields(u.DisplayName)...)
	}
	for _, s := range f.Staff {
		out = append(out, strings.TrimSuffix(s.DisplayName, ", RN"))
	}
	for _, p := range f.Pools {
		out = append(out, p.Name)
	}
	out = append(out, "Nurse line", "Billing") // named by the brief, whatever the seed says
	return out
}

func TestTemplatesCarryNoPHI(t *testing.T) {
	dir := seed.DirectoryFile()
	pr := dir.Practice
	pr.PortalURL = "https://care.maplegrove.example/portal/"
	convs := []string{seed.ConvRash, seed.ConvEar, seed.ConvSchoolForm, seed.ConvBilling, seed.ConvFluClinic}
	unsub := "https://api.maplegrove.example/unsubscribe?u=" + seed.ParentRivera + "&sig=AbC123"

	type rendered struct{ name, text string }
	var all []rendered
	for _, p := range dir.Patients {
		for _, c := range convs {
			link, err := notify.FamilyLink(pr, p.ID, c)
			if err != nil {
				t.Fatal(err)
			}
			e, err := notify.FamilyEmail(pr.Name, link, "https://care.maplegrove.example/portal/#/notifications", unsub)
			if err != nil {
				t.Fatal(err)
			}
			sms, err := notify.FamilyText(pr.Name, link)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all,
				rendered{"family subject " + p.ID, e.Subject},
				rendered{"family text " + p.ID + " " + c, e.Text},
				rendered{"family html " + p.ID + " " + c, e.HTML},
				rendered{"family sms " + p.ID + " " + c, sms})
		}
	}
	staffLink, err := notify.StaffLink(pr)
	if err != nil {
		t.Fatal(err)
	}
	for _, overdue := range []bool{false, true} {
		for _, n := range []int{1, 3} {
			e, err := notify.StaffEmail(pr.Name, staffLink, n, overdue)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, rendered{"staff subject", e.Subject}, rendered{"staff text", e.Text}, rendered{"staff html", e.HTML})
		}
	}
	if len(all) != len(dir.Patients)*len(convs)*4+12 {
		t.Fatalf("rendered %d", len(all))
	}

	var res []*regexp.Regexp
	for _, w := range forbidden(t) {
		res = append(res, regexp.MustCompile(`(?i)(^|[^\pL\pN])`+regexp.QuoteMeta(w)+`($|[^\pL\pN])`))
	}
	for _, r := range all {
		if strings.TrimSpace(r.text) == "" {
			t.Errorf("%s: empty", r.name)
		}
		if !strings.Contains(r.text, "Maple Grove Pediatrics") {
			t.Errorf("%s: does not name the practice:\n%s", r.name, r.text)
		}
		for _, re := range res {
			if m := re.FindString(r.text); m != "" {
				t.Errorf("%s contains %q:\n%s", r.name, m, r.text)
			}
		}
	}
}

func TestTemplatesSayWhatTheyMust(t *testing.T) {
	link := "https://care.maplegrove.example/portal/#/c/" + seed.Mateo + "/" + seed.ConvRash
	unsub := "https://api.maplegrove.example/u?x=1&y=2"
	settings := "https://care.maplegrove.example/portal/#/notifications"
	e, err := notify.FamilyEmail("Maple Grove Pediatrics", link, settings, unsub)
	if err != nil {
		t.Fatal(err)
	}
	if e.Subject != "New message from Maple Grove Pediatrics" || e.Unsubscribe != unsub {
		t.Errorf("subject %q unsubscribe %q", e.Subject, e.Unsubscribe)
	}
	for _, must := range []string{"Sign in to read it", "911", "Do not reply", link} {
		if !strings.Contains(e.Text, must) || !strings.Contains(e.HTML, must) {
			t.Errorf("family e-mail lacks %q", must)
		}
	}
	// A person's click goes to the settings page; the one-click URL, which
	// answers POST only, is for the List-Unsubscribe header alone.
	if !strings.Contains(e.Text, settings) || !strings.Contains(e.HTML, `href="`+settings+`"`) {
		t.Errorf("settings link missing:\n%s\n%s", e.Text, e.HTML)
	}
	if strings.Contains(e.Text, unsub) || strings.Contains(e.HTML, "api.maplegrove.example/u") {
		t.Errorf("the body links the POST-only unsubscribe URL:\n%s\n%s", e.Text, e.HTML)
	}
	sms, _ := notify.FamilyText("Maple Grove Pediatrics", link)
	if !strings.HasPrefix(sms, "Maple Grove Pediatrics: ") || !strings.Contains(sms, link) || !strings.Contains(sms, "Reply STOP to opt out") || strings.Contains(sms, "\n") {
		t.Errorf("sms %q", sms)
	}
	if len([]rune(sms)) > 320 { // two concatenated segments at most
		t.Errorf("sms is %d characters", len([]rune(sms)))
	}
	d, _ := notify.StaffEmail("Maple Grove Pediatrics", "https://x.example/staff/#/inbox", 1, false)
	if !strings.Contains(d.Text, "1 conversation.") || d.Unsubscribe != "" {
		t.Errorf("digest %q", d.Text)
	}
}

func TestPracticeNameCannotInjectHeaders(t *testing.T) {
	e, err := notify.FamilyEmail("Maple Grove\r\nBcc: x@example.com\u202e", "https://a.example/portal/#/c/p/c", "https://a.example/portal/#/notifications", "https://a.example/u")
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(e.Subject, "\r\n\u202e") || e.Subject != "New message from Maple Grove Bcc: x@example.com" {
		t.Errorf("subject %q", e.Subject)
	}
	if e, _ := notify.FamilyEmail("  ", "https://a.example/", "https://a.example/#/notifications", "https://a.example/u"); e.Subject != "New message from your care team" {
		t.Errorf("empty name subject %q", e.Subject)
	}
}

func TestLinks(t *testing.T) {
	for _, tc := range []struct {
		portal, family, staff string
	}{
		{"https://care.maplegrove.example/portal/", "https://care.maplegrove.example/portal/#/c/pt-1/c-1", "https://care.maplegrove.example/staff/#/inbox"},
		{"https://care.maplegrove.example/portal", "https://care.maplegrove.example/portal#/c/pt-1/c-1", "https://care.maplegrove.example/staff/#/inbox"},
		{"https://care.maplegrove.example/mg/portal/?x=1#/old", "https://care.maplegrove.example/mg/portal/#/c/pt-1/c-1", "https://care.maplegrove.example/mg/staff/#/inbox"},
		{"https://portal.maplegrove.example", "https://portal.maplegrove.example/#/c/pt-1/c-1", "https://portal.maplegrove.example/staff/#/inbox"},
		{"https://portal.maplegrove.example/signin", "https://portal.maplegrove.example/signin#/c/pt-1/c-1", "https://portal.maplegrove.example/staff/#/inbox"},
		{"http://127.0.0.1:8081/portal/", "http://127.0.0.1:8081/portal/#/c/pt-1/c-1", "http://127.0.0.1:8081/staff/#/inbox"},
		{"http://localhost:8081/portal/", "http://localhost:8081/portal/#/c/pt-1/c-1", "http://localhost:8081/staff/#/inbox"},
	} {
		p := domain.Practice{ID: "p", PortalURL: tc.portal}
		fam, err := notify.FamilyLink(p, "pt-1", "c-1")
		if err != nil || fam != tc.family {
			t.Errorf("FamilyLink(%q) = %q, %v; want %q", tc.portal, fam, err, tc.family)
		}
		st, err := notify.StaffLink(p)
		if err != nil || st != tc.staff {
			t.Errorf("StaffLink(%q) = %q, %v; want %q", tc.portal, st, err, tc.staff)
		}
	}
	if l, _ := notify.FamilyLink(domain.Practice{PortalURL: "https://a.example/portal/"}, "a/b", "c#d"); l != "https://a.example/portal/#/c/a%2Fb/c%23d" {
		t.Errorf("escaping: %q", l)
	}
	for _, bad := range []string{"", "/portal/", "http://care.maplegrove.example/portal/", "javascript:alert(1)", "https://user:pw@a.example/", "ftp://a.example/"} {
		if _, err := notify.FamilyLink(domain.Practice{ID: "p", PortalURL: bad}, "pt", "c"); err == nil {
			t.Errorf("FamilyLink accepted portal URL %q", bad)
		}
	}
}
