// Package browsertest drives the staff admin page and the portal pages in
// Debian's chromium (through chromedp) against the whole product started
// in-process by package devstack: the site, the local API gateway with the
// real handlers on DynamoDB Local, and the development issuer.
//
// The tests sign in through the issuer's sign-in page as the seeded demo users
// and use only what a person can do in the pages. They need /usr/bin/chromium
// (or $CHROMIUM); `make tools` installs it. Screenshots of every main screen,
// at 1280 and 375 px wide, go to .screenshots/ at the repository root.
package browsertest
