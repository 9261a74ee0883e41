// Package officeclock gives tests and benchmarks a clock that runs inside
// the demo practice's office hours, whenever they run. What the product
// does depends on the practice's calendar (the after-hours
// acknowledgement, the expected reply time), so a test that is not about
// the calendar must not depend on the hour CI happens to run at. Tests
// about the calendar set their own fixed clock.
package officeclock

import (
	"time"

	"github.com/pedsportal/messaging/internal/hours"
	"github.com/pedsportal/messaging/internal/seed"
)

// Open returns a clock that reads 10:00 on the next weekday the demo
// practice is open all morning (today's, if it is not yet past), on the
// practice's clock, and then runs with real time: seven hours of test
// before the office closes.
func Open() func() time.Time {
	cal, err := hours.ForPractice(seed.DirectoryFile().Practice)
	if err != nil {
		panic("officeclock: the demo practice's calendar: " + err.Error())
	}
	now := time.Now()
	local := now.In(cal.Zone())
	day := time.Date(local.Year(), local.Month(), local.Day(), 10, 0, 0, 0, cal.Zone())
	for !day.After(now) || !weekday(day) || !cal.Open(day) || !cal.Open(day.Add(7*time.Hour-time.Minute)) {
		day = day.AddDate(0, 0, 1)
	}
	shift := day.Sub(now)
	return func() time.Time { return time.Now().Add(shift) }
}

func weekday(t time.Time) bool { return t.Weekday() != time.Saturday && t.Weekday() != time.Sunday }
