package export

import (
	"html"
	"strconv"
	"strings"
	"time"

	"github.com/pedsportal/messaging/internal/app"
)

// HTMLType is the media type of the HTML file.
const HTMLType = "text/html; charset=utf-8"

// style is the file's only styling: readable on a phone, on a desk and on
// paper. It is allowed by its hash, so the file's policy needs no
// 'unsafe-inline' and runs no script at all.
const style = `body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#fff;margin:0 auto;max-width:46rem;padding:1rem}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.2rem;margin:2rem 0 .25rem;border-top:2px solid #1a1a1a;padding-top:1rem}
.meta,.who{color:#4a4a4a;font-size:.9rem;margin:0}article{border-left:4px solid #c8d3e0;margin:1rem 0;padding:.25rem 0 .25rem .75rem}
article.staff{border-left-color:#2b5d8a}.body{white-space:pre-wrap;overflow-wrap:anywhere;margin:.25rem 0 0}
.note{background:#f3f5f8;border:1px solid #c8d3e0;padding:.5rem .75rem}
@media print{body{max-width:none;padding:0;font-size:11pt}h2{break-after:avoid}article{break-inside:avoid}}`

// CSP is the policy the HTML file is served with, and carries itself for
// when it is opened from disk: nothing but its own style, by its SHA-256
// (a test holds the hash to style). A constant, not a hash computed at
// init: every bootstrap imports this package through package api, and
// only export-chart should link or run any of it.
const CSP = "default-src 'none'; style-src 'sha256-fhYT4hhOfn8IIZ8vNn79qOLL9Fb8Yr3veLI578fV2HU='; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

var esc = html.EscapeString

// readable is a time as a person reads it in the file: on the practice's
// clock, with its zone named, so that the copy says the same wherever it
// is opened.
func readable(t time.Time, zone *time.Location) string {
	if zone == nil {
		zone = time.UTC
	}
	return t.In(zone).Format("Mon 2 Jan 2006, 3:04 PM MST")
}

// HTML writes e as a self-contained page: every message of every
// conversation in order, escaped, with no script and no outside resources.
func HTML(e app.Export) []byte {
	var b strings.Builder
	title := "Messages about " + e.Patient.DisplayName
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8">`)
	b.WriteString(`<meta http-equiv="Content-Security-Policy" content="` + esc(CSP) + `">`)
	b.WriteString(`<meta name="viewport" content="width=device-width, initial-scale=1">`)
	b.WriteString(`<title>` + esc(title) + `</title><style>` + style + `</style></head><body><main>`)
	b.WriteString(`<h1>` + esc(title) + `</h1>`)
	from := "the patient portal"
	if e.Practice != "" {
		from = e.Practice
	}
	b.WriteString(`<p class="meta">From ` + esc(from) + `. Downloaded by ` + esc(e.By.Name) + ` on ` + esc(readable(e.At, e.Zone)) + `.`)
	if e.Part > 1 || e.Next != nil {
		b.WriteString(` Part ` + strconv.Itoa(e.Part) + `.`)
	}
	b.WriteString(`</p>`)
	if len(e.Conversations) == 0 {
		b.WriteString(`<p>There are no messages to show.</p>`)
	}
	for _, x := range e.Conversations {
		c := x.Conversation
		b.WriteString(`<section><h2>` + esc(c.Subject) + `</h2><p class="meta">` + esc(c.Pool.Name) + ` · started ` + esc(readable(c.CreatedAt, e.Zone)) +
			` by ` + esc(c.StartedBy.Name) + ` · ` + esc(string(c.Status)) + ` · ` + strconv.Itoa(c.MessageCount) + ` messages</p>`)
		if x.PreviousID != "" {
			b.WriteString(`<p class="note">This conversation begins in the previous part.</p>`)
		}
		for _, m := range x.Messages {
			side := string(m.Author.Side)
			b.WriteString(`<article class="` + esc(side) + `"><p class="who"><strong>` + esc(m.Author.Name) + `</strong> · <time datetime="` +
				esc(instant(m.CreatedAt)) + `">` + esc(readable(m.CreatedAt, e.Zone)) + `</time></p><p class="body">` + esc(m.Body) + `</p></article>`)
		}
		b.WriteString(`</section>`)
	}
	if e.Next != nil {
		b.WriteString(`<p class="note">The messages go on in part ` + strconv.Itoa(e.Part+1) + `, a file of its own saved with this one.</p>`)
	}
	b.WriteString(`</main></body></html>`)
	return []byte(b.String())
}
