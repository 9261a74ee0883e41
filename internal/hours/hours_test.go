package hours_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/hours"
)

var newYork = func() *time.Location {
	l, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return l
}()

// ny is a wall-clock time in New York, "2006-01-02 15:04".
func ny(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, newYork)
	if err != nil {
		panic(err)
	}
	return t
}

func mustCal(t testing.TB, week map[string][]string, holidays ...string) hours.Calendar {
	t.Helper()
	c, err := hours.New(newYork, week, holidays)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func target(t testing.TB, s string) hours.Target {
	t.Helper()
	tg, err := hours.ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// The calendars under test: the demo practice's (Saturday mornings,
// holidays on Dec 24 and 25 and Jan 1), weekdays only (the default), one
// with a lunch break, and one with different hours on Monday and Tuesday.
var (
	demoWeek = map[string][]string{
		"mon": {"08:00-17:00"}, "tue": {"08:00-17:00"}, "wed": {"08:00-17:00"}, "thu": {"08:00-17:00"},
		"fri": {"08:00-17:00"}, "sat": {"09:00-12:00"}, "sun": {},
	}
	demoHolidays = []string{"2026-12-24", "2026-12-25", "2027-01-01"}
	lunchWeek    = map[string][]string{
		"mon": {"08:00-12:00", "13:00-17:00"}, "tue": {"08:00-12:00", "13:00-17:00"}, "wed": {"08:00-12:00", "13:00-17:00"},
		"thu": {"08:00-12:00", "13:00-17:00"}, "fri": {"08:00-12:00", "13:00-16:00"},
	}
	unevenWeek = map[string][]string{"mon": {"08:00-17:00"}, "tue": {"08:00-12:00", "13:00-17:00"}}
	allSunday  = map[string][]string{"sun": {"00:00-24:00"}}
)

func TestDue(t *testing.T) {
	demo := mustCal(t, demoWeek, demoHolidays...)
	weekdays := mustCal(t, nil)
	lunch := mustCal(t, lunchWeek)
	uneven := mustCal(t, unevenWeek)
	sunday := mustCal(t, allSunday)
	for _, tc := range []struct {
		name   string
		cal    hours.Calendar
		since  time.Time
		target string
		want   time.Time
	}{
		{"hours within the day", demo, ny("2026-11-24 10:00"), "4h", ny("2026-11-24 14:00")},
		{"hours run into Saturday morning", demo, ny("2026-03-06 15:00"), "4h", ny("2026-03-07 11:00")},
		{"hours over a weekend into DST (March)", weekdays, ny("2026-03-06 15:00"), "4h", ny("2026-03-09 10:00")},
		{"hours over a weekend out of DST (November)", weekdays, ny("2026-10-30 16:00"), "4h", ny("2026-11-02 11:00")},
		{"a message at night starts the clock at opening", demo, ny("2026-11-24 22:00"), "4h", ny("2026-11-25 12:00")},
		{"a message on Sunday", demo, ny("2026-11-29 13:00"), "4h", ny("2026-11-30 12:00")},
		{"a message on a holiday", demo, ny("2026-12-25 10:00"), "4h", ny("2026-12-28 09:00")},
		{"holidays are skipped", demo, ny("2026-12-23 16:00"), "4h", ny("2026-12-26 12:00")},
		{"at closing time the office is closed", demo, ny("2026-11-24 17:00"), "4h", ny("2026-11-25 12:00")},
		{"a lunch break does not count", lunch, ny("2026-11-23 11:00"), "4h", ny("2026-11-23 16:00")},
		{"minutes", demo, ny("2026-11-24 16:00"), "90m", ny("2026-11-25 08:30")},
		{"open time is real time across the spring gap", sunday, ny("2026-03-08 00:30"), "4h", ny("2026-03-08 05:30")},
		{"open time is real time across the autumn repeat", sunday, ny("2026-11-01 00:30"), "4h", time.Date(2026, 11, 1, 3, 30, 0, 0, newYork)},
		{"a day: same clock time the next business day", demo, ny("2026-11-24 10:30"), "1d", ny("2026-11-25 10:30")},
		{"a day from Friday afternoon: by Saturday's close", demo, ny("2026-11-27 15:00"), "1d", ny("2026-11-28 12:00")},
		{"a day from Friday, weekdays only: Monday, over DST", weekdays, ny("2026-03-06 15:00"), "1d", ny("2026-03-09 15:00")},
		{"a day from Friday, weekdays only: Monday, out of DST", weekdays, ny("2026-10-30 15:00"), "1d", ny("2026-11-02 15:00")},
		{"a day from Saturday", demo, ny("2026-11-28 10:00"), "1d", ny("2026-11-30 10:00")},
		{"a day from Sunday starts at Monday's opening", demo, ny("2026-11-29 10:00"), "1d", ny("2026-12-01 08:00")},
		{"a day before the next day opens: by its opening", demo, ny("2026-11-27 08:30"), "1d", ny("2026-11-28 09:00")},
		{"a day whose clock time falls in a break: by the break", uneven, ny("2026-11-23 12:30"), "1d", ny("2026-11-24 12:00")},
		{"two days over two holidays and a Sunday", demo, ny("2026-12-23 10:00"), "2d", ny("2026-12-28 10:00")},
		{"two days over New Year's Day", demo, ny("2026-12-31 11:00"), "2d", ny("2027-01-04 11:00")},
		{"no target is one business day", demo, ny("2026-11-24 10:30"), "", ny("2026-11-25 10:30")},
		{"a day to a time the spring change skips: the change", sunday, ny("2026-03-01 02:30"), "1d", ny("2026-03-08 03:00")},
		{"a day from the repeated hour's second pass: its end", sunday, time.Date(2026, 11, 1, 1, 30, 0, 0, newYork).Add(time.Hour), "1d", ny("2026-11-08 02:00")},
		{"a day from the repeated hour's first pass: the same clock", sunday, time.Date(2026, 11, 1, 1, 30, 0, 0, newYork), "1d", ny("2026-11-08 01:30")},
		{"seconds are kept", demo, ny("2026-11-24 10:30").Add(42 * time.Second), "1d", ny("2026-11-25 10:30").Add(42 * time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.cal.Due(tc.since, target(t, tc.target))
			if !got.Equal(tc.want) {
				t.Errorf("Due(%s, %q) = %s, want %s", tc.since, tc.target, got.In(newYork), tc.want)
			}
		})
	}
}

func TestOpenAndNextOpen(t *testing.T) {
	demo := mustCal(t, demoWeek, demoHolidays...)
	lunch := mustCal(t, lunchWeek)
	weekdays := mustCal(t, nil)
	for _, tc := range []struct {
		name string
		cal  hours.Calendar
		at   time.Time
		open bool
		next time.Time
	}{
		{"opening minute", demo, ny("2026-11-24 08:00"), true, ny("2026-11-24 08:00")},
		{"last minute", demo, ny("2026-11-24 16:59"), true, ny("2026-11-24 16:59")},
		{"closing time", demo, ny("2026-11-24 17:00"), false, ny("2026-11-25 08:00")},
		{"before opening", demo, ny("2026-11-24 07:59"), false, ny("2026-11-24 08:00")},
		{"Saturday morning", demo, ny("2026-11-28 11:59"), true, ny("2026-11-28 11:59")},
		{"Saturday afternoon", demo, ny("2026-11-28 12:00"), false, ny("2026-11-30 08:00")},
		{"Sunday", demo, ny("2026-11-29 10:00"), false, ny("2026-11-30 08:00")},
		{"a holiday", demo, ny("2026-12-24 10:00"), false, ny("2026-12-26 09:00")},
		{"the evening before two holidays", demo, ny("2026-12-23 18:00"), false, ny("2026-12-26 09:00")},
		{"lunch", lunch, ny("2026-11-23 12:30"), false, ny("2026-11-23 13:00")},
		{"lunch begins", lunch, ny("2026-11-23 12:00"), false, ny("2026-11-23 13:00")},
		{"after lunch", lunch, ny("2026-11-23 13:00"), true, ny("2026-11-23 13:00")},
		{"Friday evening before DST", weekdays, ny("2026-03-06 17:30"), false, ny("2026-03-09 08:00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cal.Open(tc.at); got != tc.open {
				t.Errorf("Open(%s) = %v, want %v", tc.at, got, tc.open)
			}
			if got := tc.cal.NextOpen(tc.at); !got.Equal(tc.next) {
				t.Errorf("NextOpen(%s) = %s, want %s", tc.at, got.In(newYork), tc.next)
			}
		})
	}
}

func TestClosedWindow(t *testing.T) {
	demo := mustCal(t, demoWeek, demoHolidays...)
	lunch := mustCal(t, lunchWeek)
	weekdays := mustCal(t, nil)
	for _, tc := range []struct {
		name          string
		cal           hours.Calendar
		at            time.Time
		start, reopen time.Time
	}{
		{"a weeknight", demo, ny("2026-11-24 22:00"), ny("2026-11-24 17:00"), ny("2026-11-25 08:00")},
		{"early morning", demo, ny("2026-11-25 06:00"), ny("2026-11-24 17:00"), ny("2026-11-25 08:00")},
		{"the weekend", demo, ny("2026-11-29 10:00"), ny("2026-11-28 12:00"), ny("2026-11-30 08:00")},
		{"holidays", demo, ny("2026-12-24 10:00"), ny("2026-12-23 17:00"), ny("2026-12-26 09:00")},
		{"lunch", lunch, ny("2026-11-23 12:30"), ny("2026-11-23 12:00"), ny("2026-11-23 13:00")},
		{"a weekend over the spring change", weekdays, ny("2026-03-07 10:00"), ny("2026-03-06 17:00"), ny("2026-03-09 08:00")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start, reopen, closed := tc.cal.ClosedWindow(tc.at)
			if !closed || !start.Equal(tc.start) || !reopen.Equal(tc.reopen) {
				t.Errorf("ClosedWindow(%s) = %s, %s, %v; want %s, %s, true", tc.at, start.In(newYork), reopen.In(newYork), closed, tc.start, tc.reopen)
			}
		})
	}
	// Friday 5 PM to Monday 8 AM is 63 hours on the wall clock and 62 in
	// fact, the night the clocks go forward.
	start, reopen, _ := weekdays.ClosedWindow(ny("2026-03-07 10:00"))
	if got := reopen.Sub(start); got != 62*time.Hour {
		t.Errorf("the weekend of the spring change lasts %s, want 62h", got)
	}
	if s, r, closed := demo.ClosedWindow(ny("2026-11-24 10:00")); closed || !s.IsZero() || !r.IsZero() {
		t.Errorf("ClosedWindow while open = %s, %s, %v", s, r, closed)
	}
}

