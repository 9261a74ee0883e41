package notify

import (
	"bytes"
	htmltemplate "html/template"
	"reflect"
	"strings"
	"testing"
	texttemplate "text/template"
)

// The templates the notifications were rendered with until plain Go
// replaced them (templates.go says why). They stay here, where they cost
// the bootstrap nothing, as the reference the rendering must match byte
// for byte.
var (
	oldFamilySubject = texttemplate.Must(texttemplate.New("family.subject").Parse(
		`New message from {{.Practice}}`))

	oldFamilyText = texttemplate.Must(texttemplate.New("family.txt").Parse(
		`You have a new message from {{.Practice}} in the patient portal.

Sign in to read it:
{{.Link}}

For your privacy, this e-mail does not contain the message.

Do not reply to this e-mail: replies are not read. In an emergency, call 911.

To stop these e-mails or choose text messages instead, sign in and open Notifications: {{.Settings}}
Your e-mail app's Unsubscribe button also stops them at once, without signing in.
`))

	oldFamilyHTML = htmltemplate.Must(htmltemplate.New("family.html").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>New message from {{.Practice}}</title></head>
<body style="margin:0;padding:16px;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;font-size:16px;line-height:1.5;color:#1b1b1b;background:#ffffff">
<div style="max-width:560px;margin:0 auto">
<p>You have a new message from {{.Practice}} in the patient portal.</p>
<p><a href="{{.Link}}" style="display:inline-block;padding:12px 20px;background:#1d5fa8;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600">Sign in to read it</a></p>
<p>For your privacy, this e-mail does not contain the message.</p>
<p><strong>Do not reply to this e-mail:</strong> replies are not read. In an emergency, call 911.</p>
<p style="font-size:14px;color:#4a4a4a">To stop these e-mails or choose text messages instead, sign in and open <a href="{{.Settings}}" style="color:#4a4a4a">Notifications</a>. Your e-mail app's Unsubscribe button also stops them at once, without signing in.</p>
</div>
</body>
</html>
`))

	oldFamilySMS = texttemplate.Must(texttemplate.New("family.sms").Parse(
		`{{.Practice}}: you have a new message in the patient portal. Sign in to read it: {{.Link}} Reply STOP to opt out.`))

	oldStaffSubject = texttemplate.Must(texttemplate.New("staff.subject").Parse(
		`{{if .Overdue}}Past the response target in the {{.Practice}} inbox{{else}}New messages in the {{.Practice}} inbox{{end}}`))

	oldStaffText = texttemplate.Must(texttemplate.New("staff.txt").Parse(
		`{{if .Overdue}}Past the response target in the {{.Practice}} inbox: {{.Count}} {{if eq .Count 1}}conversation waits{{else}}conversations wait{{end}} longer than the pool promises families.{{else}}New messages are waiting in the {{.Practice}} inbox: {{.Count}} {{if eq .Count 1}}conversation{{else}}conversations{{end}}.{{end}}

Open the inbox:
{{.Link}}

This e-mail does not contain the messages. Do not reply to it.
`))

	oldStaffHTML = htmltemplate.Must(htmltemplate.New("staff.html").Parse(`<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{{if .Overdue}}Past the response target{{else}}New messages{{end}} in the {{.Practice}} inbox</title></head>
<body style="margin:0;padding:16px;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;font-size:16px;line-height:1.5;color:#1b1b1b;background:#ffffff">
<div style="max-width:560px;margin:0 auto">
<p>{{if .Overdue}}Past the response target in the {{.Practice}} inbox: {{.Count}} {{if eq .Count 1}}conversation waits{{else}}conversations wait{{end}} longer than the pool promises families.{{else}}New messages are waiting in the {{.Practice}} inbox: {{.Count}} {{if eq .Count 1}}conversation{{else}}conversations{{end}}.{{end}}</p>
<p><a href="{{.Link}}" style="display:inline-block;padding:12px 20px;background:#1d5fa8;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600">Open the inbox</a></p>
<p>This e-mail does not contain the messages. Do not reply to it.</p>
</div>
</body>
</html>
`))
)

func oldRender(t testing.TB, v view) (family Email, sms string, staff Email) {
	t.Helper()
	run := func(exec func(*bytes.Buffer) error) string {
		var b bytes.Buffer
		if err := exec(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	text := func(tm *texttemplate.Template) string {
		return run(func(b *bytes.Buffer) error { return tm.Execute(b, v) })
	}
	html := func(tm *htmltemplate.Template) string {
		return run(func(b *bytes.Buffer) error { return tm.Execute(b, v) })
	}
	family = Email{Subject: text(oldFamilySubject), Text: text(oldFamilyText), HTML: html(oldFamilyHTML), Unsubscribe: v.Unsubscribe}
	staff = Email{Subject: text(oldStaffSubject), Text: text(oldStaffText), HTML: html(oldStaffHTML)}
	return family, text(oldFamilySMS), staff
}

// compareRendering renders v both ways; the names that go through
// displayName in production are passed raw too, so the escaping is
// proved on characters displayName would have removed (NUL, invalid
// UTF-8) as well.
func compareRendering(t testing.TB, v view) {
	t.Helper()
	wantFamily, wantSMS, wantStaff := oldRender(t, v)
	family, err := v.family()
	if err != nil {
		t.Fatalf("family(%+v): %v", v, err)
	}
	sms, err := v.sms()
	if err != nil {
		t.Fatalf("sms(%+v): %v", v, err)
	}
	staff, err := v.staff()
	if err != nil {
		t.Fatalf("staff(%+v): %v", v, err)
	}
	for _, c := range []struct{ part, got, want string }{
		{"family subject", family.Subject, wantFamily.Subject},
		{"family text", family.Text, wantFamily.Text},
		{"family html", family.HTML, wantFamily.HTML},
		{"family unsubscribe", family.Unsubscribe, wantFamily.Unsubscribe},
		{"sms", sms, wantSMS},
		{"staff subject", staff.Subject, wantStaff.Subject},
		{"staff text", staff.Text, wantStaff.Text},
		{"staff html", staff.HTML, wantStaff.HTML},
	} {
		if c.got != c.want {
			t.Errorf("%s for %+v differs from the template's:\n got %q\nwant %q", c.part, v, c.got, c.want)
		}
	}
}

var (
	hostileNames = []string{
		"Maple Grove Pediatrics",
		"",
		"<script>alert(1)</script>",
		`Dr. "Bob" O'Brien & Sons`,
		"A+B Kids' Care <Main St>",
		"&amp; already &#39;escaped&#39;",
		"Pédiatrie Érable — 小児科 🧸",
		"tab\there\r\nBcc: x@example.com\u202e\u200b",
		"nul\x00byte",
		"bad utf-8 \xff\xfe and \xc3",
		"replacement \uFFFD noncharacters \uFDD0 \uFFFE \uFFFF",
		"</title><img src=x onerror=alert(1)>",
		"]]><!-- {{.Link}} -->",
	}
	testLinks = []string{
		"https://care.maplegrove.example/portal/#/c/pt-1/c-1",
		"https://care.maplegrove.example/portal/?a=1&b=2+3#/c/p%2Fq/c%23d",
		"https://a.example/with space/and\"quote'/<angle>",
		"https://a.example/épée/小児科?q=ü#frag",
		"http://127.0.0.1:8081/portal/#/c/pt-1/c-1",
		"HTTPS://A.EXAMPLE/UPPER",
		"https://a.example/(parens)!$*,;=@[]~_.-",
		"https://a.example/%zz%4%41%e2%82%ac%",
		"https://a.example/\x00\x7f\xff\ttab\nnewline",
		"https://a.example/&amp;&#39;+",
	}
	testCounts = []int{0, 1, 2, 7, 1000, -1}
)

