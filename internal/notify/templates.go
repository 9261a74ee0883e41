package notify

import (
	"net"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/pedsportal/messaging/internal/domain"
)

// The notifications carry no PHI by construction: their only data is
// view, which holds the practice's name, a link and a count. A link names
// nothing but opaque IDs (patient and conversation, which already travel
// in the portal's URLs and in logs), never a name, subject, pool or date.
//
// They are rendered by plain Go (methods of view that read nothing else)
// rather than text/template and html/template: text/template's method
// calls by name (reflect.Value.MethodByName) make the linker keep every
// exported method of every reachable type. notify-flush was 17.31 MB with
// them and is 8.94 without; notifier, escalate and ses-events lost
// 0.31 MB each. The HTML is escaped as html/template escaped these
// inputs, byte for byte: templates_identity_test.go keeps the old
// templates and compares.
type view struct {
	Practice    string // the practice's name
	Link        string // where to sign in: the portal deep link, or the staff inbox
	Unsubscribe string // family e-mail only: the one-click URL, for the List-Unsubscribe header
	Settings    string // family e-mail only: the portal's Notifications page, for people
	Count       int    // staff digest: conversations with new messages
	Overdue     bool   // staff alert: conversations past their response target
}

// The HTML e-mails' fixed parts: head up to the title, the title's end up
// to the first paragraph, a button link's style, and the end.
const (
	htmlHead = `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>`
	htmlBody = `</title></head>
<body style="margin:0;padding:16px;font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;font-size:16px;line-height:1.5;color:#1b1b1b;background:#ffffff">
<div style="max-width:560px;margin:0 auto">
`
	htmlButton = `" style="display:inline-block;padding:12px 20px;background:#1d5fa8;color:#ffffff;text-decoration:none;border-radius:6px;font-weight:600">`
	htmlEnd    = `</div>
</body>
</html>
`
)

func (v view) family() (Email, error) {
	if err := checkLinks(v.Link, v.Settings); err != nil {
		return Email{}, err
	}
	p := escapeHTML(v.Practice)
	return Email{
		Subject: "New message from " + v.Practice,
		Text: "You have a new message from " + v.Practice + ` in the patient portal.

Sign in to read it:
` + v.Link + `

For your privacy, this e-mail does not contain the message.

Do not reply to this e-mail: replies are not read. In an emergency, call 911.

To stop these e-mails or choose text messages instead, sign in and open Notifications: ` + v.Settings + `
Your e-mail app's Unsubscribe button also stops them at once, without signing in.
`,
		HTML: htmlHead + "New message from " + p + htmlBody +
			"<p>You have a new message from " + p + ` in the patient portal.</p>
<p><a href="` + attrURL(v.Link) + htmlButton + `Sign in to read it</a></p>
<p>For your privacy, this e-mail does not contain the message.</p>
<p><strong>Do not reply to this e-mail:</strong> replies are not read. In an emergency, call 911.</p>
<p style="font-size:14px;color:#4a4a4a">To stop these e-mails or choose text messages instead, sign in and open <a href="` + attrURL(v.Settings) + `" style="color:#4a4a4a">Notifications</a>. Your e-mail app's Unsubscribe button also stops them at once, without signing in.</p>
` + htmlEnd,
		Unsubscribe: v.Unsubscribe,
	}, nil
}

func (v view) sms() (string, error) {
	if err := checkLinks(v.Link); err != nil {
		return "", err
	}
	return v.Practice + ": you have a new message in the patient portal. Sign in to read it: " + v.Link + " Reply STOP to opt out.", nil
}

