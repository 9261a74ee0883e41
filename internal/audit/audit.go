// Package audit defines the audit trail: one record for every read or write
// of a patient's messages, stored append-only and keyed by patient.
package audit

import (
	"context"
	"time"
)

// Action is what was done.
type Action string

// Actions.
const (
	ListConversations  Action = "conversations.list"
	ReadConversation   Action = "conversation.read"
	CreateConversation Action = "conversation.create"
	Reply              Action = "message.create"
	MarkRead           Action = "conversation.mark_read"
	UpdateConversation Action = "conversation.update"
	ListInbox          Action = "inbox.list"
	Link               Action = "link.create"
	Unlink             Action = "link.delete"
	// Directory reads that return patient data.
	ListPatients Action = "patients.list" // the portal's Current Patient list
	// ReadSummary is the portal's polled summary: unread counts and
	// times per patient, no content; one record per patient.
	ReadSummary    Action = "summary.read"
	SearchPatients Action = "patients.search" // staff search: one record per patient returned
	ViewPatient    Action = "patient.view"    // staff view of a patient and its guardians
	// SearchPortalUsers is an admin's search for portal users to link. It
	// returns accounts and the IDs of their patients, no patient data, so
	// it is one record filed under the actor.
	SearchPortalUsers Action = "portalusers.search"
	// NotifyPreferences is a change of a portal user's notification
	// channels: in the portal (actor side "portal") or by a one-click
	// unsubscribe link (actor side "public"). It names no patient, so it is
	// filed under the actor.
	NotifyPreferences Action = "notify.preferences"
	// Notify is a notification sent (or that failed) to RecipientID on
	// Channel; it names no address.
	Notify Action = "notification.send"
	// Staff-only log of a conversation.
	AddNote     Action = "note.create"
	ReadWorklog Action = "worklog.read"
	// Escalate is the escalator marking a conversation overdue.
	Escalate Action = "conversation.escalate"
	// ChangeAudience is staff moving a conversation between the family
	// and the care team only.
	ChangeAudience Action = "conversation.audience"
	// ExportChart is a disclosure: the caller downloaded (a part of) the
	// patient's conversations as a file (HTML or FHIR).
	ExportChart Action = "chart.export"
	// Attachments: an upload slot issued (TargetID the attachment), the
	// processor's result (actor side "system"), and a read of a file's
	// record with its download link.
	UploadAttachment  Action = "attachment.upload"
	ProcessAttachment Action = "attachment.process"
	ReadAttachment    Action = "attachment.read"
)

// Outcome is how the request ended.
type Outcome string

// Outcomes.
const (
	Success  Outcome = "success"
	Denied   Outcome = "denied"   // authenticated but not allowed, or not found
	Rejected Outcome = "rejected" // invalid request
	Failed   Outcome = "failed"   // the service failed
	Replayed Outcome = "replayed" // an idempotent retry answered from the first result
)

// Record is one audit entry. It carries IDs only, never message text,
// subjects or names.
type Record struct {
	PatientID      string    `json:"patientId"`
	At             time.Time `json:"at"`
	ActorID        string    `json:"actorId"`
	ActorSide      string    `json:"actorSide"`
	ActorRole      string    `json:"actorRole"`
	Action         Action    `json:"action"`
	ConversationID string    `json:"conversationId,omitempty"`
	MessageID      string    `json:"messageId,omitempty"`
	Outcome        Outcome   `json:"outcome"`
	Status         int       `json:"status"`
	RequestID      string    `json:"requestId"`
	SourceIP       string    `json:"sourceIp,omitempty"`
	// TargetID is who a change concerns: the portal user linked or
	// unlinked, the new assignee.
	TargetID string `json:"targetId,omitempty"`
	// RequestedPatientID and RequestedConversationID are what a denied or
	// refused attempt asked for, when access to them was never granted.
	// Such a record is filed under its actor, not under the ID asked for.
	RequestedPatientID      string `json:"requestedPatientId,omitempty"`
	RequestedConversationID string `json:"requestedConversationId,omitempty"`
	// RecipientID and Channel, for notifications.
	RecipientID string `json:"recipientId,omitempty"`
	Channel     string `json:"channel,omitempty"`
	// Events are the history entries a change or a note stored with this
	// record, as "<kind>:<entry ID>".
	Events []string `json:"events,omitempty"`
	// Disclosed is what a download (ExportChart) held: its format, part,
	// counts and first and last conversation, as "format:fhir", "part:1",
	// "conversations:3", "messages:9", "first:<id>", "last:<id>".
	Disclosed []string `json:"disclosed,omitempty"`
}

// Writer appends records that commit with no change of their own: reads,
// denied and failed attempts, replays. A change commits its record in the
// same transaction instead.
type Writer interface {
	AppendAudit(ctx context.Context, recs ...Record) error
}
