// Package hours is a practice's calendar: its weekly office hours, its
// holidays and its time zone, and what follows from them for a message:
// whether the office is open, when it opens next, when a message is due
// under a pool's response target, and how to say that to a family in plain
// words. It is pure (domain and the standard library only) and allocates
// nothing on the paths a read calls per conversation (Open, NextOpen, Due,
// ClosedWindow).
//
// Times are computed on the practice's wall clock, so a day target keeps
// its clock time across a daylight-saving change, and open time is counted
// as real elapsed time within each span of office hours.
package hours

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pedsportal/messaging/internal/domain"
)

//go:generate go run ./zonegen

// DefaultTimeZone is the zone of a practice that names none.
const DefaultTimeZone = "America/New_York"

// DefaultOfficeHours is the schedule of a practice whose directory file
// gives none: Monday to Friday, 8 AM to 5 PM.
var DefaultOfficeHours = map[string][]string{
	"mon": {"08:00-17:00"}, "tue": {"08:00-17:00"}, "wed": {"08:00-17:00"},
	"thu": {"08:00-17:00"}, "fri": {"08:00-17:00"}, "sat": {}, "sun": {},
}

// Days are the keys of domain.Practice.OfficeHours, Monday first.
var Days = [7]string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}

// dayNames are the short names Describe and Phrase use, by time.Weekday.
var dayNames = [7]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}

// MaxHolidays caps the holidays a directory file lists: a few years ahead.
const MaxHolidays = 200

// span is an open interval of one day, in minutes after midnight on the
// wall clock: [start, end), with end at most 24*60.
type span struct{ start, end int }

// Calendar is a practice's office hours. The zero Calendar is closed
// forever; build one with ForPractice or New.
type Calendar struct {
	loc *time.Location
	// week holds each day's spans by time.Weekday, sorted and disjoint.
	week [7][]span
	// holidays are closed dates as yyyymmdd, sorted.
	holidays []int
}

var zones sync.Map // zone name -> *time.Location

// Zone is the named zone, one of the United States' and its territories'
// (usZones, from Go's own database by zonegen). Lambda's provided.al2023
// image has no /usr/share/zoneinfo, and the whole of Go's (time/tzdata)
// would be 0.37 MB of every bootstrap, a twentieth of it; a practice
// elsewhere is refused when its directory file is loaded, so no function
// ever meets a zone it lacks. Each zone is parsed once per process, as
// calendars are built on the read path.
func Zone(name string) (*time.Location, error) {
	if l, ok := zones.Load(name); ok {
		return l.(*time.Location), nil
	}
	data, ok := tzData(name)
	if !ok {
		return nil, fmt.Errorf("unknown time zone %q: not one of the United States'", name)
	}
	l, err := time.LoadLocationFromTZData(name, []byte(data))
	if err != nil {
		return nil, err
	}
	zones.Store(name, l)
	return l, nil
}

// ForPractice is the calendar of p: its OfficeHours (DefaultOfficeHours
// when empty), Holidays and TimeZone (DefaultTimeZone when empty). The
// error names the offending field with an example; the directory loader
// refuses a file with such an error, so a stored practice always has a
// calendar.
func ForPractice(p domain.Practice) (Calendar, error) {
	tz := p.TimeZone
	if tz == "" {
		tz = DefaultTimeZone
	}
	loc, err := Zone(tz)
	if err != nil {
		return Calendar{}, fmt.Errorf("timeZone %q is not an IANA time zone of the United States such as America/Chicago", tz)
	}
	return New(loc, p.OfficeHours, p.Holidays)
}

