package store

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/routes"
)

// The stored shape of every item. The dynamodbav tags here are the one
// definition of the attribute names: expressions take names from them
// through attr, never from hand-typed strings, and domain types carry no
// storage tags at all.

type partyAttrs struct {
	ID           string              `dynamodbav:"id"`
	Name         string              `dynamodbav:"name"`
	Role         string              `dynamodbav:"role"`
	Side         domain.Side         `dynamodbav:"side"`
	Relationship domain.Relationship `dynamodbav:"relationship,omitempty"`
}

type poolRefAttrs struct {
	ID   string `dynamodbav:"id"`
	Name string `dynamodbav:"name"`
}

type patientRefAttrs struct {
	ID          string `dynamodbav:"id"`
	DisplayName string `dynamodbav:"displayName"`
}

// headerAttrs are a conversation header's attributes beside its keys.
type headerAttrs struct {
	ID         string          `dynamodbav:"conversationId"`
	Patient    patientRefAttrs `dynamodbav:"patient"`
	PracticeID string          `dynamodbav:"practiceId"`
	Subject    string          `dynamodbav:"subject"`
	Pool       poolRefAttrs    `dynamodbav:"pool"`
	Status     domain.Status   `dynamodbav:"status"`
	// Audience is absent on headers from before audiences (family).
	Audience       domain.Audience `dynamodbav:"audience,omitempty"`
	StartedBy      partyAttrs      `dynamodbav:"startedBy"`
	PortalUserID   string          `dynamodbav:"portalUserId"`
	Assignee       *partyAttrs     `dynamodbav:"assignee,omitempty"`
	AssignedAt     *time.Time      `dynamodbav:"assignedAt,omitempty"`
	Awaiting       domain.Awaiting `dynamodbav:"awaiting,omitempty"`
	AwaitingSince  time.Time       `dynamodbav:"awaitingSince"`
	OverdueAt      *time.Time      `dynamodbav:"overdueAt,omitempty"`
	AckedWindow    *time.Time      `dynamodbav:"ackedWindow,omitempty"`
	CreatedAt      time.Time       `dynamodbav:"createdAt"`
	LastActivityAt time.Time       `dynamodbav:"lastActivityAt"`
	MessageCount   int             `dynamodbav:"messageCount"`
	Preview        string          `dynamodbav:"preview"`
	PortalUnread   int             `dynamodbav:"portalUnread"`
	StaffUnread    int             `dynamodbav:"staffUnread"`
	PortalReadAt   *time.Time      `dynamodbav:"portalReadAt,omitempty"`
	StaffReadAt    *time.Time      `dynamodbav:"staffReadAt,omitempty"`
	Version        int             `dynamodbav:"version"`
}

// convItem is a conversation header. ActivitySK (LSI) orders one patient's
// conversations; InboxPK/InboxSK (GSI) order a practice's.
type convItem struct {
	key
	ActivitySK string `dynamodbav:"ActivitySK"`
	InboxPK    string `dynamodbav:"InboxPK"`
	InboxSK    string `dynamodbav:"InboxSK"`
	// OpenPK equals InboxPK while the conversation is open (Open index).
	OpenPK string `dynamodbav:"OpenPK,omitempty"`
	// QueuePK and PoolQueuePK name the practice's (and the pool's) queue
	// of the conversation's turn; QueueSK orders it by when the turn
	// began (Queue and PoolQueue indexes).
	QueuePK     string `dynamodbav:"QueuePK,omitempty"`
	PoolQueuePK string `dynamodbav:"PoolQueuePK,omitempty"`
	QueueSK     string `dynamodbav:"QueueSK,omitempty"`
	headerAttrs
}

type msgItem struct {
	key
	ID             string     `dynamodbav:"messageId"`
	ConversationID string     `dynamodbav:"conversationId"`
	PatientID      string     `dynamodbav:"patientId"`
	Body           string     `dynamodbav:"body"`
	Author         partyAttrs `dynamodbav:"author"`
	CreatedAt      time.Time  `dynamodbav:"createdAt"`
	Automatic      bool       `dynamodbav:"automatic,omitempty"`
	// Audience is set on confidential messages only, so that the notifier
	// can tell them from the stream's new image alone.
	Audience domain.Audience `dynamodbav:"audience,omitempty"`
	// MovedAt marks a copy made when its conversation moved between
	// audiences: the stream shows it as new, but it is news to nobody.
	MovedAt *time.Time `dynamodbav:"movedAt,omitempty"`
	// Attachments are the message's files as they were when it was
	// written (package store's attachments.go).
	Attachments []attachmentRefAttrs `dynamodbav:"attachments,omitempty"`
}

