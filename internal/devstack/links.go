package devstack

import (
	"time"

	"github.com/pedsportal/messaging/internal/app"
)

// UnsubscribeURL is the one-click unsubscribe URL (RFC 8058) of
// portalUserID's e-mails on this stack's API, signed at now (pass the
// stack's clock) from the run's cursor key, as the preferences function
// verifies it, and valid for 90 days. The notifier's Config.Unsubscribe
// and the tests use it.
func (s *Stack) UnsubscribeURL(portalUserID string, now time.Time) string {
	return app.UnsubscribeURL(s.APIURL, s.links, portalUserID, now)
}