func TestPhrase(t *testing.T) {
	demo := mustCal(t, demoWeek, demoHolidays...)
	now := ny("2026-11-24 10:00") // a Tuesday
	for _, tc := range []struct {
		due, now time.Time
		want     string
	}{
		{ny("2026-11-24 15:00"), now, "today by 3 PM"},
		{ny("2026-11-24 15:30"), now, "today by 3:30 PM"},
		{ny("2026-11-25 12:00"), now, "tomorrow by noon"},
		{ny("2026-11-27 09:00"), now, "by Friday at 9 AM"},
		{ny("2026-11-30 08:00"), now, "by Monday at 8 AM"},
		{ny("2026-12-01 09:00"), now, "by Tue, Dec 1 at 9 AM"},
		{ny("2026-12-24 09:00"), now, "by Thu, Dec 24 at 9 AM"},
		{ny("2026-11-27 00:00"), now, "by Friday at midnight"},
		// The practice's day, not UTC's: 10 PM in New York is 3 AM UTC of
		// the next day.
		{ny("2026-11-25 08:00"), ny("2026-11-24 22:00"), "tomorrow by 8 AM"},
		{ny("2026-11-24 23:00"), ny("2026-11-24 22:00"), "today by 11 PM"},
		// Over the spring change, Monday is still two days after Saturday.
		{ny("2026-03-09 09:00"), ny("2026-03-07 10:00"), "by Monday at 9 AM"},
		{ny("2026-03-08 09:00"), ny("2026-03-07 23:30"), "tomorrow by 9 AM"},
	} {
		if got := demo.Phrase(tc.due.UTC(), tc.now.UTC()); got != tc.want {
			t.Errorf("Phrase(%s, now %s) = %q, want %q", tc.due, tc.now, got, tc.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct {
		week map[string][]string
		want string
	}{
		{demoWeek, "Mon–Fri 8 AM–5 PM, Sat 9 AM–noon"},
		{nil, "Mon–Fri 8 AM–5 PM"},
		{lunchWeek, "Mon–Thu 8 AM–noon and 1 PM–5 PM, Fri 8 AM–noon and 1 PM–4 PM"},
		{map[string][]string{"mon": {"08:30-17:00"}, "wed": {"08:30-17:00"}}, "Mon 8:30 AM–5 PM, Wed 8:30 AM–5 PM"},
		{map[string][]string{"sat": {"09:00-12:00"}, "sun": {"09:00-12:00"}}, "Sat–Sun 9 AM–noon"},
		{allSunday, "Sun midnight–midnight"},
	} {
		if got := mustCal(t, tc.week).Describe(); got != tc.want {
			t.Errorf("Describe(%v) = %q, want %q", tc.week, got, tc.want)
		}
	}
}

func TestForPracticeDefaults(t *testing.T) {
	c, err := hours.ForPractice(domain.Practice{ID: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Zone().String(); got != "America/New_York" {
		t.Errorf("zone = %s", got)
	}
	if got := c.Describe(); got != "Mon–Fri 8 AM–5 PM" {
		t.Errorf("default hours = %q", got)
	}
	c, err = hours.ForPractice(domain.Practice{ID: "p", TimeZone: "America/Los_Angeles", OfficeHours: demoWeek, Holidays: demoHolidays})
	if err != nil {
		t.Fatal(err)
	}
	// 8 AM in Los Angeles is 11 AM in New York.
	if got, want := c.NextOpen(ny("2026-11-24 06:00")), ny("2026-11-24 11:00"); !got.Equal(want) {
		t.Errorf("NextOpen in Los Angeles = %s, want %s", got, want)
	}
	for _, p := range []domain.Practice{
		{TimeZone: "Mars/Olympus"},
		{OfficeHours: map[string][]string{"mon": {}}},
		{OfficeHours: map[string][]string{"mon": {"8-5"}}},
		{Holidays: []string{"2026-13-01"}},
		{Holidays: make([]string, hours.MaxHolidays+1)},
	} {
		if _, err := hours.ForPractice(p); err == nil {
			t.Errorf("ForPractice(%+v) accepted it", p)
		}
	}
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]string{
		"4h": "4h", "90m": "90m", "120m": "2h", "1d": "1d", "2d": "2d", "": "1d", "10d": "10d", "80h": "80h",
	} {
		tg, err := hours.ParseTarget(in)
		if err != nil {
			t.Errorf("ParseTarget(%q): %v", in, err)
			continue
		}
		if got := tg.String(); got != want {
			t.Errorf("ParseTarget(%q).String() = %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{"0h", "0d", "4", "h", "4 h", "-1d", "11d", "81h", "1w", "4H", "04h", "1.5h", " 4h"} {
		if _, err := hours.ParseTarget(in); err == nil || !strings.Contains(err.Error(), "responseTarget") {
			t.Errorf("ParseTarget(%q) = %v, want an error naming responseTarget", in, err)
		}
	}
	words := map[string]string{"4h": "4 business hours", "1h": "1 business hour", "1d": "1 business day", "2d": "2 business days", "90m": "90 business minutes"}
	for in, want := range words {
		if got := target(t, in).Words(); got != want {
			t.Errorf("%s.Words() = %q, want %q", in, got, want)
		}
	}
}

// checkDue checks the properties of Due for one calendar and target over
// successive arrival times: never before the arrival, never earlier for a
// later arrival, and always within or at the end of open hours.
func checkDue(t *testing.T, c hours.Calendar, tg hours.Target, times []time.Time) {
	t.Helper()
	var prev time.Time
	for i, since := range times {
		due := c.Due(since, tg)
		if due.Before(since) {
			t.Fatalf("%s: Due(%s) = %s is before the message", tg, since, due)
		}
		if i > 0 && due.Before(prev) {
			t.Fatalf("%s: Due(%s) = %s is before Due(%s) = %s", tg, since, due, times[i-1], prev)
		}
		if !c.Open(due) && !c.Open(due.Add(-time.Nanosecond)) {
			t.Fatalf("%s: Due(%s) = %s is not in office hours", tg, since, due.In(c.Zone()))
		}
		prev = due
	}
}

// Every 7 minutes for eleven weeks over the spring change, and again over
// the autumn change and the holidays.
func TestDueProperties(t *testing.T) {
	cals := map[string]hours.Calendar{
		"demo": mustCal(t, demoWeek, demoHolidays...), "lunch": mustCal(t, lunchWeek),
		"uneven": mustCal(t, unevenWeek), "sunday": mustCal(t, allSunday),
	}
	var times []time.Time
	for _, from := range []time.Time{ny("2026-02-20 00:00"), ny("2026-10-20 00:00")} {
		for t := from; t.Before(from.Add(11 * 7 * 24 * time.Hour)); t = t.Add(7*time.Minute + 13*time.Second) {
			times = append(times, t)
		}
	}
	for name, c := range cals {
		for _, s := range []string{"1m", "90m", "4h", "80h", "1d", "2d", "10d"} {
			t.Run(name+"/"+s, func(t *testing.T) { checkDue(t, c, target(t, s), times) })
		}
	}
}

func FuzzDue(f *testing.F) {
	f.Add(int64(1772830800), int64(3600), uint8(0))
	f.Add(int64(1793563200), int64(86400), uint8(4))
	f.Add(int64(1798088400), int64(1), uint8(6))
	demo := mustCal(f, demoWeek, demoHolidays...)
	targets := []string{"1m", "90m", "4h", "80h", "1d", "2d", "10d"}
	f.Fuzz(func(t *testing.T, since, later int64, which uint8) {
		if since < 0 || since > 4102444800 || later < 0 || later > 400*86400 {
			return
		}
		a := time.Unix(since, 0)
		tg := target(t, targets[int(which)%len(targets)])
		checkDue(t, demo, tg, []time.Time{a, a.Add(time.Duration(later) * time.Second)})
	})
}

// The read path calls these per conversation: they must not allocate.
func TestNoAllocations(t *testing.T) {
	c := mustCal(t, demoWeek, demoHolidays...)
	h, d := target(t, "4h"), target(t, "2d")
	at := ny("2026-12-23 16:00")
	if n := testing.AllocsPerRun(100, func() {
		c.Due(at, h)
		c.Due(at, d)
		c.ClosedWindow(at.Add(2 * time.Hour))
		c.Open(at)
	}); n != 0 {
		t.Errorf("Due, ClosedWindow and Open allocate %.0f times per call", n)
	}
}

func BenchmarkDue(b *testing.B) {
	c := mustCal(b, demoWeek, demoHolidays...)
	h := target(b, "4h")
	at := ny("2026-12-23 16:00")
	for b.Loop() {
		c.Due(at, h)
	}
}
