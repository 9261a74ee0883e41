package notify

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/hours"
)

// Defaults.
const (
	DefaultWindow      = 10 * time.Minute
	DefaultQuietStart  = 21 * time.Hour // 21:00 wall clock
	DefaultQuietEnd    = 7 * time.Hour  // 07:00 wall clock
	DefaultTimeZone    = "America/New_York"
	DefaultRetryDelay  = time.Minute
	DefaultGiveUpAfter = 24 * time.Hour
	// PageSize is how many due notifications one Due call asks for.
	PageSize = 100
)

// Config is what the notifier and the flusher share. Zero fields take the
// defaults above; Unsubscribe (flusher) and Decode (notifier) are required.
type Config struct {
	// Window is how long a pending notification collects messages before
	// it is due: a burst of replies within it gives one notification.
	Window time.Duration
	// QuietStart and QuietEnd bound the quiet hours as wall-clock times of
	// day, written as the time since midnight (21*time.Hour is 21:00), in
	// the practice's zone (domain.Practice.TimeZone, DefaultTimeZone when
	// empty). They are applied with time.Date, so 07:00 stays 07:00 across
	// a daylight-saving change. Both zero means 21:00–07:00; equal non-zero
	// values turn quiet hours off. Start after end wraps past midnight.
	QuietStart, QuietEnd time.Duration
	// Now is the clock (time.Now when nil); tests pass a fake one.
	Now func() time.Time
	// Unsubscribe builds r's signed one-click unsubscribe URL (RFC 8058),
	// which works without signing in and is scoped to r only.
	Unsubscribe func(r Recipient) string
	// Decode turns a stream NewImage into a Message; false for items that
	// are not messages (headers, idempotency records). The store provides it.
	Decode func(map[string]events.DynamoDBAttributeValue) (Message, bool, error)
	// RetryDelay is how long a notification whose every channel failed
	// waits before the next attempt (default one minute: the next flush).
	RetryDelay time.Duration
	// GiveUpAfter ends the retries of a notification whose last message
	// is older than this (default 24 hours): the failure is audited and the
	// pending item removed; the portal still shows the message as unread.
	GiveUpAfter time.Duration
	// NewID makes the request ID of a notification's audit records (a
	// ULID when nil).
	NewID func(t time.Time) string
	// Log receives IDs only: never names, addresses, subjects or bodies
	// (slog.Default() when nil).
	Log *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Window <= 0 {
		c.Window = DefaultWindow
	}
	if c.QuietStart == 0 && c.QuietEnd == 0 {
		c.QuietStart, c.QuietEnd = DefaultQuietStart, DefaultQuietEnd
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.RetryDelay <= 0 {
		c.RetryDelay = DefaultRetryDelay
	}
	if c.GiveUpAfter <= 0 {
		c.GiveUpAfter = DefaultGiveUpAfter
	}
	if c.NewID == nil {
		c.NewID = func(t time.Time) string { return ulid.MustNew(ulid.Timestamp(t), ulid.DefaultEntropy()).String() }
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Zone returns the practice's time zone: its TimeZone, or DefaultTimeZone
// when that is empty.
func Zone(p domain.Practice) (*time.Location, error) {
	name := p.TimeZone
	if name == "" {
		name = DefaultTimeZone
	}
	loc, err := hours.Zone(name)
	if err != nil {
		return nil, fmt.Errorf("practice %s: time zone: %w", p.ID, err)
	}
	return loc, nil
}

// QuietUntil reports whether t falls in the quiet hours [start, end) of
// the wall clock in loc and, if so, when they end: the next end time of
// day at or after t, computed on the local calendar (so 07:00 the next
// morning stays 07:00 when the night has 23 or 25 hours).
func QuietUntil(t time.Time, loc *time.Location, start, end time.Duration) (time.Time, bool) {
	if start == end {
		return time.Time{}, false
	}
	l := t.In(loc)
	y, m, d := l.Date()
	at := func(day int, tod time.Duration) time.Time {
		return time.Date(y, m, day, int(tod/time.Hour), int(tod%time.Hour/time.Minute), 0, 0, loc)
	}
	s, e := at(d, start), at(d, end)
	if start < end { // within one day, e.g. 01:00–05:00
		if !l.Before(s) && l.Before(e) {
			return e, true
		}
		return time.Time{}, false
	}
	// Wraps past midnight, e.g. 21:00–07:00.
	switch {
	case l.Before(e): // the small hours: ends this morning
		return e, true
	case !l.Before(s): // the evening: ends tomorrow morning
		return at(d+1, end), true
	}
	return time.Time{}, false
}