// spanRE is compiled on first use: every function links this package, and only the directory loader and a settings read parse schedules, so no cold start pays for it.
var spanRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([01][0-9]|2[0-4]):([0-5][0-9])-([01][0-9]|2[0-4]):([0-5][0-9])$`)
})

// New builds a calendar from a weekly schedule as the directory file spells
// it (day keys mon…sun, spans "HH:MM-HH:MM"; DefaultOfficeHours when
// empty) and holidays as YYYY-MM-DD.
func New(loc *time.Location, week map[string][]string, holidays []string) (Calendar, error) {
	c := Calendar{loc: loc}
	if len(week) == 0 {
		week = DefaultOfficeHours
	}
	for day := range week {
		if !slices.Contains(Days[:], day) {
			return Calendar{}, fmt.Errorf(`officeHours: %q is not a day; use mon, tue, wed, thu, fri, sat and sun, e.g. {"mon": ["08:00-12:00", "13:00-17:00"], "sun": []}`, day)
		}
	}
	open := false
	for i, day := range Days {
		wd := time.Weekday((i + 1) % 7)
		for j, s := range week[day] {
			m := spanRE().FindStringSubmatch(s)
			if m == nil {
				return Calendar{}, fmt.Errorf(`officeHours.%s: %q is not a span of the 24-hour clock such as "08:00-12:00"`, day, s)
			}
			sp := span{minutes(m[1], m[2]), minutes(m[3], m[4])}
			if sp.start >= sp.end || sp.end > 24*60 {
				return Calendar{}, fmt.Errorf(`officeHours.%s: %q must end after it starts, on the same day, e.g. "13:00-17:00"`, day, s)
			}
			if j > 0 && sp.start < c.week[wd][j-1].end {
				return Calendar{}, fmt.Errorf(`officeHours.%s: %q must start after the span before it ends; list spans in order, e.g. ["08:00-12:00", "13:00-17:00"]`, day, s)
			}
			c.week[wd] = append(c.week[wd], sp)
			open = true
		}
	}
	if !open {
		return Calendar{}, errors.New(`officeHours: the office is never open; give at least one span, e.g. {"mon": ["08:00-17:00"]}`)
	}
	if len(holidays) > MaxHolidays {
		return Calendar{}, fmt.Errorf("holidays: %d dates; the limit is %d", len(holidays), MaxHolidays)
	}
	for _, h := range holidays {
		d, err := time.Parse(time.DateOnly, h)
		if err != nil || d.Format(time.DateOnly) != h {
			return Calendar{}, fmt.Errorf(`holidays: %q is not a date as YYYY-MM-DD, e.g. "2026-12-25"`, h)
		}
		c.holidays = append(c.holidays, dateKey(d.Date()))
	}
	slices.Sort(c.holidays)
	c.holidays = slices.Compact(c.holidays)
	return c, nil
}

func minutes(h, m string) int {
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	return hh*60 + mm
}

func dateKey(y int, m time.Month, d int) int { return y*10000 + int(m)*100 + d }

// Zone is the practice's time zone.
func (c Calendar) Zone() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}

// day is one calendar date in the practice's zone.
type day struct {
	y int
	m time.Month
	d int
}

func dayOf(t time.Time) day { y, m, d := t.Date(); return day{y, m, d} }

// add returns the date n days later (earlier for negative n).
func (d day) add(n int) day {
	return dayOf(time.Date(d.y, d.m, d.d+n, 12, 0, 0, 0, time.UTC))
}

func (d day) weekday() time.Weekday {
	return time.Date(d.y, d.m, d.d, 12, 0, 0, 0, time.UTC).Weekday()
}

// at is the instant of minute min after midnight on d's wall clock. A
// minute a daylight-saving change skips is normalised by time.Date.
func (c Calendar) at(d day, min int) time.Time {
	return time.Date(d.y, d.m, d.d, 0, min, 0, 0, c.Zone())
}

// spans are d's open spans: none on a holiday.
func (c Calendar) spans(d day) []span {
	if _, hol := slices.BinarySearch(c.holidays, dateKey(d.y, d.m, d.d)); hol {
		return nil
	}
	return c.week[d.weekday()]
}

// wall is t on the practice's wall clock: its date and minute of the day.
func (c Calendar) wall(t time.Time) (day, int) {
	l := t.In(c.Zone())
	return dayOf(l), l.Hour()*60 + l.Minute()
}

// searchDays bounds the days a search walks: every week has an open span,
// and each holiday closes at most one day, so some week in this many days
// is free of holidays.
func (c Calendar) searchDays() int { return 7*(len(c.holidays)+1) + 7 }

// current returns the end of the open span t falls in.
func (c Calendar) current(t time.Time) (time.Time, bool) {
	d, _ := c.wall(t)
	// The span containing t may have started the day before only if it
	// ran to midnight; spans never cross midnight, so t's own date holds it.
	for _, s := range c.spans(d) {
		start, end := c.at(d, s.start), c.at(d, s.end)
		if !t.Before(start) && t.Before(end) {
			return end, true
		}
	}
	return time.Time{}, false
}

// Open reports whether the office is open at t.
func (c Calendar) Open(t time.Time) bool {
	_, ok := c.current(t)
	return ok
}

// NextOpen is the first instant at or after t when the office is open: t
// itself when it is open.
func (c Calendar) NextOpen(t time.Time) time.Time {
	if c.Open(t) {
		return t
	}
	d, _ := c.wall(t)
	for i := 0; i < c.searchDays(); i++ {
		for _, s := range c.spans(d) {
			if start := c.at(d, s.start); !start.Before(t) {
				return start
			}
		}
		d = d.add(1)
	}
	return time.Time{} // a zero Calendar: never open
}

// lastClose is the last instant at or before t when an open span ended.
func (c Calendar) lastClose(t time.Time) time.Time {
	d, _ := c.wall(t)
	for i := 0; i < c.searchDays(); i++ {
		sp := c.spans(d)
		for j := len(sp) - 1; j >= 0; j-- {
			if end := c.at(d, sp[j].end); !end.After(t) {
				return end
			}
		}
		d = d.add(-1)
	}
	return time.Time{}
}

// ClosedWindow is the off-hours window t falls in: when it began (the last
// close) and when the office reopens. closed is false, and both times
// zero, while the office is open.
func (c Calendar) ClosedWindow(t time.Time) (start, reopen time.Time, closed bool) {
	if c.Open(t) {
		return time.Time{}, time.Time{}, false
	}
	return c.lastClose(t), c.NextOpen(t), true
}

// Target is a response target: a number of business minutes (open time)
// or of business days.
type Target struct {
	minutes int
	days    int
}

// DefaultTarget is the target of a pool that names none: 1 business day.
var DefaultTarget = Target{days: 1}

// Limits of a target: a target longer than this is no target a family can
// wait for.
const (
	MaxTargetDays    = 10
	MaxTargetMinutes = 10 * 8 * 60
)

// targetRE is compiled on first use: as spanRE.
var targetRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^([1-9][0-9]{0,3})([mhd])$`) })