// entryItem is a note or event of a conversation's staff-only log
// (Worklog table).
type entryItem struct {
	key
	ID             string           `dynamodbav:"entryId"`
	ConversationID string           `dynamodbav:"conversationId"`
	PatientID      string           `dynamodbav:"patientId"`
	Kind           domain.EventKind `dynamodbav:"kind"`
	By             partyAttrs       `dynamodbav:"by"`
	At             time.Time        `dynamodbav:"at"`
	Text           string           `dynamodbav:"text,omitempty"`
	FromPool       *poolRefAttrs    `dynamodbav:"fromPool,omitempty"`
	ToPool         *poolRefAttrs    `dynamodbav:"toPool,omitempty"`
	Assignee       *partyAttrs      `dynamodbav:"assignee,omitempty"`
	Previous       *partyAttrs      `dynamodbav:"previous,omitempty"`
}

type patientItem struct {
	key
	ID          string `dynamodbav:"patientId"`
	PracticeID  string `dynamodbav:"practiceId"`
	DisplayName string `dynamodbav:"displayName"`
	DateOfBirth string `dynamodbav:"dateOfBirth"`
	// SearchName is the lower-cased name, for the staff search.
	SearchName string `dynamodbav:"searchName"`
}

type linkItem struct {
	key
	GSI1PK         string              `dynamodbav:"GSI1PK"`
	GSI1SK         string              `dynamodbav:"GSI1SK"`
	PatientID      string              `dynamodbav:"patientId"`
	PortalUserID   string              `dynamodbav:"portalUserId"`
	Relationship   domain.Relationship `dynamodbav:"relationship"`
	PatientName    string              `dynamodbav:"patientName"`
	PatientDOB     string              `dynamodbav:"patientDateOfBirth"`
	PortalUserName string              `dynamodbav:"portalUserName"`
	LinkedAt       time.Time           `dynamodbav:"linkedAt"`
	LinkedBy       string              `dynamodbav:"linkedBy"`
	PracticeID     string              `dynamodbav:"practiceId"`
	// EmailUnreachable copies the portal user's bounce onto each of their
	// links, so the patient view shows it without another read.
	EmailUnreachable bool `dynamodbav:"emailUnreachable,omitempty"`
	// EmailKey is domain.EmailKey of the portal user's address.
	EmailKey string `dynamodbav:"emailKey,omitempty"`
}

type staffItem struct {
	key
	ID          string           `dynamodbav:"staffId"`
	PracticeID  string           `dynamodbav:"practiceId"`
	DisplayName string           `dynamodbav:"displayName"`
	Role        domain.StaffRole `dynamodbav:"role"`
	Active      bool             `dynamodbav:"active"`
	Email       string           `dynamodbav:"email,omitempty"`
	NotifyPools []string         `dynamodbav:"notifyPools,omitempty"`
}

type poolItem struct {
	key
	ID             string `dynamodbav:"poolId"`
	PracticeID     string `dynamodbav:"practiceId"`
	Name           string `dynamodbav:"name"`
	DoctorID       string `dynamodbav:"doctorId,omitempty"`
	ResponseTarget string `dynamodbav:"responseTarget,omitempty"`
}

type portalUserItem struct {
	key
	ID          string        `dynamodbav:"portalUserId"`
	PracticeID  string        `dynamodbav:"practiceId"`
	DisplayName string        `dynamodbav:"displayName"`
	Active      bool          `dynamodbav:"active"`
	Email       string        `dynamodbav:"email,omitempty"`
	Phone       string        `dynamodbav:"phone,omitempty"`
	Notify      channelsAttrs `dynamodbav:"notify"`
	// UnreachableEmail is the address that bounced or complained; a new
	// address is reachable again.
	UnreachableEmail string `dynamodbav:"unreachableEmail,omitempty"`
}

type channelsAttrs struct {
	Email bool `dynamodbav:"email"`
	SMS   bool `dynamodbav:"sms"`
}

