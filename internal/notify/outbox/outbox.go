// Package outbox holds what the notifier records and the flusher sends:
// recipients, pending notifications and the repository they live in. It
// is apart from package notify, which renders the e-mails, so that
// package store (linked by every function) does not link the rendering;
// package notify names these types by alias.
package outbox

import (
	"context"
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
)

// Kind is who a recipient is.
type Kind string

// Recipient kinds.
const (
	Family Kind = "portal" // a portal user linked to the patient
	Staff  Kind = "staff"  // a staff member: digests of their pools
)

// Recipient is one person to notify, with where and how.
type Recipient struct {
	Kind     Kind
	ID       string
	Email    string
	Phone    string
	Channels domain.Channels
	// EmailUnreachable stops e-mail after a bounce or complaint.
	EmailUnreachable bool
	// Relationship is a family recipient's relationship to the patient.
	Relationship domain.Relationship
}

// CanEmail reports whether r can be e-mailed: an address that has not
// bounced or complained and, for a portal user, e-mail chosen. Staff get
// the digest at their address without a channel choice.
func (r Recipient) CanEmail() bool {
	return r.Email != "" && !r.EmailUnreachable && (r.Kind == Staff || r.Channels.Email)
}

// CanText reports whether r can be sent a text: a portal user who chose
// text and has a phone number. Staff get no texts.
func (r Recipient) CanText() bool {
	return r.Kind != Staff && r.Channels.SMS && r.Phone != ""
}

// Message is a new message as the stream shows it.
type Message struct {
	PatientID      string
	ConversationID string
	MessageID      string
	AuthorSide     domain.Side
	At             time.Time
}

// ConversationRef names a conversation in a staff digest.
type ConversationRef struct {
	PatientID, ConversationID string
}

// Pending is a notification waiting for its window to close.
type Pending struct {
	Recipient      Recipient
	PracticeID     string
	PatientID      string // family notifications
	ConversationID string // family notifications; "" for a staff digest
	// Conversations a staff digest covers.
	Conversations []ConversationRef
	// MessageID is the message an AddPending call applies, so that the
	// repository can recognise a redelivered stream record even after the
	// pending item it created was sent and removed. Informational on
	// items Due returns.
	MessageID string
	// FirstAt and LastAt are the first and last message it covers.
	FirstAt, LastAt time.Time
	DueAt           time.Time
	// Version guards against two flushes sending one notification twice.
	Version int
	// Overdue makes a staff notification an alert that its conversations
	// passed their pool's response target, apart from the digest of new
	// messages: a conversation someone opened but nobody answered is
	// still news.
	Overdue bool
}

// Repository is what notifications read and write.
type Repository interface {
	// Conversation reads a conversation header (nil when absent).
	Conversation(ctx context.Context, patientID, convID string) (*domain.Conversation, error)
	// Practice reads a practice (nil when absent).
	Practice(ctx context.Context, practiceID string) (*domain.Practice, error)
	// FamilyRecipients lists the portal users linked to a patient.
	FamilyRecipients(ctx context.Context, patientID string) ([]Recipient, error)
	// StaffRecipients lists the active staff of a practice who opted in
	// for poolID.
	StaffRecipients(ctx context.Context, practiceID, poolID string) ([]Recipient, error)
	// StaffRecipient reads one active staff member (nil when absent).
	StaffRecipient(ctx context.Context, staffID string) (*Recipient, error)
	// AddPending records p, or, when the recipient already has one pending
	// for the conversation (or a digest), adds p's message to it without
	// moving its due time. Applying the same message twice changes nothing.
	AddPending(ctx context.Context, p Pending) error
	// Due lists pending notifications due at or before now, oldest first.
	Due(ctx context.Context, now time.Time, limit int) ([]Pending, error)
	// Defer moves p's due time to until, if p is unchanged since read.
	Defer(ctx context.Context, p Pending, until time.Time) error
	// Finish removes p, if unchanged since read, and appends recs in the
	// same transaction. It reports false when p changed or is gone, and
	// then nothing is written.
	Finish(ctx context.Context, p Pending, recs []audit.Record) (bool, error)
}