// ParseTarget reads a target as the directory file spells it: "90m"
// (business minutes), "4h" (business hours), "1d" (business days). ""
// is DefaultTarget.
func ParseTarget(s string) (Target, error) {
	if s == "" {
		return DefaultTarget, nil
	}
	m := targetRE().FindStringSubmatch(s)
	if m == nil {
		return Target{}, fmt.Errorf(`responseTarget %q is not a number with m, h or d, e.g. "4h" (4 business hours) or "1d" (1 business day)`, s)
	}
	n, _ := strconv.Atoi(m[1])
	var t Target
	switch m[2] {
	case "m":
		t.minutes = n
	case "h":
		t.minutes = n * 60
	case "d":
		t.days = n
	}
	if t.days > MaxTargetDays || t.minutes > MaxTargetMinutes {
		return Target{}, fmt.Errorf(`responseTarget %q is longer than %d business days; use e.g. "2d"`, s, MaxTargetDays)
	}
	return t, nil
}

// String spells t as ParseTarget reads it: "4h", "90m", "1d".
func (t Target) String() string {
	switch {
	case t.days > 0:
		return strconv.Itoa(t.days) + "d"
	case t.minutes%60 == 0:
		return strconv.Itoa(t.minutes/60) + "h"
	default:
		return strconv.Itoa(t.minutes) + "m"
	}
}

// Words says t for people: "4 business hours", "1 business day".
func (t Target) Words() string {
	plural := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return strconv.Itoa(n) + " " + one + "s"
	}
	switch {
	case t.days > 0:
		return plural(t.days, "business day")
	case t.minutes%60 == 0:
		return plural(t.minutes/60, "business hour")
	default:
		return plural(t.minutes, "business minute")
	}
}

// Due is when a message received at since should be answered under tg.
// The clock starts when the office is next open (at since, if open then).
// An hours or minutes target counts open time only: a message at 4 PM
// under "4h", with a 5 PM close and a 9 AM opening, is due at noon the next
// business day. A day target is due by the same clock time n business days
// later (days with open hours that are not holidays), or by that day's
// close when it closes earlier, or by the end of its last span before that
// time when the clock time falls in a break. The zero Target is due at
// once, when the office next opens.
func (c Calendar) Due(since time.Time, tg Target) time.Time {
	cur := c.NextOpen(since)
	if cur.IsZero() {
		return cur
	}
	if tg.days > 0 {
		return c.dueDays(cur, tg.days)
	}
	left := time.Duration(tg.minutes) * time.Minute
	for i := 0; i < 10*c.searchDays() && left > 0; i++ {
		end, ok := c.current(cur)
		if !ok { // cannot happen: cur is open
			break
		}
		avail := end.Sub(cur)
		if left <= avail {
			return cur.Add(left)
		}
		left -= avail
		cur = c.NextOpen(end)
	}
	return cur
}

