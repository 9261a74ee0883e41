package notify

import (
	"bytes"
	htmltemplate "html/template"
	"net"
	"net/url"
	"strings"
	"sync"
	texttemplate "text/template"
	"unicode"

	"github.com/pedsportal/messaging/internal/domain"
)

// The templates carry no PHI by construction: their only data is view,
// which holds the practice's name, a link and a count. A link names
// nothing but opaque IDs (patient and conversation, which already travel
// in the portal's URLs and in logs), never a name, subject, pool or date.
type view struct {
	Practice    string // the practice's name
	Link        string // where to sign in: the portal deep link, or the staff inbox
	Unsubscribe string // family e-mail only: the one-click URL, for the List-Unsubscribe header
	Settings    string // family e-mail only: the portal's Notifications page, for people
	Count       int    // staff digest: conversations with new messages
	Overdue     bool   // staff alert: conversations past their response target
}

// The templates are parsed on first use, so that a function that never
// sends (every one but the flusher) neither links html/template nor pays
// for parsing at cold start.
var (
	familySubject = sync.OnceValue(func() *texttemplate.Template {
		return texttemplate.Must(texttemplate.New("family.subject").Parse(
			`New message from {{.Practice}}`))
	})

	familyText = sync.OnceValue(func() *texttemplate.Template {
		return texttemplate.Must(texttemplate.New("family.txt").Parse(
			`You have a new message from {{.Practice}} in the patient portal.

Sign in to read it:
{{.Link}}

For your privacy, this e-mail does not contain the message.

Do not reply to this e-mail: replies are not read. In an emergency, call 911.

To stop these e-mails or choose text messages instead, sign in and open Notifications: {{.Settings}}
Your e-mail app's Unsubscribe button also stops them at once, without signing in.
`))
	})

	familyHTML = sync.OnceValue(func() *htmltemplate.Template {
		return htmltemplate.Must(htmltemplate.New("family.html").Parse(`<!DOCTYPE html>
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
	})

	familySMS = sync.OnceValue(func() *texttemplate.Template {
		return texttemplate.Must(texttemplate.New("family.sms").Parse(
			`{{.Practice}}: you have a new message in the patient portal. Sign in to read it: {{.Link}} Reply STOP to opt out.`))
	})

	staffSubject = sync.OnceValue(func() *texttemplate.Template {
		return texttemplate.Must(texttemplate.New("staff.subject").Parse(
			`{{if .Overdue}}Past the response target in the {{.Practice}} inbox{{else}}New messages in the {{.Practice}} inbox{{end}}`))
	})

	staffText = sync.OnceValue(func() *texttemplate.Template {
		return texttemplate.Must(texttemplate.New("staff.txt").Parse(
			`{{if .Overdue}}Past the response target in the {{.Practice}} inbox: {{.Count}} {{if eq .Count 1}}conversation waits{{else}}conversations wait{{end}} longer than the pool promises families.{{else}}New messages are waiting in the {{.Practice}} inbox: {{.Count}} {{if eq .Count 1}}conversation{{else}}conversations{{end}}.{{end}}

Open the inbox:
{{.Link}}

This e-mail does not contain the messages. Do not reply to it.
`))
	})

	staffHTML = sync.OnceValue(func() *htmltemplate.Template {
		return htmltemplate.Must(htmltemplate.New("staff.html").Parse(`<!DOCTYPE html>
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
	})
)

func execText(t *texttemplate.Template, v view) (string, error) {
	var b bytes.Buffer
	err := t.Execute(&b, v)
	return b.String(), err
}

func execHTML(t *htmltemplate.Template, v view) (string, error) {
	var b bytes.Buffer
	err := t.Execute(&b, v)
	return b.String(), err
}

// FamilyEmail renders the e-mail to a portal user (To is left empty):
// link opens the conversation after sign-in, settings the portal's
// Notifications page, and unsubscribe is the one-click URL (RFC 8058) the
// List-Unsubscribe header carries. That URL answers POST only: a person's
// click in the body goes to settings instead.
func FamilyEmail(practiceName, link, settings, unsubscribe string) (Email, error) {
	v := view{Practice: displayName(practiceName), Link: link, Settings: settings, Unsubscribe: unsubscribe}
	var e Email
	var err error
	if e.Subject, err = execText(familySubject(), v); err != nil {
		return Email{}, err
	}
	if e.Text, err = execText(familyText(), v); err != nil {
		return Email{}, err
	}
	if e.HTML, err = execHTML(familyHTML(), v); err != nil {
		return Email{}, err
	}
	e.Unsubscribe = unsubscribe
	return e, nil
}

// FamilyText renders the text message to a portal user.
func FamilyText(practiceName, link string) (string, error) {
	return execText(familySMS(), view{Practice: displayName(practiceName), Link: link})
}

// StaffEmail renders a staff digest covering count conversations.
//
// overdue makes it the alert that conversations passed their response
// target rather than the digest of new messages.
func StaffEmail(practiceName, link string, count int, overdue bool) (Email, error) {
	v := view{Practice: displayName(practiceName), Link: link, Count: count, Overdue: overdue}
	var e Email
	var err error
	if e.Subject, err = execText(staffSubject(), v); err != nil {
		return Email{}, err
	}
	if e.Text, err = execText(staffText(), v); err != nil {
		return Email{}, err
	}
	if e.HTML, err = execHTML(staffHTML(), v); err != nil {
		return Email{}, err
	}
	return e, nil
}

// displayName makes the practice's name safe for a subject line and a
// text: control and invisible characters become spaces (no header
// injection), runs of space collapse.
func displayName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return "your care team"
	}
	return s
}

