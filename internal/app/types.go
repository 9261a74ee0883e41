package app

import (
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
)

// Page is one page of a list: the items and the key to continue from.
type Page[T any] struct {
	Items   []T
	LastKey map[string]string // nil on the last page
}

// ConversationFilter narrows a list.
type ConversationFilter struct {
	// Awaiting selects one turn's queue (needs reply, waiting on family,
	// done), served by its own index partition; "" lists by activity.
	Awaiting   domain.Awaiting
	Status     domain.Status // "" for any
	PoolID     string
	AssigneeID string
	UnreadOnly bool // staff side unread
}

// Summary counts a practice's open conversations for the inbox badge and
// filters. It carries no message content.
type Summary struct {
	Open             int           `json:"open"`
	Unread           int           `json:"unread"`
	AssignedToMe     int           `json:"assignedToMe"`
	Pools            []PoolSummary `json:"pools"`
	LatestActivityAt *time.Time    `json:"latestActivityAt"`
	// LatestFamilyReadAt is the newest read by a family of an open
	// conversation: an open staff page redraws its read receipt on it.
	LatestFamilyReadAt *time.Time `json:"latestFamilyReadAt"`
}

// PoolSummary counts one pool's open conversations.
type PoolSummary struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Open   int    `json:"open"`
	Unread int    `json:"unread"`
}

// Written is the outcome of a message write.
type Written struct {
	ConversationID string
	MessageID      string
	Audience       domain.Audience // where they are kept
	// Replayed is true when an earlier request with the same key did the
	// write and nothing new was stored.
	Replayed bool
}

// Idempotency identifies a creating request.
type Idempotency struct {
	CallerID string
	Key      string
	// Hash is a digest of the request (route and body).
	Hash string
}

// DailyCap limits how many messages one caller writes about one patient in
// a day, so that one account cannot fill a child's chart.
type DailyCap struct {
	CallerID string
	Day      string // the day the write counts against, e.g. 2026-12-01
	Limit    int
	ResetAt  time.Time // when the next day starts
}

// Write is what commits with a message besides the message itself, in the
// same transaction.
type Write struct {
	Idem  Idempotency
	Audit audit.Record
	// Cap, when set, counts the write against its author's daily limit.
	Cap *DailyCap
	// Before is a reply's conversation as the access read saw it: whose
	// turn it is next follows from it.
	Before *domain.Conversation
	// Ack is the automatic acknowledgement of a family message sent while
	// the office is closed, stored after it in the same transaction; the
	// header then records AckWindow, the window it acknowledges, so that
	// each off-hours window gets one.
	Ack       *domain.Message
	AckWindow time.Time
}