func (v view) staff() (Email, error) {
	if err := checkLinks(v.Link); err != nil {
		return Email{}, err
	}
	p := escapeHTML(v.Practice)
	var e Email
	if v.Overdue {
		e.Subject = "Past the response target in the " + v.Practice + " inbox"
		e.HTML = htmlHead + "Past the response target in the " + p + " inbox" + htmlBody
	} else {
		e.Subject = "New messages in the " + v.Practice + " inbox"
		e.HTML = htmlHead + "New messages in the " + p + " inbox" + htmlBody
	}
	e.Text = staffSummary(v.Practice, v.Count, v.Overdue) + `

Open the inbox:
` + v.Link + `

This e-mail does not contain the messages. Do not reply to it.
`
	e.HTML += "<p>" + staffSummary(p, v.Count, v.Overdue) + `</p>
<p><a href="` + attrURL(v.Link) + htmlButton + `Open the inbox</a></p>
<p>This e-mail does not contain the messages. Do not reply to it.</p>
` + htmlEnd
	return e, nil
}

// staffSummary is a staff e-mail's first sentence; practice is escaped
// already for the HTML part.
func staffSummary(practice string, count int, overdue bool) string {
	n := strconv.Itoa(count)
	switch {
	case overdue && count == 1:
		return "Past the response target in the " + practice + " inbox: " + n + " conversation waits longer than the pool promises families."
	case overdue:
		return "Past the response target in the " + practice + " inbox: " + n + " conversations wait longer than the pool promises families."
	case count == 1:
		return "New messages are waiting in the " + practice + " inbox: " + n + " conversation."
	default:
		return "New messages are waiting in the " + practice + " inbox: " + n + " conversations."
	}
}

// checkLinks refuses a link that is not absolute http or https: a
// notification's link is what a family is taught to trust. html/template
// replaced such a link by "#ZgotmplZ" and sent the e-mail anyway.
func checkLinks(links ...string) error {
	for _, l := range links {
		scheme, _, ok := strings.Cut(l, "://")
		if !ok || !strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "http") {
			return domain.Errorf(domain.EInternal, "notify: a notification link must be an absolute http(s) URL")
		}
	}
	return nil
}

// htmlEscaper escapes text and quoted attribute values with the table
// html/template uses (which also escapes + and turns NUL into U+FFFD).
// Every byte it replaces is ASCII, so it leaves UTF-8, valid or not,
// as it is, as html/template does.
var htmlEscaper = strings.NewReplacer(
	"\x00", "\uFFFD",
	`"`, "&#34;",
	"&", "&amp;",
	"'", "&#39;",
	"+", "&#43;",
	"<", "&lt;",
	">", "&gt;",
)

func escapeHTML(s string) string { return htmlEscaper.Replace(s) }

// attrURL is link as html/template writes it into a quoted href: every
// byte but RFC 3986's unreserved and reserved characters (' ( ) aside)
// and an existing %XX escape percent-encoded, then HTML-escaped. The
// scheme was checked already (checkLinks).
func attrURL(link string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.Grow(len(link) + 16)
	for i := 0; i < len(link); i++ {
		c := link[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("-._~!#$&*+,/:;=?@[]", c) >= 0,
			c == '%' && i+2 < len(link) && isHex(link[i+1]) && isHex(link[i+2]):
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return escapeHTML(b.String())
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// FamilyEmail renders the e-mail to a portal user (To is left empty):
// link opens the conversation after sign-in, settings the portal's
// Notifications page, and unsubscribe is the one-click URL (RFC 8058) the
// List-Unsubscribe header carries. That URL answers POST only: a person's
// click in the body goes to settings instead.
func FamilyEmail(practiceName, link, settings, unsubscribe string) (Email, error) {
	return view{Practice: displayName(practiceName), Link: link, Settings: settings, Unsubscribe: unsubscribe}.family()
}

// FamilyText renders the text message to a portal user.
func FamilyText(practiceName, link string) (string, error) {
	return view{Practice: displayName(practiceName), Link: link}.sms()
}

// StaffEmail renders a staff digest covering count conversations.
//
// overdue makes it the alert that conversations passed their response
// target rather than the digest of new messages.
func StaffEmail(practiceName, link string, count int, overdue bool) (Email, error) {
	return view{Practice: displayName(practiceName), Link: link, Count: count, Overdue: overdue}.staff()
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
