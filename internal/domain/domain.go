// Package domain holds the product's types and rules: patients, portal users
// and their links, staff, recipient pools, conversations and messages. It
// knows nothing of DynamoDB or HTTP.
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
	ID   string `json:"id" dynamodbav:"practiceId"`
	Name string `json:"name" dynamodbav:"name"`
}

// Patient is an entry of the minimal patient directory.
type Patient struct {
	ID          string `json:"id" dynamodbav:"patientId"`
	PracticeID  string `json:"-" dynamodbav:"practiceId"`
	DisplayName string `json:"displayName" dynamodbav:"displayName"`
	DateOfBirth string `json:"dateOfBirth" dynamodbav:"dateOfBirth"` // YYYY-MM-DD
}

// PortalUser is a portal login, identified by its Cognito sub.
type PortalUser struct {
	ID          string `json:"id" dynamodbav:"portalUserId"`
	PracticeID  string `json:"-" dynamodbav:"practiceId"`
	DisplayName string `json:"displayName" dynamodbav:"displayName"`
}

// Link says a portal user may act for a patient. Links live in DynamoDB,
// not in token claims, so removing one takes effect on the next request.
type Link struct {
	PatientID      string       `json:"patientId" dynamodbav:"patientId"`
	PortalUserID   string       `json:"portalUserId" dynamodbav:"portalUserId"`
	Relationship   Relationship `json:"relationship" dynamodbav:"relationship"`
	PatientName    string       `json:"patientName" dynamodbav:"patientName"`
	PatientDOB     string       `json:"patientDateOfBirth" dynamodbav:"patientDateOfBirth"`
	PortalUserName string       `json:"portalUserName" dynamodbav:"portalUserName"`
	LinkedAt       time.Time    `json:"linkedAt" dynamodbav:"linkedAt"`
	LinkedBy       string       `json:"linkedBy" dynamodbav:"linkedBy"`
}

// StaffMember is a practice employee, identified by its Cognito sub.
type StaffMember struct {
	ID          string    `json:"id" dynamodbav:"staffId"`
	PracticeID  string    `json:"practiceId" dynamodbav:"practiceId"`
	DisplayName string    `json:"displayName" dynamodbav:"displayName"`
	Role        StaffRole `json:"role" dynamodbav:"role"`
	Active      bool      `json:"-" dynamodbav:"active"`
}

// Pool is a recipient pool portal users write to: Front desk, Nurse line,
// Billing, or one doctor.
type Pool struct {
	ID         string `json:"id" dynamodbav:"poolId"`
	PracticeID string `json:"-" dynamodbav:"practiceId"`
	Name       string `json:"name" dynamodbav:"name"`
	// DoctorID is set on a doctor's own pool.
	DoctorID string `json:"doctorId,omitempty" dynamodbav:"doctorId,omitempty"`
}

// Party is someone who takes part in a conversation.
type Party struct {
	ID   string `json:"id" dynamodbav:"id"`
	Name string `json:"name" dynamodbav:"name"`
	// Role is a StaffRole for staff, or "portal" for a portal user.
	Role string `json:"role" dynamodbav:"role"`
	Side Side   `json:"side" dynamodbav:"side"`
}

// PoolRef names a pool on a conversation.
type PoolRef struct {
	ID   string `json:"id" dynamodbav:"id"`
	Name string `json:"name" dynamodbav:"name"`
}

// PatientRef names a patient on a conversation, for the staff inbox.
type PatientRef struct {
	ID          string `json:"id" dynamodbav:"id"`
	DisplayName string `json:"displayName" dynamodbav:"displayName"`
}

// Conversation is the header of a message chain about one patient.
type Conversation struct {
	ID         string     `json:"id" dynamodbav:"conversationId"`
	Patient    PatientRef `json:"patient" dynamodbav:"patient"`
	PracticeID string     `json:"-" dynamodbav:"practiceId"`
	Subject    string     `json:"subject" dynamodbav:"subject"`
	Pool       PoolRef    `json:"pool" dynamodbav:"pool"`
	Status     Status     `json:"status" dynamodbav:"status"`
	StartedBy  Party      `json:"startedBy" dynamodbav:"startedBy"`
	// PortalUserID is the portal user a staff member wrote to, or who wrote.
	PortalUserID   string    `json:"portalUserId" dynamodbav:"portalUserId"`
	Assignee       *Party    `json:"assignee" dynamodbav:"assignee,omitempty"`
	CreatedAt      time.Time `json:"createdAt" dynamodbav:"createdAt"`
	LastActivityAt time.Time `json:"lastActivityAt" dynamodbav:"lastActivityAt"`
	MessageCount   int       `json:"messageCount" dynamodbav:"messageCount"`
	// Preview is the start of the last message, at most PreviewLen runes.
	Preview string `json:"preview" dynamodbav:"preview"`
	// Unread counts per side: messages the other side wrote since this
	// side last marked the conversation read.
	PortalUnread int        `json:"portalUnread" dynamodbav:"portalUnread"`
	StaffUnread  int        `json:"staffUnread" dynamodbav:"staffUnread"`
	PortalReadAt *time.Time `json:"portalReadAt" dynamodbav:"portalReadAt,omitempty"`
	StaffReadAt  *time.Time `json:"staffReadAt" dynamodbav:"staffReadAt,omitempty"`
	Version      int        `json:"version" dynamodbav:"version"`
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
	ID             string    `json:"id" dynamodbav:"messageId"`
	ConversationID string    `json:"conversationId" dynamodbav:"conversationId"`
	PatientID      string    `json:"patientId" dynamodbav:"patientId"`
	Body           string    `json:"body" dynamodbav:"body"`
	Author         Party     `json:"author" dynamodbav:"author"`
	CreatedAt      time.Time `json:"createdAt" dynamodbav:"createdAt"`
}
