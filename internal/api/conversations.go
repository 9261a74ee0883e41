package api

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/httpapi"
	"github.com/pedsportal/messaging/internal/store"
)

type conversationLister interface {
	authz.Loader
	Conversations(ctx context.Context, patientID string, f store.ConversationFilter, limit int, start map[string]string) (store.Page[domain.Conversation], error)
}

type chainReader interface {
	authz.Loader
	Chain(ctx context.Context, patientID, convID string, limit int, start map[string]string) (*domain.Conversation, store.Page[domain.Message], error)
}

var (
	_ conversationLister = (*store.Store)(nil)
	_ chainReader        = (*store.Store)(nil)
)

func limitParam(c *call) (int, error) { return httpapi.Limit(c.req, defaultLimit, maxLimit) }

func statusParam(c *call) (domain.Status, error) {
	switch s := domain.Status(c.req.QueryStringParameters["status"]); s {
	case "", domain.StatusOpen, domain.StatusClosed:
		return s, nil
	default:
		return "", domain.Invalid("status", "status must be open or closed")
	}
}

// NewListConversations lists a patient's conversations, newest activity
// first: the portal's Messages screen and the staff chart history (closed
// conversations included). Errors: ENotFound, EInvalid.
func NewListConversations(d Deps) Handler {
	b, db, codec := newBase(d), conversationLister(d.Store), d.Cursors
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return b.serve(ctx, req, audit.ListConversations, func(c *call) (events.APIGatewayV2HTTPResponse, error) {
			status, err := statusParam(c)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			pid := c.path("patientId")
			binding := cursor.Binding(string(c.p.Side), c.p.ID, "conversations", pid, string(status))
			limit, start, err := pageOpts(c, codec, binding)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			if _, err := authz.Patient(ctx, db, c.p, pid, authz.Extra{}); err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			page, err := db.Conversations(ctx, pid, store.ConversationFilter{Status: status}, limit, start)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			next, err := codec.Encode(binding, page.LastKey)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			return httpapi.JSON(http.StatusOK, listResponse[conversationView]{viewsOf(page.Items, c.p.Side), next}), nil
		})
	}
}

type chainResponse struct {
	// Conversation is the header, on the first page only.
	Conversation *conversationView `json:"conversation,omitempty"`
	Messages     []domain.Message  `json:"messages"`
	NextCursor   string            `json:"nextCursor,omitempty"`
}

// NewGetConversation returns a conversation's whole chain, oldest first, in
// pages: Details / Read More. Errors: ENotFound (also when the conversation
// belongs to another patient), EInvalid.
func NewGetConversation(d Deps) Handler {
	b, db, codec := newBase(d), chainReader(d.Store), d.Cursors
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return b.serve(ctx, req, audit.ReadConversation, func(c *call) (events.APIGatewayV2HTTPResponse, error) {
			pid, cid := c.path("patientId"), c.path("conversationId")
			binding := cursor.Binding(string(c.p.Side), c.p.ID, "chain", pid, cid)
			limit, start, err := pageOpts(c, codec, binding)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			if _, err := authz.Patient(ctx, db, c.p, pid, authz.Extra{}); err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			conv, page, err := db.Chain(ctx, pid, cid, limit, start)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			next, err := codec.Encode(binding, page.LastKey)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			msgs := page.Items
			if msgs == nil {
				msgs = []domain.Message{}
			}
			return httpapi.JSON(http.StatusOK, chainResponse{viewOf(conv, c.p.Side), msgs, next}), nil
		})
	}
}
