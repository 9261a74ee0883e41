// Package domain holds the product's types and rules: patients, portal users
// and their links, staff, recipient pools, conversations and messages, and
// the rules that build and change a conversation. It knows nothing of
// DynamoDB or HTTP.
package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// StaffRole comes from the staff member's Cognito group.
type StaffRole string

// Staff roles.
const (
	RoleDoctor    StaffRole = "doctor"
	RoleNurse     StaffRole = "nurse"
	RoleFrontDesk StaffRole = "frontdesk"
	RoleAdmin     StaffRole = "admin"
)

// Valid reports whether r is a known staff role.
func (r StaffRole) Valid() bool {
	switch r {
	case RoleDoctor, RoleNurse, RoleFrontDesk, RoleAdmin:
		return true
	}
	return false
}

// Relationship is how a portal user relates to a patient.
type Relationship string

// Relationships.
const (
	RelParent   Relationship = "parent"
	RelGuardian Relationship = "guardian"
	RelSelf     Relationship = "self"
)

// Valid reports whether r is a known relationship.
func (r Relationship) Valid() bool {
	return r == RelParent || r == RelGuardian || r == RelSelf
}

// Audience is who on the family side may see a conversation. It is fixed
// when the conversation starts; only staff move one, and never silently.
type Audience string

// Audiences.
const (
	// AudienceFamily is every portal user linked to the patient: guardians
	// and the patient's own account.
	AudienceFamily Audience = "family"
	// AudienceConfidential is the patient's own account and the care team
	// only. Such conversations live in a partition of their own, which no
	// guardian's read ever names.
	AudienceConfidential Audience = "confidential"
)

// Valid reports whether a is a known audience.
func (a Audience) Valid() bool { return a == AudienceFamily || a == AudienceConfidential }

// OrFamily is a, or AudienceFamily for the zero value: every conversation
// stored before audiences existed is the family's.
func (a Audience) OrFamily() Audience {
	if a == "" {
		return AudienceFamily
	}
	return a
}

// Side is one side of a conversation.
type Side string

// Sides.
const (
	SidePortal Side = "portal"
	SideStaff  Side = "staff"
)

// Status is a conversation's status.
type Status string

// Statuses.
const (
	StatusOpen   Status = "open"
	StatusClosed Status = "closed"
)

// Awaiting says whose turn it is in a conversation: the practice must
// reply, the family must, or nobody (answered with no reply needed, or
// closed). Reading never changes it; messages and staff actions do.
type Awaiting string

// Turns.
const (
	AwaitingStaff  Awaiting = "staff"
	AwaitingFamily Awaiting = "family"
	AwaitingNone   Awaiting = "none"
)

// Valid reports whether a is a known turn.
func (a Awaiting) Valid() bool {
	return a == AwaitingStaff || a == AwaitingFamily || a == AwaitingNone
}

// Practice is a medical practice.
type Practice struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// TimeZone is an IANA zone name ("America/Chicago"): quiet hours and
	// the day of the daily limits are the practice's.
	TimeZone string `json:"timeZone,omitempty"`
	// PortalURL is the portal's sign-in page, which notifications link to.
	PortalURL string `json:"portalUrl,omitempty"`
	// OfficeHours is the weekly schedule on the practice's clock, by day
	// (mon … sun), each a list of "HH:MM-HH:MM" spans:
	// {"mon": ["08:00-12:00", "13:00-17:00"], …, "sun": []}. Empty means
	// package hours' default (Mon–Fri 8–17). Package hours reads it.
	OfficeHours map[string][]string `json:"officeHours,omitempty"`
	// Holidays are dates (YYYY-MM-DD) the office is closed all day.
	Holidays []string `json:"holidays,omitempty"`
	// NurseLine is the phone number shown to families, as it should be
	// shown ("+1 555-555-0100", "(555) 555-0100").
	NurseLine string `json:"nurseLine,omitempty"`
	// ShowStaffNames says whether families may see staff names.
	ShowStaffNames bool `json:"showStaffNamesToFamilies,omitempty"`
	// ConfidentialFromAge is the age from which a patient's own account
	// may keep conversations from their guardians (0 means
	// DefaultConfidentialAge).
	ConfidentialFromAge int `json:"confidentialFromAge,omitempty"`
	// ConfidentialPools are the pools (IDs) a patient may write to
	// confidentially: the care team, not billing. None means no
	// confidential conversations at all.
	ConfidentialPools []string `json:"confidentialPools,omitempty"`
}

