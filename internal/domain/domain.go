// Package domain holds the product's types and rules: patients, portal users
// and their links, staff, recipient pools, conversations and messages, and
// the rules that build and change a conversation. It knows nothing of
// DynamoDB or HTTP.
package domain

import "time"

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
}

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
	StartedBy  Party      `json:"startedBy"`
	// PortalUserID is the portal user a staff member wrote to, or who wrote.
	PortalUserID   string    `json:"portalUserId"`
	Assignee       *Party    `json:"assignee"`
	CreatedAt      time.Time `json:"createdAt"`
	LastActivityAt time.Time `json:"lastActivityAt"`
	MessageCount   int       `json:"messageCount"`
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
}

// Change is a staff change to a conversation header. Nil fields are left
// alone; an Assignee with an empty ID clears the assignment.
type Change struct {
	Status   *Status
	Assignee *Party
	// IfVersion, when non-zero, makes the change conditional on the version
	// the caller saw (optimistic concurrency).
	IfVersion int
}

// MarkedRead is c after side read it at at. The store writes the same
// change, conditional on c's version, so the two cannot differ.
func (c Conversation) MarkedRead(side Side, at time.Time) Conversation {
	if side == SidePortal {
		c.PortalUnread, c.PortalReadAt = 0, &at
	} else {
		c.StaffUnread, c.StaffReadAt = 0, &at
	}
	c.Version++
	return c
}

// Changed is c after ch.
func (c Conversation) Changed(ch Change) Conversation {
	if ch.Status != nil {
		c.Status = *ch.Status
	}
	if ch.Assignee != nil {
		if ch.Assignee.ID == "" {
			c.Assignee = nil
		} else {
			a := *ch.Assignee
			c.Assignee = &a
		}
	}
	c.Version++
	return c
}