// dueDays is n business days after open instant base, by base's clock.
func (c Calendar) dueDays(base time.Time, n int) time.Time {
	d, _ := c.wall(base)
	for i := 0; n > 0 && i < c.searchDays()*n; i++ {
		d = d.add(1)
		if len(c.spans(d)) > 0 {
			n--
		}
	}
	sp := c.spans(d)
	if len(sp) == 0 {
		return base
	}
	clock := c.sameClock(base, d)
	min := clock.In(c.Zone()).Hour()*60 + clock.In(c.Zone()).Minute()
	if clock.Before(c.at(d, sp[0].start)) {
		return c.at(d, sp[0].start)
	}
	due := c.at(d, sp[0].start)
	for _, s := range sp {
		if min < s.start {
			break
		}
		if min >= s.end {
			due = c.at(d, s.end)
			continue
		}
		return clock
	}
	return due
}

// sameClock is base's wall-clock time on date d. Two daylight-saving
// edges keep it monotonic in base: a base in the second pass of a
// repeated hour (autumn) counts as the end of that hour, and a time of d
// that a spring change skips becomes the instant of the change.
func (c Calendar) sameClock(base time.Time, d day) time.Time {
	l := base.In(c.Zone())
	if start, _ := l.ZoneBounds(); !start.IsZero() {
		_, before := start.Add(-time.Second).Zone()
		_, after := l.Zone()
		if rep := time.Duration(before-after) * time.Second; rep > 0 && l.Sub(start) < rep {
			l = start.Add(rep).In(c.Zone())
		}
	}
	want := l.Hour()*60 + l.Minute()
	clock := time.Date(d.y, d.m, d.d, l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), c.Zone())
	if got := clock.Hour()*60 + clock.Minute(); got != want {
		// want does not exist on d: the clocks jumped over it.
		start, end := clock.ZoneBounds()
		if got < want {
			return end
		}
		return start
	}
	return clock
}

// Phrase says when due is, in plain words for a family, on the practice's
// clock as seen at now: "today by 3 PM", "tomorrow by noon", "by Tuesday
// at 9 AM" within the coming week, else "by Thu, Dec 24 at 9 AM".
func (c Calendar) Phrase(due, now time.Time) string {
	dd, dn := dayOf(due.In(c.Zone())), dayOf(now.In(c.Zone()))
	clock := Clock(due.In(c.Zone()))
	diff := int(time.Date(dd.y, dd.m, dd.d, 12, 0, 0, 0, time.UTC).Sub(time.Date(dn.y, dn.m, dn.d, 12, 0, 0, 0, time.UTC)).Hours()+0.5) / 24
	switch {
	case diff == 0:
		return "today by " + clock
	case diff == 1:
		return "tomorrow by " + clock
	case diff > 1 && diff < 7:
		return "by " + dd.weekday().String() + " at " + clock
	}
	return "by " + due.In(c.Zone()).Format("Mon, Jan 2") + " at " + clock
}

// Clock says a time of day as people do: "9 AM", "3:30 PM", "noon",
// "midnight".
func Clock(t time.Time) string { return clockOf(t.Hour()*60 + t.Minute()) }

func clockOf(min int) string {
	h, m := min/60%24, min%60
	switch {
	case h == 12 && m == 0:
		return "noon"
	case h == 0 && m == 0:
		return "midnight"
	}
	suffix := " AM"
	if h >= 12 {
		suffix = " PM"
	}
	h12 := h % 12
	if h12 == 0 {
		h12 = 12
	}
	if m == 0 {
		return strconv.Itoa(h12) + suffix
	}
	return fmt.Sprintf("%d:%02d%s", h12, m, suffix)
}

// Describe says the office hours in plain words, Monday first, days with
// the same hours grouped: "Mon–Fri 8 AM–5 PM, Sat 9 AM–noon". Holidays are
// not listed.
func (c Calendar) Describe() string {
	var groups []string
	for i := 0; i < 7; {
		wd := time.Weekday((i + 1) % 7)
		sp := c.week[wd]
		j := i + 1
		for j < 7 && slices.Equal(c.week[time.Weekday((j+1)%7)], sp) {
			j++
		}
		if len(sp) > 0 {
			name := dayNames[wd]
			if j-i > 1 {
				name += "–" + dayNames[time.Weekday(j%7)]
			}
			var hours []string
			for _, s := range sp {
				hours = append(hours, clockOf(s.start)+"–"+clockOf(s.end))
			}
			groups = append(groups, name+" "+strings.Join(hours, " and "))
		}
		i = j
	}
	if len(groups) == 0 {
		return "closed"
	}
	return strings.Join(groups, ", ")
}