// Channels are the ways a person chose to be told that a message waits.
type Channels struct {
	Email bool `json:"email"`
	SMS   bool `json:"sms"`
}

// Patient is an entry of the minimal patient directory.
type Patient struct {
	ID          string `json:"id"`
	PracticeID  string `json:"-"`
	DisplayName string `json:"displayName"`
	DateOfBirth string `json:"dateOfBirth"` // YYYY-MM-DD
}

// PortalUser is a portal login, identified by its Cognito sub.
type PortalUser struct {
	ID          string `json:"id"`
	PracticeID  string `json:"-"`
	DisplayName string `json:"displayName"`
	// Active is false once the practice cuts the account off; every
	// request checks it in the same read as the link.
	Active bool `json:"-"`
	// Email and Phone (E.164) are where notifications go; never logged.
	Email string `json:"-"`
	Phone string `json:"-"`
	// Notify is what the user chose in the portal.
	Notify Channels `json:"notify"`
	// EmailUnreachable is set when the address bounced or complained.
	EmailUnreachable bool `json:"emailUnreachable"`
}

// Link says a portal user may act for a patient. Links live in DynamoDB,
// not in token claims, so removing one takes effect on the next request.
type Link struct {
	PatientID      string       `json:"patientId"`
	PortalUserID   string       `json:"portalUserId"`
	Relationship   Relationship `json:"relationship"`
	PatientName    string       `json:"patientName"`
	PatientDOB     string       `json:"patientDateOfBirth"`
	PortalUserName string       `json:"portalUserName"`
	LinkedAt       time.Time    `json:"linkedAt"`
	LinkedBy       string       `json:"linkedBy"`
	// PracticeID is the practice the link belongs to.
	PracticeID string `json:"-"`
	// EmailUnreachable tells staff that the portal user's e-mail bounced
	// or complained, so the family cannot be reached by e-mail.
	EmailUnreachable bool `json:"-"`
	// EmailKey is EmailKey of the portal user's address when linked, so
	// that a patient's page can tell that two linked accounts share one
	// without reading every account.
	EmailKey string `json:"-"`
}

// EmailKey identifies an e-mail address without spelling it: the SHA-256
// of its trimmed, lower-cased form, "" for none.
func EmailKey(email string) string {
	e := strings.ToLower(strings.TrimSpace(email))
	if e == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(e))
	return hex.EncodeToString(sum[:])
}

// StaffMember is a practice employee, identified by its Cognito sub.
type StaffMember struct {
	ID          string    `json:"id"`
	PracticeID  string    `json:"practiceId"`
	DisplayName string    `json:"displayName"`
	Role        StaffRole `json:"role"`
	Active      bool      `json:"-"`
	// Email receives the inbox digest for NotifyPools; never logged.
	Email       string   `json:"-"`
	NotifyPools []string `json:"-"`
}

// Pool is a recipient pool portal users write to: Front desk, Nurse line,
// Billing, or one doctor.
type Pool struct {
	ID         string `json:"id"`
	PracticeID string `json:"-"`
	Name       string `json:"name"`
	// DoctorID is set on a doctor's own pool.
	DoctorID string `json:"doctorId,omitempty"`
	// ResponseTarget is how soon the pool answers, as package hours
	// parses it: "4h" (business hours), "1d" (business days); empty is
	// the default of 1 business day.
	ResponseTarget string `json:"responseTarget,omitempty"`
}

// Party is someone who takes part in a conversation.
type Party struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Role is a StaffRole for staff, or "portal" for a portal user.
	Role string `json:"role"`
	Side Side   `json:"side"`
	// Relationship, for a portal author, is how they relate to the patient
	// as their link said when they wrote: "self" is the patient, anything
	// else a guardian (RelatedPerson in FHIR).
	Relationship Relationship `json:"relationship,omitempty"`
}

// IsPatient reports whether the party is the patient themselves.
func (p Party) IsPatient() bool { return p.Side == SidePortal && p.Relationship == RelSelf }

