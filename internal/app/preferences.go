package app

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/linktoken"
)

// PreferenceWriter changes a portal user's notification channels, each
// change with its audit record in the same transaction.
type PreferenceWriter interface {
	SetNotifyAudited(ctx context.Context, portalUserID string, ch domain.Channels, rec audit.Record) error
}

// One-click unsubscribe links (RFC 8058).
const (
	// PurposeUnsubscribe is the link token purpose of unsubscribe links:
	// a token signed for it verifies for nothing else, and no other token
	// verifies for it.
	PurposeUnsubscribe = "unsubscribe"
	// UnsubscribeTTL is how long an unsubscribe link works: long enough for
	// an old e-mail found in an inbox, short enough that a leaked one dies.
	UnsubscribeTTL = 90 * 24 * time.Hour
	// UnsubscribePath is the public route that takes the link (package
	// routes: POST /public/unsubscribe).
	UnsubscribePath = "/public/unsubscribe"
)

// UnsubscribeURL is the List-Unsubscribe URL for a portal user's e-mail:
// <apiBaseURL>/public/unsubscribe?t=<token>, with a token signed for
// PurposeUnsubscribe that expires UnsubscribeTTL after now. It works
// without signing in and turns e-mail off for that portal user only. It
// returns "" when there is no signer, no base URL, or the ID cannot be
// signed: the flusher then sends no e-mail rather than one without it.
func UnsubscribeURL(apiBaseURL string, signer *linktoken.Signer, portalUserID string, now time.Time) string {
	if signer == nil || apiBaseURL == "" || !domain.ValidID(portalUserID) {
		return ""
	}
	tok := signer.Sign(PurposeUnsubscribe, portalUserID, now.Add(UnsubscribeTTL))
	if tok == "" {
		return ""
	}
	return strings.TrimSuffix(apiBaseURL, "/") + UnsubscribePath + "?t=" + url.QueryEscape(tok)
}

// NotifySettings is a portal user's notification choice and what their
// account makes possible.
type NotifySettings struct {
	Channels domain.Channels
	// EmailAvailable and SMSAvailable say whether the practice has an
	// address and a mobile number on file: a channel without one cannot
	// be chosen.
	EmailAvailable, SMSAvailable bool
	// EmailUnreachable is set when the address bounced or complained;
	// e-mail stops until the practice records a new address.
	EmailUnreachable bool
}

func settingsOf(u *domain.PortalUser) *NotifySettings {
	return &NotifySettings{
		Channels:       u.Notify,
		EmailAvailable: u.Email != "", SMSAvailable: u.Phone != "",
		EmailUnreachable: u.EmailUnreachable,
	}
}

// GetNotify returns the calling portal user's notification settings. The
// account must be active. Like the staff profile it shows the caller only
// their own account, no patient data, so it leaves no audit record.
// Errors: EForbidden.
func (a *App) GetNotify(ctx context.Context, c *Call) (*NotifySettings, error) {
	u, err := a.portalCaller(ctx, c)
	if err != nil {
		return nil, err
	}
	return settingsOf(u), nil
}

// SetNotify records the calling portal user's choice of channels; the
// change and its audit record (filed under the caller: it names no
// patient) commit together. The account must be active, and a channel can
// be chosen only when the practice has an address or number for it.
// Errors: EForbidden, EInvalid naming "email" or "sms".
func (a *App) SetNotify(ctx context.Context, c *Call, ch domain.Channels) (*NotifySettings, error) {
	c.begin(audit.NotifyPreferences, "", "")
	u, err := a.portalCaller(ctx, c)
	if err != nil {
		return nil, err
	}
	if ch.Email && u.Email == "" {
		return nil, domain.Invalid("email", "the practice has no e-mail address for your account; ask them to add one")
	}
	if ch.SMS && u.Phone == "" {
		return nil, domain.Invalid("sms", "the practice has no mobile number for your account; ask them to add one")
	}
	rec := c.record(audit.Success, 200)
	err = a.repo.SetNotifyAudited(ctx, u.ID, ch, rec)
	a.committed(ctx, c, rec, err)
	if err != nil {
		return nil, err
	}
	u.Notify = ch
	return settingsOf(u), nil
}

// Unsubscribe is the one-click unsubscribe of RFC 8058: token, from the
// link in the e-mail, names the portal user, and e-mail is turned off for
// that user only; text messages stay as chosen. It needs no sign-in and
// works for a disabled account too (stopping mail is always safe). It is
// idempotent. The change is audited under that user as actor, with actor
// side "public", in the same transaction. A token that does not verify
// (forged, altered, expired, made for another purpose) writes nothing,
// not even an audit record: it names nobody to file one under.
// Errors: ENotFound, the same for every reason.
func (a *App) Unsubscribe(ctx context.Context, c *Call, token string) error {
	if a.links == nil {
		return &domain.Error{Code: domain.EInternal, Err: errors.New("unsubscribe: no link signer configured")}
	}
	id, err := a.links.Verify(PurposeUnsubscribe, token, a.now())
	if err != nil || !domain.ValidID(id) {
		a.log.InfoContext(ctx, "unsubscribe link refused", "requestId", c.RequestID)
		return domain.ErrNotFound
	}
	c.rec.ActorID, c.rec.ActorRole = id, string(domain.SidePortal)
	c.begin(audit.NotifyPreferences, "", "")
	facts, err := a.repo.LoadAccess(ctx, authz.PortalUserQuery(authz.Principal{ID: id, Side: domain.SidePortal}))
	if err != nil {
		return err
	}
	u := facts.PortalUser
	if u == nil || u.ID != id {
		return domain.ErrNotFound
	}
	rec := c.record(audit.Success, 200)
	err = a.repo.SetNotifyAudited(ctx, id, domain.Channels{Email: false, SMS: u.Notify.SMS}, rec)
	a.committed(ctx, c, rec, err)
	return err
}

// portalCaller reads and decides the calling portal user's own account,
// which must exist and be active. Errors: EForbidden.
func (a *App) portalCaller(ctx context.Context, c *Call) (*domain.PortalUser, error) {
	facts, err := a.repo.LoadAccess(ctx, authz.PortalUserQuery(c.Principal))
	if err != nil {
		return nil, err
	}
	return authz.DecidePortalUser(c.Principal, facts)
}
