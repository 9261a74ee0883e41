package app

import (
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/domain"
)

// The demo practice's week: Mon-Fri 8-17 in New York.
func testSettings(t *testing.T, showNames bool) Settings {
	t.Helper()
	p := domain.Practice{ID: "p", TimeZone: "America/New_York", NurseLine: "(555) 010-0100", ShowStaffNames: showNames,
		OfficeHours: map[string][]string{"mon": {"08:00-17:00"}, "tue": {"08:00-17:00"}, "wed": {"08:00-17:00"}, "thu": {"08:00-17:00"}, "fri": {"08:00-17:00"}}}
	return NewSettings(p, []domain.Pool{{ID: "nurse", Name: "Nurse line", ResponseTarget: "4h"}, {ID: "dr", Name: "Dr. Patel", ResponseTarget: "1d"}})
}

func TestFamilyStatuses(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	mon10 := time.Date(2026, 12, 7, 10, 0, 0, 0, ny) // a Monday
	parent := domain.Party{ID: "u", Name: "Ana", Side: domain.SidePortal}
	nurse := domain.Party{ID: "n", Name: "Jordan Kim, RN", Side: domain.SideStaff, Role: "nurse"}
	auto := domain.Party{ID: "system", Name: "Automatic reply", Side: domain.SideStaff}
	msg := func(id string, by domain.Party, at time.Time) domain.Message {
		return domain.Message{ID: id, Author: by, CreatedAt: at, Automatic: by.ID == "system"}
	}
	base := domain.Conversation{Pool: domain.PoolRef{ID: "nurse", Name: "Nurse line"}, Status: domain.StatusOpen, Awaiting: domain.AwaitingStaff, AwaitingSince: mon10}
	seen := mon10.Add(30 * time.Minute)
	for _, tc := range []struct {
		name  string
		conv  func(c domain.Conversation) domain.Conversation
		msgs  []domain.Message
		names bool
		now   time.Time
		want  map[string]MessageStatus
	}{
		{"received, with the expected time", nil, []domain.Message{msg("a", parent, mon10)}, false, mon10.Add(time.Minute),
			map[string]MessageStatus{"a": {"received", "Received by the nurse line", "Usually answered today by 2 PM"}}},
		{"seen", func(c domain.Conversation) domain.Conversation { c.StaffReadAt = &seen; return c }, []domain.Message{msg("a", parent, mon10)}, false, seen,
			map[string]MessageStatus{"a": {"seen", "Seen by the office", "Usually answered today by 2 PM"}}},
		{"assigned hides the name", func(c domain.Conversation) domain.Conversation { c.Assignee = &nurse; return c }, []domain.Message{msg("a", parent, mon10)}, false, seen,
			map[string]MessageStatus{"a": {"assigned", "With the nurse line", "Usually answered today by 2 PM"}}},
		{"assigned names staff where allowed", func(c domain.Conversation) domain.Conversation { c.Assignee = &nurse; return c }, []domain.Message{msg("a", parent, mon10)}, true, seen,
			map[string]MessageStatus{"a": {"assigned", "With Jordan Kim, RN (Nurse line)", "Usually answered today by 2 PM"}}},
		{"overdue points to the nurse line", nil, []domain.Message{msg("a", parent, mon10)}, false, mon10.Add(5 * time.Hour),
			map[string]MessageStatus{"a": {"received", "Received by the nurse line", "Taking longer than usual; if it can't wait, call the nurse line at (555) 010-0100"}}},
		{"a staff reply answers what came before; the automatic reply does not", func(c domain.Conversation) domain.Conversation {
			c.AwaitingSince = mon10.Add(2 * time.Hour)
			return c
		}, []domain.Message{msg("a", parent, mon10), msg("b", auto, mon10.Add(time.Second)), msg("c", nurse, mon10.Add(time.Hour)), msg("d", parent, mon10.Add(2*time.Hour))}, false, mon10.Add(2 * time.Hour),
			map[string]MessageStatus{"a": {"answered", "Answered", ""}, "d": {"received", "Received by the nurse line", "Usually answered today by 4 PM"}}},
		{"no reply needed", func(c domain.Conversation) domain.Conversation { c.Awaiting = domain.AwaitingNone; return c }, []domain.Message{msg("a", parent, mon10)}, false, seen,
			map[string]MessageStatus{"a": {"done", "Read by the office; no reply needed", ""}}},
		{"closed", func(c domain.Conversation) domain.Conversation {
			c.Awaiting, c.Status = domain.AwaitingNone, domain.StatusClosed
			return c
		}, []domain.Message{msg("a", parent, mon10)}, false, seen,
			map[string]MessageStatus{"a": {"done", "Closed by the office", ""}}},
		{"a doctor's pool by name, a day target", func(c domain.Conversation) domain.Conversation {
			c.Pool = domain.PoolRef{ID: "dr", Name: "Dr. Patel"}
			return c
		}, []domain.Message{msg("a", parent, mon10)}, false, seen,
			map[string]MessageStatus{"a": {"received", "Received by Dr. Patel", "Usually answered tomorrow by 10 AM"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			if tc.conv != nil {
				c = tc.conv(c)
			}
			got := familyStatuses(testSettings(t, tc.names), c, tc.msgs, false, tc.now)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for id, w := range tc.want {
				if got[id] != w {
					t.Errorf("message %s: %+v, want %+v", id, got[id], w)
				}
			}
		})
	}
}

// A family message whose answer may lie on a later page gets no status.
func TestFamilyStatusesOnAPartialPage(t *testing.T) {
	at := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	c := domain.Conversation{Pool: domain.PoolRef{ID: "nurse", Name: "Nurse line"}, Status: domain.StatusOpen, Awaiting: domain.AwaitingFamily, AwaitingSince: at}
	msgs := []domain.Message{{ID: "a", Author: domain.Party{Side: domain.SidePortal}, CreatedAt: at}}
	if got := familyStatuses(testSettings(t, false), c, msgs, true, at); len(got) != 0 {
		t.Fatalf("got %v, want no status", got)
	}
}
