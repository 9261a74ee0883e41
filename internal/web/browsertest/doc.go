// Package browsertest drives the staff admin page and the portal pages in
// Debian's chromium (through chromedp) against the whole product started
// in-process by package devstack: the site, the local API gateway with the
// real handlers on DynamoDB Local, and the development issuer.
//
// The tests sign in through the issuer's sign-in page as the seeded demo users
// and use only what a person can do in the pages. They need /usr/bin/chromium
// (or $CHROMIUM); `make tools` installs it. Screenshots of every main screen,
// at 1280 and 375 px wide, go to .screenshots/ at the repository root.
//
// Every screen a test shoots is checked with npm axe-core (pinned in
// .tools; `make tools` installs it) against WCAG 2.1 A and AA, plus axe's
// target-size rule, at both widths, and for reflow at 320 px; every other
// screen a tab clicks on is checked with axe once, at its width then. axe
// goes in through the DevTools protocol, so the pages' CSP stays whole
// (TestAxeHarness proves both that and that the check finds faults).
package browsertest
