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
	PatientID      string    `json:"patientId" dynamodbav:"patientId"`
	At             time.Time `json:"at" dynamodbav:"at"`
	ActorID        string    `json:"actorId" dynamodbav:"actorId"`
	ActorSide      string    `json:"actorSide" dynamodbav:"actorSide"`
	ActorRole      string    `json:"actorRole" dynamodbav:"actorRole"`
	Action         Action    `json:"action" dynamodbav:"action"`
	ConversationID string    `json:"conversationId,omitempty" dynamodbav:"conversationId,omitempty"`
	MessageID      string    `json:"messageId,omitempty" dynamodbav:"messageId,omitempty"`
	Outcome        Outcome   `json:"outcome" dynamodbav:"outcome"`
	Status         int       `json:"status" dynamodbav:"status"`
	RequestID      string    `json:"requestId" dynamodbav:"requestId"`
	SourceIP       string    `json:"sourceIp,omitempty" dynamodbav:"sourceIp,omitempty"`
}

// Writer appends records.
type Writer interface {
	AppendAudit(ctx context.Context, r Record) error
}