// portalBase checks the practice's PortalURL: absolute, https (http only
// on a loopback host, for make dev), with a host; query and fragment are
// dropped. A link in a notification is what a family is taught to trust,
// so a malformed one is a configuration error, not something to guess.
func portalBase(p domain.Practice) (*url.URL, error) {
	u, err := url.Parse(p.PortalURL)
	if err != nil || u.Host == "" || u.User != nil {
		return nil, domain.Errorf(domain.EInternal, "practice %s: portal URL %q is not an absolute URL", p.ID, p.PortalURL)
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !loopback(u.Hostname())) {
		return nil, domain.Errorf(domain.EInternal, "practice %s: portal URL must use https", p.ID)
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	if u.Path == "" {
		u.Path = "/"
	}
	return u, nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// FamilyLink is the deep link a family notification carries: the portal's
// sign-in page with the portal's own route to the conversation in the
// fragment, "#/c/<patientId>/<conversationId>". The portal keeps the
// fragment across sign-in (auth.signIn(location.hash)) and then opens the
// conversation; authorization still happens on every API request, so the
// link grants nothing. A fragment is never sent to a server, so the IDs
// stay out of CloudFront's logs as well.
func FamilyLink(p domain.Practice, patientID, conversationID string) (string, error) {
	u, err := portalBase(p)
	if err != nil {
		return "", err
	}
	return u.String() + "#/c/" + url.PathEscape(patientID) + "/" + url.PathEscape(conversationID), nil
}

// SettingsLink is the portal's Notifications page, where a family chooses
// or stops its notifications after signing in.
func SettingsLink(p domain.Practice) (string, error) {
	u, err := portalBase(p)
	if err != nil {
		return "", err
	}
	return u.String() + "#/notifications", nil
}

// StaffLink is the staff inbox a digest links to. The staff admin page is
// served next to the portal (/portal/ and /staff/ on one site, as make dev
// and the CloudFront distribution serve them), so it is PortalURL with its
// last path segment "portal" replaced by "staff" — or /staff/ at the
// site's root when PortalURL does not end in /portal — and the inbox route
// "#/inbox" in the fragment.
func StaffLink(p domain.Practice) (string, error) {
	u, err := portalBase(p)
	if err != nil {
		return "", err
	}
	path := strings.TrimSuffix(u.Path, "/")
	if strings.HasSuffix(path, "/portal") {
		u.Path = strings.TrimSuffix(path, "portal") + "staff/"
	} else {
		u.Path = "/staff/"
	}
	u.RawPath = ""
	return u.String() + "#/inbox", nil
}