func TestRenderingMatchesTheTemplates(t *testing.T) {
	n := 0
	for _, name := range hostileNames {
		for i, link := range testLinks {
			settings := testLinks[(i+1)%len(testLinks)]
			for _, count := range testCounts {
				for _, overdue := range []bool{false, true} {
					unsub := "https://api.example/u?x=1&y=" + name
					compareRendering(t, view{Practice: displayName(name), Link: link, Settings: settings, Unsubscribe: unsub, Count: count, Overdue: overdue})
					compareRendering(t, view{Practice: name, Link: link, Settings: settings, Unsubscribe: unsub, Count: count, Overdue: overdue})
					n += 2
				}
			}
		}
	}
	if n != len(hostileNames)*len(testLinks)*len(testCounts)*4 {
		t.Fatalf("compared %d", n)
	}
}

// The public functions render what the views above do, after displayName.
func TestPublicFunctionsRenderTheView(t *testing.T) {
	name, link, settings, unsub := "Dr. \"Bob\" <O'Brien>\r\n", testLinks[2], testLinks[3], "https://api.example/u"
	wantFamily, wantSMS, wantStaff := oldRender(t, view{Practice: displayName(name), Link: link, Settings: settings, Unsubscribe: unsub, Count: 2, Overdue: true})
	if e, err := FamilyEmail(name, link, settings, unsub); err != nil || !reflect.DeepEqual(e, wantFamily) {
		t.Errorf("FamilyEmail = %+v, %v; want %+v", e, err, wantFamily)
	}
	if s, err := FamilyText(name, link); err != nil || s != wantSMS {
		t.Errorf("FamilyText = %q, %v; want %q", s, err, wantSMS)
	}
	if e, err := StaffEmail(name, link, 2, true); err != nil || !reflect.DeepEqual(e, wantStaff) {
		t.Errorf("StaffEmail = %+v, %v; want %+v", e, err, wantStaff)
	}
}

