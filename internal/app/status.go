package app

import (
	"context"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/hours"
)

// SettingsReader reads what a practice publishes to its families: its
// office hours, holidays and nurse line, and its pools' response targets.
type SettingsReader interface {
	PracticeSettings(ctx context.Context, practiceID string) (domain.Practice, []domain.Pool, error)
}

// Settings is a practice's calendar and pools, as the status line and the
// escalator use them.
type Settings struct {
	Practice domain.Practice
	Calendar hours.Calendar
	Pools    map[string]domain.Pool
	Targets  map[string]hours.Target
}

// NewSettings interprets a practice's record and pools. A target or
// calendar that does not parse (the directory loader refuses both, so
// only a hand-edited record could hold one) falls back to the defaults.
func NewSettings(p domain.Practice, pools []domain.Pool) Settings {
	cal, err := hours.ForPractice(p)
	if err != nil {
		cal, _ = hours.ForPractice(domain.Practice{ID: p.ID})
	}
	s := Settings{Practice: p, Calendar: cal, Pools: map[string]domain.Pool{}, Targets: map[string]hours.Target{}}
	for _, pl := range pools {
		tg, err := hours.ParseTarget(pl.ResponseTarget)
		if err != nil {
			tg, _ = hours.ParseTarget("")
		}
		s.Pools[pl.ID], s.Targets[pl.ID] = pl, tg
	}
	return s
}

// Due is when the practice's reply to a wait that began at since in pool
// is due.
func (s Settings) Due(poolID string, since time.Time) time.Time {
	tg, ok := s.Targets[poolID]
	if !ok {
		tg, _ = hours.ParseTarget("")
	}
	return s.Calendar.Due(since, tg)
}

// settingsTTL is how long a container keeps a practice's settings. They
// grant no access to a chart (that is always decided from fresh records);
// they do say from what age, and to which pools, a patient may start a
// conversation only the care team sees, so a change of those, like one of
// office hours, may take this long to apply. The birthday itself applies
// at once: ages are computed at each request.
const settingsTTL = 5 * time.Minute

type cachedSettings struct {
	s  Settings
	at time.Time
}

// settingsCache holds practices' settings per container.
type settingsCache struct{ m sync.Map }

func (a *App) settings(ctx context.Context, practiceID string) (Settings, error) {
	if v, ok := a.practiceSettings.m.Load(practiceID); ok {
		if c := v.(cachedSettings); a.now().Sub(c.at) < settingsTTL {
			return c.s, nil
		}
	}
	p, pools, err := a.repo.PracticeSettings(ctx, practiceID)
	if err != nil {
		return Settings{}, err
	}
	s := NewSettings(p, pools)
	a.practiceSettings.m.Store(practiceID, cachedSettings{s, a.now()})
	return s, nil
}

// MessageStatus is where a family's message stands, in plain words, for
// the line the portal shows below it.
type MessageStatus struct {
	// State is received, seen, assigned, answered or done.
	State string `json:"state"`
	Text  string `json:"text"`
	// Expected says when a reply usually comes, while one is awaited.
	Expected string `json:"expected,omitempty"`
}

// familyStatuses gives each of the family's messages on a page of the
// chain its status. A message is answered once a staff message (not the
// automatic acknowledgement) follows it; the others show what the office
// did with the current wait: seen, with a pool, or closed. When later
// messages lie on further pages (more), an unanswered-looking message
// gets no status rather than a wrong one. Staff names show only where the
// practice allows it, and never anything internal (notes, reasons).
func familyStatuses(s Settings, conv domain.Conversation, msgs []domain.Message, more bool, now time.Time) map[string]MessageStatus {
	out := map[string]MessageStatus{}
	poolName := conv.Pool.Name
	if p, ok := s.Pools[conv.Pool.ID]; ok {
		poolName = p.Name
	}
	answered := false // a staff message follows
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.Author.Side == domain.SideStaff && !m.Automatic {
			answered = true
		}
		if m.Author.Side != domain.SidePortal {
			continue
		}
		switch {
		case answered:
			out[m.ID] = MessageStatus{State: "answered", Text: "Answered"}
		case more:
		case conv.Status == domain.StatusClosed:
			out[m.ID] = MessageStatus{State: "done", Text: "Closed by the office"}
		case conv.Awaiting == domain.AwaitingNone:
			out[m.ID] = MessageStatus{State: "done", Text: "Read by the office; no reply needed"}
		default:
			out[m.ID] = waitingStatus(s, conv, poolName, now)
		}
	}
	return out
}

// waitingStatus is the status of a message the office has yet to answer.
func waitingStatus(s Settings, conv domain.Conversation, poolName string, now time.Time) MessageStatus {
	st := MessageStatus{State: "received", Text: "Received by " + thePool(poolName)}
	switch {
	case conv.Assignee != nil && s.Practice.ShowStaffNames:
		st = MessageStatus{State: "assigned", Text: "With " + conv.Assignee.Name + " (" + poolName + ")"}
	case conv.Assignee != nil:
		st = MessageStatus{State: "assigned", Text: "With " + thePool(poolName)}
	case conv.StaffReadAt != nil && !conv.StaffReadAt.Before(conv.AwaitingSince):
		st = MessageStatus{State: "seen", Text: "Seen by the office"}
	}
	if conv.Awaiting != domain.AwaitingStaff {
		return st
	}
	due := s.Due(conv.Pool.ID, conv.AwaitingSince)
	if due.After(now) {
		st.Expected = "Usually answered " + s.Calendar.Phrase(due, now)
	} else if line := s.Practice.NurseLine; line != "" {
		st.Expected = "Taking longer than usual; if it can't wait, call the nurse line at " + line
	} else {
		st.Expected = "Taking longer than usual; if it can't wait, call the office"
	}
	return st
}

// thePool names a pool inside a sentence: "the nurse line", but a doctor's
// own pool by name ("Dr. Patel").
func thePool(name string) string {
	if strings.HasPrefix(name, "Dr") || name == "" {
		return name
	}
	r, size := utf8.DecodeRuneInString(name)
	return "the " + string(unicode.ToLower(r)) + name[size:]
}

// AutoReplier is the author of automatic messages in the chain.
var AutoReplier = domain.Party{ID: "system", Name: "Automatic reply", Role: "auto", Side: domain.SideStaff}

// acknowledgement is the automatic reply to a family message written at
// at while the office is closed, once per off-hours window of a chain:
// when the office reopens, the nurse line, and 911. It returns the start of
// the window, and nil when the office is open or the window already has
// its acknowledgement (acked).
func acknowledgement(s Settings, id string, conv domain.Conversation, at time.Time, acked *time.Time) (*domain.Message, time.Time) {
	start, reopen, closed := s.Calendar.ClosedWindow(at)
	if !closed || acked != nil && acked.Equal(start) {
		return nil, time.Time{}
	}
	when := "when the office reopens"
	if !reopen.IsZero() {
		p := s.Calendar.Phrase(reopen, at)
		when = strings.TrimPrefix(strings.Replace(p, " by ", " at ", 1), "by ")
	}
	body := "Our office is closed right now. We reopen " + when + " and will read your message then. "
	if line := s.Practice.NurseLine; line != "" {
		body += "If your child needs advice that can't wait, call the nurse line at " + line + ". "
	} else {
		body += "If your child needs advice that can't wait, call the office. "
	}
	body += "In an emergency, call 911."
	m := NewMessage(id, conv, body, AutoReplier, at.Add(time.Millisecond))
	m.Automatic = true
	return &m, start.UTC()
}