type practiceItem struct {
	key
	ID             string              `dynamodbav:"practiceId"`
	Name           string              `dynamodbav:"name"`
	TimeZone       string              `dynamodbav:"timeZone,omitempty"`
	PortalURL      string              `dynamodbav:"portalUrl,omitempty"`
	OfficeHours    map[string][]string `dynamodbav:"officeHours,omitempty"`
	Holidays       []string            `dynamodbav:"holidays,omitempty"`
	NurseLine      string              `dynamodbav:"nurseLine,omitempty"`
	ShowStaffNames bool                `dynamodbav:"showStaffNamesToFamilies,omitempty"`
	ConfidentialAt int                 `dynamodbav:"confidentialFromAge,omitempty"`
	ConfidentialTo []string            `dynamodbav:"confidentialPools,omitempty"`
}

type auditItem struct {
	key
	PatientID               string        `dynamodbav:"patientId"`
	At                      time.Time     `dynamodbav:"at"`
	ActorID                 string        `dynamodbav:"actorId"`
	ActorSide               string        `dynamodbav:"actorSide"`
	ActorRole               string        `dynamodbav:"actorRole"`
	Action                  audit.Action  `dynamodbav:"action"`
	ConversationID          string        `dynamodbav:"conversationId,omitempty"`
	MessageID               string        `dynamodbav:"messageId,omitempty"`
	Outcome                 audit.Outcome `dynamodbav:"outcome"`
	Status                  int           `dynamodbav:"status"`
	RequestID               string        `dynamodbav:"requestId"`
	SourceIP                string        `dynamodbav:"sourceIp,omitempty"`
	RecipientID             string        `dynamodbav:"recipientId,omitempty"`
	Channel                 string        `dynamodbav:"channel,omitempty"`
	TargetID                string        `dynamodbav:"targetId,omitempty"`
	RequestedPatientID      string        `dynamodbav:"requestedPatientId,omitempty"`
	RequestedConversationID string        `dynamodbav:"requestedConversationId,omitempty"`
	Events                  []string      `dynamodbav:"events,omitempty"`
	Disclosed               []string      `dynamodbav:"disclosed,omitempty"`
}

// Conversions between stored and domain shapes. Struct conversion works
// where the fields match exactly, so a field added on one side only fails
// to compile here instead of being dropped silently.

func partyOf(p domain.Party) partyAttrs  { return partyAttrs(p) }
func (p partyAttrs) party() domain.Party { return domain.Party(p) }

func headerOf(c domain.Conversation) headerAttrs {
	h := headerAttrs{
		ID: c.ID, Patient: patientRefAttrs(c.Patient), PracticeID: c.PracticeID, Subject: c.Subject,
		Pool: poolRefAttrs(c.Pool), Status: c.Status, Audience: c.Audience.OrFamily(), StartedBy: partyOf(c.StartedBy), PortalUserID: c.PortalUserID,
		CreatedAt: c.CreatedAt, LastActivityAt: c.LastActivityAt, MessageCount: c.MessageCount, Preview: c.Preview,
		PortalUnread: c.PortalUnread, StaffUnread: c.StaffUnread, PortalReadAt: c.PortalReadAt, StaffReadAt: c.StaffReadAt,
		Version: c.Version, AssignedAt: c.AssignedAt, Awaiting: c.Awaiting, AwaitingSince: c.AwaitingSince,
		OverdueAt: c.OverdueAt, AckedWindow: c.AckedWindow,
	}
	if c.Assignee != nil {
		a := partyOf(*c.Assignee)
		h.Assignee = &a
	}
	return h
}

func (h headerAttrs) conversation() domain.Conversation {
	c := domain.Conversation{
		ID: h.ID, Patient: domain.PatientRef(h.Patient), PracticeID: h.PracticeID, Subject: h.Subject,
		Pool: domain.PoolRef(h.Pool), Status: h.Status, Audience: h.Audience.OrFamily(), StartedBy: h.StartedBy.party(), PortalUserID: h.PortalUserID,
		CreatedAt: h.CreatedAt, LastActivityAt: h.LastActivityAt, MessageCount: h.MessageCount, Preview: h.Preview,
		PortalUnread: h.PortalUnread, StaffUnread: h.StaffUnread, PortalReadAt: h.PortalReadAt, StaffReadAt: h.StaffReadAt,
		Version: h.Version, AssignedAt: h.AssignedAt, Awaiting: h.Awaiting, AwaitingSince: h.AwaitingSince,
		OverdueAt: h.OverdueAt, AckedWindow: h.AckedWindow,
	}
	if h.Assignee != nil {
		a := h.Assignee.party()
		c.Assignee = &a
	}
	return c
}

