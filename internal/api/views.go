package api

import (
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/httpapi"
)

// conversationView is a conversation as the caller sees it: the header plus
// the caller's own unread count.
type conversationView struct {
	domain.Conversation
	Unread int `json:"unread"`
}

// The family's view leaves out the practice's workflow: who holds the
// conversation and since when, and whether it is overdue. Where the
// practice allows it, the status line of their messages names the
// assignee instead.
func viewOf(c *domain.Conversation, side domain.Side) *conversationView {
	if c == nil {
		return nil
	}
	v := &conversationView{Conversation: *c, Unread: c.UnreadFor(side)}
	if side == domain.SidePortal {
		v.Assignee, v.AssignedAt, v.OverdueAt = nil, nil, nil
	}
	return v
}

func viewsOf(cs []domain.Conversation, side domain.Side) []conversationView {
	out := make([]conversationView, len(cs))
	for i := range cs {
		out[i] = *viewOf(&cs[i], side)
	}
	return out
}

type listResponse[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"nextCursor,omitempty"`
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// pageOpts parses limit and cursor for a list bound to binding. Errors:
// EInvalid.
func (h *handler) pageOpts(r *req, binding string) (int, map[string]string, error) {
	limit, err := httpapi.Limit(r.ev, defaultLimit, maxLimit)
	if err != nil {
		return 0, nil, err
	}
	start, err := h.cursors.Decode(binding, r.ev.QueryStringParameters["cursor"])
	if err != nil {
		return 0, nil, domain.Invalid("cursor", "the cursor is invalid or expired; start again from the first page")
	}
	return limit, start, nil
}

// Page sizes.
const (
	defaultLimit = 20
	maxLimit     = 100
)
