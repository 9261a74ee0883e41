// Package web holds the staff admin page and the portal pages (folder site/,
// deployed as-is to S3 and served locally by the dev server), and the security
// headers that CloudFront and the local server both send.
package web

import "strings"

// SiteDir is the folder, relative to the repository root, that holds the
// pages. CDK deploys exactly this folder; the dev server serves it.
const SiteDir = "internal/web/site"

// ConfigFile is the runtime configuration the pages fetch at start-up: API
// base URL, issuers and client IDs. CDK writes it next to the pages from
// stack outputs; the dev server generates it.
const ConfigFile = "config.json"

// Origins are the origins besides the pages' own that the CSP names, each
// for what the pages do with it and nothing more.
type Origins struct {
	// Connect are the origins the pages fetch from: the API and the token
	// endpoints (also the targets of the sign-in forms).
	Connect []string
	// Uploads is the upload bucket's origin: files are posted there
	// (XMLHttpRequest, connect-src), never read from it.
	Uploads string
	// Files is the chart bucket's origin: thumbnails load from it as
	// images (img-src). Downloads are navigations, which the CSP does not
	// govern.
	Files string
}

// CSP returns the Content-Security-Policy for the pages. No inline script,
// no eval, no framing, no plugins.
func CSP(o Origins) string {
	connect := append([]string{"'self'"}, o.Connect...)
	if o.Uploads != "" {
		connect = append(connect, o.Uploads)
	}
	img := []string{"'self'", "data:"}
	if o.Files != "" {
		img = append(img, o.Files)
	}
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src " + strings.Join(img, " "),
		"font-src 'self'",
		"connect-src " + strings.Join(connect, " "),
		"form-action 'self' " + strings.Join(o.Connect, " "),
		"manifest-src 'self'",
		"object-src 'none'",
		"base-uri 'none'",
		"frame-ancestors 'none'",
	}, "; ")
}

// HSTSMaxAge is the Strict-Transport-Security max-age: two years.
const HSTSMaxAge = 63072000

// ReferrerPolicy keeps URLs, which may carry IDs, from leaking to others.
const ReferrerPolicy = "no-referrer"

// SecurityHeaders returns every security header of a page response, for the
// given CSP. The local server sends them all; CloudFront's response-headers
// policy carries the same values.
func SecurityHeaders(csp string) map[string]string {
	return map[string]string{
		"Content-Security-Policy":    csp,
		"Strict-Transport-Security":  "max-age=63072000; includeSubDomains; preload",
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            ReferrerPolicy,
		"X-Frame-Options":            "DENY",
		"Cross-Origin-Opener-Policy": "same-origin",
		"Permissions-Policy":         "camera=(), microphone=(), geolocation=()",
	}
}