func newMsgItem(m domain.Message) msgItem {
	return msgItem{msgKey(m.PatientID, m.Audience, m.ConversationID, m.ID), m.ID, m.ConversationID, m.PatientID, m.Body, partyOf(m.Author), m.CreatedAt, m.Automatic, confidentialOnly(m.Audience), nil, refsOf(m.Attachments)}
}

// confidentialOnly keeps the family's items as they were before audiences:
// only a confidential item carries its audience.
func confidentialOnly(a domain.Audience) domain.Audience {
	if a == domain.AudienceConfidential {
		return a
	}
	return ""
}

func (m msgItem) message() domain.Message {
	return domain.Message{ID: m.ID, ConversationID: m.ConversationID, PatientID: m.PatientID, Body: m.Body, Author: m.Author.party(), CreatedAt: m.CreatedAt, Automatic: m.Automatic, Audience: m.Audience.OrFamily(), Attachments: refsFrom(m.Attachments)}
}

func newEntryItem(e domain.Entry) entryItem {
	it := entryItem{
		key: entryKey(e.PatientID, e.ConversationID, e.ID), ID: e.ID, ConversationID: e.ConversationID, PatientID: e.PatientID,
		Kind: e.Kind, By: partyOf(e.By), At: e.At, Text: e.Text,
	}
	if e.FromPool != nil {
		p := poolRefAttrs(*e.FromPool)
		it.FromPool = &p
	}
	if e.ToPool != nil {
		p := poolRefAttrs(*e.ToPool)
		it.ToPool = &p
	}
	if e.Assignee != nil {
		a := partyOf(*e.Assignee)
		it.Assignee = &a
	}
	if e.Previous != nil {
		p := partyOf(*e.Previous)
		it.Previous = &p
	}
	return it
}

func (it entryItem) entry() domain.Entry {
	e := domain.Entry{ID: it.ID, ConversationID: it.ConversationID, PatientID: it.PatientID, Kind: it.Kind, By: it.By.party(), At: it.At, Text: it.Text}
	if it.FromPool != nil {
		p := domain.PoolRef(*it.FromPool)
		e.FromPool = &p
	}
	if it.ToPool != nil {
		p := domain.PoolRef(*it.ToPool)
		e.ToPool = &p
	}
	if it.Assignee != nil {
		a := it.Assignee.party()
		e.Assignee = &a
	}
	if it.Previous != nil {
		p := it.Previous.party()
		e.Previous = &p
	}
	return e
}

func newPatientItem(k key, p domain.Patient) patientItem {
	return patientItem{k, p.ID, p.PracticeID, p.DisplayName, p.DateOfBirth, strings.ToLower(p.DisplayName)}
}

func (p patientItem) patient() domain.Patient {
	return domain.Patient{ID: p.ID, PracticeID: p.PracticeID, DisplayName: p.DisplayName, DateOfBirth: p.DateOfBirth}
}

func newLinkItem(practiceID string, l domain.Link) linkItem {
	return linkItem{
		key: linkKey(l.PatientID, l.PortalUserID), GSI1PK: pfxPortalUser + l.PortalUserID, GSI1SK: pfxPatient + l.PatientID,
		PatientID: l.PatientID, PortalUserID: l.PortalUserID, Relationship: l.Relationship, PatientName: l.PatientName,
		PatientDOB: l.PatientDOB, PortalUserName: l.PortalUserName, LinkedAt: l.LinkedAt, LinkedBy: l.LinkedBy, PracticeID: practiceID,
		EmailKey: l.EmailKey,
	}
}

func (l linkItem) link() domain.Link {
	return domain.Link{
		PatientID: l.PatientID, PortalUserID: l.PortalUserID, Relationship: l.Relationship, PatientName: l.PatientName,
		PatientDOB: l.PatientDOB, PortalUserName: l.PortalUserName, LinkedAt: l.LinkedAt, LinkedBy: l.LinkedBy,
		PracticeID: l.PracticeID, EmailUnreachable: l.EmailUnreachable, EmailKey: l.EmailKey,
	}
}

func newStaffItem(k key, m domain.StaffMember) staffItem {
	return staffItem{k, m.ID, m.PracticeID, m.DisplayName, m.Role, m.Active, m.Email, m.NotifyPools}
}