// PoolRef names a pool on a conversation.
type PoolRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// PatientRef names a patient on a conversation, for the staff inbox.
type PatientRef struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// Conversation is the header of a message chain about one patient.
type Conversation struct {
	ID         string     `json:"id"`
	Patient    PatientRef `json:"patient"`
	PracticeID string     `json:"-"`
	Subject    string     `json:"subject"`
	Pool       PoolRef    `json:"pool"`
	Status     Status     `json:"status"`
	// Audience is fixed at creation: see Audience.
	Audience  Audience `json:"audience"`
	StartedBy Party    `json:"startedBy"`
	// PortalUserID is the portal user a staff member wrote to, or who wrote.
	PortalUserID string `json:"portalUserId"`
	Assignee     *Party `json:"assignee"`
	// AssignedAt is when Assignee took or was given the conversation.
	AssignedAt *time.Time `json:"assignedAt"`
	// Awaiting is whose turn it is, since AwaitingSince.
	Awaiting      Awaiting  `json:"awaiting"`
	AwaitingSince time.Time `json:"awaitingSince"`
	// OverdueAt is set when the practice's reply passed the pool's
	// response target (the escalator marks it); a staff reply, closing or
	// "no reply needed" clears it.
	OverdueAt *time.Time `json:"overdueAt"`
	// AckedWindow is the start of the off-hours window whose automatic
	// acknowledgement the chain already holds.
	AckedWindow    *time.Time `json:"-"`
	CreatedAt      time.Time  `json:"createdAt"`
	LastActivityAt time.Time  `json:"lastActivityAt"`
	MessageCount   int        `json:"messageCount"`
	// Preview is the start of the last message, at most PreviewLen runes.
	Preview string `json:"preview"`
	// Unread counts per side: messages the other side wrote since this
	// side last marked the conversation read.
	PortalUnread int        `json:"portalUnread"`
	StaffUnread  int        `json:"staffUnread"`
	PortalReadAt *time.Time `json:"portalReadAt"`
	StaffReadAt  *time.Time `json:"staffReadAt"`
	Version      int        `json:"version"`
}

// UnreadFor returns the unread count that side sees.
func (c *Conversation) UnreadFor(s Side) int {
	if s == SidePortal {
		return c.PortalUnread
	}
	return c.StaffUnread
}

// Message is one entry of a chain. It is never edited or deleted.
type Message struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conversationId"`
	PatientID      string    `json:"patientId"`
	Body           string    `json:"body"`
	Author         Party     `json:"author"`
	CreatedAt      time.Time `json:"createdAt"`
	// Audience is the conversation's: it decides where the message is kept.
	Audience Audience `json:"-"`
	// Automatic marks a message the system wrote, such as the
	// acknowledgement of a message sent while the office is closed.
	Automatic bool `json:"automatic,omitempty"`
	// Attachments are the message's files (at most
	// MaxAttachmentsPerMessage), recorded with it.
	Attachments []AttachmentRef `json:"attachments,omitempty"`
}

// EventKind names what happened to a conversation, for its staff history.
type EventKind string

// Events. Creation is not stored: the header records who started a
// conversation and when, and the log shows it first.
const (
	EventCreated       EventKind = "created"
	EventAssigned      EventKind = "assigned"
	EventUnassigned    EventKind = "unassigned"
	EventClaimed       EventKind = "claimed"
	EventTookOver      EventKind = "took_over"
	EventRerouted      EventKind = "rerouted"
	EventClosed        EventKind = "closed"
	EventReopened      EventKind = "reopened"
	EventNoReplyNeeded EventKind = "no_reply_needed"
	EventNeedsReply    EventKind = "needs_reply"
	EventOverdue       EventKind = "overdue"
	// The conversation moved to the care team only, or back to the
	// family; Text holds the reason given.
	EventMadeConfidential EventKind = "made_confidential"
	EventSharedWithFamily EventKind = "shared_with_family"
	// EventNote is an internal note: staff-only text.
	EventNote EventKind = "note"
)

// Entry is one item of a conversation's staff-only log: an internal note
// or an event. Entries are stored apart from the chain (their own key
// prefix), so no portal read can return them, and are never changed.
type Entry struct {
	ID             string    `json:"id"`
	ConversationID string    `json:"conversationId"`
	PatientID      string    `json:"-"`
	Kind           EventKind `json:"kind"`
	By             Party     `json:"by"`
	At             time.Time `json:"at"`
	// Text is a note's body, or the reason given for a reroute or a move
	// between audiences.
	Text string `json:"text,omitempty"`
	// FromPool and ToPool name a reroute's pools.
	FromPool *PoolRef `json:"fromPool,omitempty"`
	ToPool   *PoolRef `json:"toPool,omitempty"`
	// Assignee is who was assigned (assigned, claimed, took_over), and
	// Previous who held it before a take-over.
	Assignee *Party `json:"assignee,omitempty"`
	Previous *Party `json:"previous,omitempty"`
}