// html/template put "#ZgotmplZ" in place of an unsafe link and sent the
// e-mail anyway; the rendering refuses any link that is not absolute
// http(s), in every part, so no caller can slip one through.
func TestRenderingRefusesNonHTTPLinks(t *testing.T) {
	good := testLinks[0]
	for _, bad := range []string{
		"", "javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,<script>alert(1)</script>",
		"vbscript:msgbox", "mailto:a@example.com", "/portal/#/c/p/c", "//evil.example/", "https:/one-slash", "ftp://a.example/",
		"httpx://a.example/", "java\x00script:alert(1)",
	} {
		v := view{Practice: "P", Link: bad, Settings: good}
		if _, err := v.family(); err == nil {
			t.Errorf("family accepted link %q", bad)
		}
		if _, err := (view{Practice: "P", Link: good, Settings: bad}).family(); err == nil {
			t.Errorf("family accepted settings %q", bad)
		}
		if _, err := v.sms(); err == nil {
			t.Errorf("sms accepted link %q", bad)
		}
		if _, err := v.staff(); err == nil {
			t.Errorf("staff accepted link %q", bad)
		}
		if _, err := FamilyEmail("P", bad, good, good); err == nil {
			t.Errorf("FamilyEmail accepted link %q", bad)
		}
		if _, err := FamilyText("P", bad); err == nil {
			t.Errorf("FamilyText accepted link %q", bad)
		}
		if _, err := StaffEmail("P", bad, 1, false); err == nil {
			t.Errorf("StaffEmail accepted link %q", bad)
		}
	}
}

// FuzzRenderingMatchesTheTemplates extends the table above to any name,
// link and count (go test -fuzz=FuzzRendering ./internal/notify/); the
// table's rows are its seeds.
func FuzzRenderingMatchesTheTemplates(f *testing.F) {
	for i, name := range hostileNames {
		f.Add(name, testLinks[i%len(testLinks)], testCounts[i%len(testCounts)], i%2 == 0)
	}
	f.Fuzz(func(t *testing.T, name, link string, count int, overdue bool) {
		if !strings.HasPrefix(strings.ToLower(link), "https://") && !strings.HasPrefix(strings.ToLower(link), "http://") {
			link = "https://" + link
		}
		compareRendering(t, view{Practice: name, Link: link, Settings: link, Count: count, Overdue: overdue})
	})
}