func (s staffItem) member() domain.StaffMember {
	return domain.StaffMember{ID: s.ID, PracticeID: s.PracticeID, DisplayName: s.DisplayName, Role: s.Role, Active: s.Active, Email: s.Email, NotifyPools: s.NotifyPools}
}

func newPoolItem(k key, p domain.Pool) poolItem {
	return poolItem{k, p.ID, p.PracticeID, p.Name, p.DoctorID, p.ResponseTarget}
}

func (p poolItem) pool() domain.Pool {
	return domain.Pool{ID: p.ID, PracticeID: p.PracticeID, Name: p.Name, DoctorID: p.DoctorID, ResponseTarget: p.ResponseTarget}
}

func newPortalUserItem(u domain.PortalUser) portalUserItem {
	it := portalUserItem{portalUserKey(u.ID), u.ID, u.PracticeID, u.DisplayName, u.Active, u.Email, u.Phone, channelsAttrs(u.Notify), ""}
	if u.EmailUnreachable {
		it.UnreachableEmail = u.Email
	}
	return it
}

func (u portalUserItem) portalUser() domain.PortalUser {
	return domain.PortalUser{
		ID: u.ID, PracticeID: u.PracticeID, DisplayName: u.DisplayName, Active: u.Active,
		Email: u.Email, Phone: u.Phone, Notify: domain.Channels(u.Notify),
		EmailUnreachable: u.Email != "" && u.UnreachableEmail == u.Email,
	}
}

func newPracticeItem(p domain.Practice) practiceItem {
	return practiceItem{practiceKey(p.ID), p.ID, p.Name, p.TimeZone, p.PortalURL, p.OfficeHours, p.Holidays, p.NurseLine, p.ShowStaffNames, p.ConfidentialFromAge, p.ConfidentialPools}
}

func (p practiceItem) practice() domain.Practice {
	return domain.Practice{
		ID: p.ID, Name: p.Name, TimeZone: p.TimeZone, PortalURL: p.PortalURL,
		OfficeHours: p.OfficeHours, Holidays: p.Holidays, NurseLine: p.NurseLine, ShowStaffNames: p.ShowStaffNames,
		ConfidentialFromAge: p.ConfidentialAt, ConfidentialPools: p.ConfidentialTo,
	}
}

func newAuditItem(k key, r audit.Record) auditItem {
	return auditItem{k, r.PatientID, r.At, r.ActorID, r.ActorSide, r.ActorRole, r.Action, r.ConversationID, r.MessageID, r.Outcome, r.Status, r.RequestID, r.SourceIP, r.RecipientID, r.Channel, r.TargetID, r.RequestedPatientID, r.RequestedConversationID, r.Events, r.Disclosed}
}

func (a auditItem) record() audit.Record {
	return audit.Record{
		PatientID: a.PatientID, At: a.At, ActorID: a.ActorID, ActorSide: a.ActorSide, ActorRole: a.ActorRole, Action: a.Action,
		ConversationID: a.ConversationID, MessageID: a.MessageID, Outcome: a.Outcome, Status: a.Status, RequestID: a.RequestID, SourceIP: a.SourceIP,
		RecipientID: a.RecipientID, Channel: a.Channel, TargetID: a.TargetID,
		RequestedPatientID: a.RequestedPatientID, RequestedConversationID: a.RequestedConversationID, Events: a.Events,
		Disclosed: a.Disclosed,
	}
}

// attr returns the attribute name that the dynamodbav tag of v's field
// gives (a promoted field of an embedded struct included). It runs at
// package initialisation, so a misspelt field stops every test at once.
func attr(v any, field string) string {
	f, ok := reflect.TypeOf(v).FieldByName(field)
	if !ok {
		panic(fmt.Sprintf("store: %T has no field %s", v, field))
	}
	name, _, _ := strings.Cut(f.Tag.Get("dynamodbav"), ",")
	if name == "" || name == "-" {
		panic(fmt.Sprintf("store: %T.%s has no attribute name", v, field))
	}
	return name
}

