// Package notify tells families and staff that a message is waiting,
// without PHI, without floods. New messages reach it from the Messages
// table's stream (Notifier.HandleStream); it records one pending
// notification per recipient and conversation (a family member) or per
// recipient (a staff digest), so a burst within the window coalesces into
// one. The flusher (Flusher.Flush, run every minute by a schedule) sends
// what is due: nothing when the family already read the conversation in
// the app, later when it is the practice's quiet hours.
package notify

import (
	"context"

	"github.com/pedsportal/messaging/internal/notify/outbox"
)

// The recorded notifications and their repository live in package outbox,
// so that package store links them without the rendering; here they keep
// their names.
type (
	// Kind is who a recipient is.
	Kind = outbox.Kind
	// Recipient is one person to notify, with where and how.
	Recipient = outbox.Recipient
	// Message is a new message as the stream shows it.
	Message = outbox.Message
	// ConversationRef names a conversation in a staff digest.
	ConversationRef = outbox.ConversationRef
	// Pending is a notification waiting for its window to close.
	Pending = outbox.Pending
	// Repository is what notifications read and write.
	Repository = outbox.Repository
)

// Recipient kinds.
const (
	Family = outbox.Family // a portal user linked to the patient
	Staff  = outbox.Staff  // a staff member: digests of their pools
)

// Email is one e-mail to send. It carries no PHI by construction: the
// rendering reads only view: the practice, links and a count.
type Email struct {
	To          string
	Subject     string
	Text, HTML  string
	Unsubscribe string // RFC 8058 one-click URL; "" for staff digests
	// Tags are sent with the message so bounce events name the recipient
	// (never the address) without a look-up.
	Tags map[string]string
}

// Text is one text message to send.
type Text struct {
	To   string
	Body string
}

// Mailer sends e-mail (Amazon SES v2 in AWS and locally aws-ses-v2-local).
// Its errors, like a Texter's, are logged by code only (an ErrorCode()
// string method, as AWS SDK errors have), never by message; an error with a
// Permanent() bool method that reports true ends the retries at once (see
// Permanent).
type Mailer interface {
	SendEmail(ctx context.Context, e Email) error
}

// Texter sends text messages.
type Texter interface {
	SendText(ctx context.Context, t Text) error
}