// Events lists what ch does to before, as history entries (without IDs).
func Events(before Conversation, ch Change, by Party, reason string) []Entry {
	after := before.Changed(ch)
	e := func(k EventKind) Entry {
		return Entry{ConversationID: before.ID, PatientID: before.Patient.ID, Kind: k, By: by, At: ch.At}
	}
	var out []Entry
	if before.Status != after.Status {
		k := EventReopened
		if after.Status == StatusClosed {
			k = EventClosed
		}
		out = append(out, e(k))
	}
	if before.Pool != after.Pool {
		r := e(EventRerouted)
		from, to := before.Pool, after.Pool
		r.FromPool, r.ToPool, r.Text = &from, &to, reason
		out = append(out, r)
	}
	if ch.Awaiting != nil && before.Awaiting != after.Awaiting {
		k := EventNeedsReply
		if after.Awaiting == AwaitingNone {
			k = EventNoReplyNeeded
		}
		out = append(out, e(k))
	}
	switch a, b := after.Assignee, before.Assignee; {
	case a == nil && b != nil:
		out = append(out, e(EventUnassigned))
	case a != nil && (b == nil || a.ID != b.ID):
		k := EventAssigned
		if a.ID == by.ID {
			k = EventClaimed
			if b != nil {
				k = EventTookOver
			}
		}
		r := e(k)
		who := *a
		r.Assignee = &who
		if k == EventTookOver {
			prev := *b
			r.Previous = &prev
		}
		out = append(out, r)
	}
	return out
}

// Change is a staff change to a conversation header. Nil fields are left
// alone; an Assignee with an empty ID clears the assignment.
type Change struct {
	Status   *Status
	Assignee *Party
	// Pool reroutes the conversation; it also clears the assignment.
	Pool *PoolRef
	// Awaiting is set by "no reply needed" (AwaitingNone) and "needs
	// reply" (AwaitingStaff) on an open conversation.
	Awaiting *Awaiting
	// At is when the change happens.
	At time.Time
}

// MarkedRead is c after side read it at at. Reading changes neither whose
// turn it is nor the version that staff changes are conditional on, so
// opening a conversation never makes a manager's page stale. The store
// writes the same change, conditional on the message count c shows.
func (c Conversation) MarkedRead(side Side, at time.Time) Conversation {
	if side == SidePortal {
		c.PortalUnread, c.PortalReadAt = 0, &at
	} else {
		c.StaffUnread, c.StaffReadAt = 0, &at
	}
	return c
}

// turn sets whose turn it is; the time it began stays when the turn does
// not change hands, so a parent's second message does not reset the wait.
func (c *Conversation) turn(a Awaiting, at time.Time) {
	if c.Awaiting != a || c.AwaitingSince.IsZero() {
		c.Awaiting, c.AwaitingSince = a, at
	}
	if a != AwaitingStaff {
		c.OverdueAt = nil
	}
}

// TurnAfter is whose turn it is after side writes: a family message waits
// for the practice, a staff message for the family.
func TurnAfter(side Side) Awaiting {
	if side == SidePortal {
		return AwaitingStaff
	}
	return AwaitingFamily
}

// Replied is c's turn after a message by side at at (counts and previews
// are the store's atomic updates).
func (c Conversation) Replied(side Side, at time.Time) Conversation {
	c.turn(TurnAfter(side), at)
	c.Version++
	return c
}

// Changed is c after ch. Closing ends the turn; reopening gives it to the
// practice; rerouting clears the assignment, since the new pool's staff
// pick it up.
func (c Conversation) Changed(ch Change) Conversation {
	if ch.Status != nil && *ch.Status != c.Status {
		c.Status = *ch.Status
		if c.Status == StatusClosed {
			c.turn(AwaitingNone, ch.At)
		} else {
			c.turn(AwaitingStaff, ch.At)
		}
	}
	if ch.Awaiting != nil {
		c.turn(*ch.Awaiting, ch.At)
	}
	if ch.Pool != nil {
		c.Pool = *ch.Pool
		if ch.Assignee == nil {
			ch.Assignee = &Party{}
		}
	}
	if ch.Assignee != nil {
		if ch.Assignee.ID == "" {
			c.Assignee, c.AssignedAt = nil, nil
		} else if c.Assignee == nil || c.Assignee.ID != ch.Assignee.ID {
			a, at := *ch.Assignee, ch.At
			c.Assignee, c.AssignedAt = &a, &at
		}
	}
	c.Version++
	return c
}