// Attribute names used in expressions.
var (
	aPK             = attr(key{}, "PK")
	aSK             = attr(key{}, "SK")
	aActivitySK     = attr(convItem{}, "ActivitySK")
	aInboxPK        = attr(convItem{}, "InboxPK")
	aInboxSK        = attr(convItem{}, "InboxSK")
	aOpenPK         = attr(convItem{}, "OpenPK")
	aQueuePK        = attr(convItem{}, "QueuePK")
	aPoolQueuePK    = attr(convItem{}, "PoolQueuePK")
	aQueueSK        = attr(convItem{}, "QueueSK")
	aAssignedAt     = attr(convItem{}, "AssignedAt")
	aAwaiting       = attr(convItem{}, "Awaiting")
	aAwaitingSince  = attr(convItem{}, "AwaitingSince")
	aOverdueAt      = attr(convItem{}, "OverdueAt")
	aAckedWindow    = attr(convItem{}, "AckedWindow")
	aGSI1PK         = attr(linkItem{}, "GSI1PK")
	aStatus         = attr(convItem{}, "Status")
	aPool           = attr(convItem{}, "Pool")
	aPoolID         = aPool + "." + attr(poolRefAttrs{}, "ID")
	aAssignee       = attr(convItem{}, "Assignee")
	aAssigneeID     = aAssignee + "." + attr(partyAttrs{}, "ID")
	aMessageCount   = attr(convItem{}, "MessageCount")
	aVersion        = attr(convItem{}, "Version")
	aLastActivityAt = attr(convItem{}, "LastActivityAt")
	aPreview        = attr(convItem{}, "Preview")
	aPortalUnread   = attr(convItem{}, "PortalUnread")
	aStaffUnread    = attr(convItem{}, "StaffUnread")
	aPortalReadAt   = attr(convItem{}, "PortalReadAt")
	aStaffReadAt    = attr(convItem{}, "StaffReadAt")
	aPracticeID     = attr(patientItem{}, "PracticeID")
	aCount          = attr(counterItem{}, "Count")
	aExpiresAt      = attr(idemItem{}, "ExpiresAt")
	aActive         = attr(portalUserItem{}, "Active")
	aNotify         = attr(portalUserItem{}, "Notify")
)

// unreadAttr and readAtAttr are side's own header attributes.
func unreadAttr(s domain.Side) string {
	if s == domain.SidePortal {
		return aPortalUnread
	}
	return aStaffUnread
}

func readAtAttr(s domain.Side) string {
	if s == domain.SidePortal {
		return aPortalReadAt
	}
	return aStaffReadAt
}

// HeaderAttributes lists every attribute an update of a conversation
// header may name: the keys and the attributes replies, mark read and
// manage change or test. Infra grants header-updating functions UpdateItem
// on exactly these (dynamodb:Attributes), so a bug cannot write any other
// attribute, an expiry say, nor rewrite what never changes (subject,
// patient, practice, author, times of creation) or a message's own
// attributes.
func HeaderAttributes() []string {
	return []string{
		aPK, aSK, aActivitySK, aInboxPK, aInboxSK, aOpenPK, aQueuePK, aPoolQueuePK, aQueueSK,
		aStatus, aAssignee, aAssignedAt, aPool, aAwaiting, aAwaitingSince, aOverdueAt, aAckedWindow,
		aLastActivityAt, aMessageCount, aPreview,
		aPortalUnread, aStaffUnread, aPortalReadAt, aStaffReadAt, aVersion,
	}
}

// HeaderAttributesFor narrows HeaderAttributes for the functions whose
// updates touch only a part of a header: mark-read changes a side's
// unread count and read time (conditional on the message count), the
// escalator sets the overdue mark (conditional on the wait it read). Infra
// and the local guard grant each function its own list, so neither can
// rewrite an assignee, a pool or a turn.
func HeaderAttributesFor(function string) []string {
	switch function {
	case routes.FnMarkRead:
		return []string{aPK, aSK, aMessageCount, aPortalUnread, aStaffUnread, aPortalReadAt, aStaffReadAt}
	case routes.FnEscalate:
		return []string{aPK, aSK, aMessageCount, aOverdueAt, aAwaiting, aAwaitingSince, aPool}
	}
	return HeaderAttributes()
}

// PreferenceAttributes lists every attribute an update of a portal user's
// notification choice may name: the keys and the channels. Infra grants
// the preferences function UpdateItem on the directory on exactly these
// (dynamodb:Attributes), so it can never reactivate an account, change an
// address or clear a bounce.
func PreferenceAttributes() []string {
	return []string{aPK, aSK, aNotify}
}
