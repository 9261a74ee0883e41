package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/httpapi"
	"github.com/pedsportal/messaging/internal/store"
)

type messageWriter interface {
	authz.Loader
	CreateConversation(ctx context.Context, c domain.Conversation, m domain.Message, idem store.Idempotency) (store.Written, error)
	AppendMessage(ctx context.Context, m domain.Message, idem store.Idempotency) (store.Written, error)
	Replay(ctx context.Context, patientID string, w store.Written) (*domain.Conversation, *domain.Message, error)
}

var _ messageWriter = (*store.Store)(nil)

type newConversationRequest struct {
	PortalUserID string `json:"portalUserId"` // staff only
	PoolID       string `json:"poolId"`
	Subject      string `json:"subject"`
	Body         string `json:"body"`
}

type replyRequest struct {
	Body string `json:"body"`
}

type writeResponse struct {
	Conversation *conversationView `json:"conversation,omitempty"`
	Message      *domain.Message   `json:"message"`
}

// NewWriteMessage serves Write Message (a new conversation) and Reply, for
// both audiences. Both need an Idempotency-Key. Errors: EMalformed,
// EInvalid, ETooLarge, ENotFound, EConflict (closed conversation),
// EIdemMismatch.
func NewWriteMessage(d Deps) Handler {
	b, db := newBase(d), messageWriter(d.Store)
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if req.PathParameters["conversationId"] == "" {
			return b.serve(ctx, req, audit.CreateConversation, func(c *call) (events.APIGatewayV2HTTPResponse, error) {
				return b.createConversation(c, db)
			})
		}
		return b.serve(ctx, req, audit.Reply, func(c *call) (events.APIGatewayV2HTTPResponse, error) {
			return b.reply(c, db)
		})
	}
}

// requestHash binds an idempotency key to what was asked: the route, the
// path and the decoded body.
func requestHash(c *call, body any) string {
	j, _ := json.Marshal(body)
	h := sha256.New()
	h.Write([]byte(c.req.RouteKey + "\x00" + c.req.RawPath + "\x00"))
	h.Write(j)
	return hex.EncodeToString(h.Sum(nil))
}

func (b base) createConversation(c *call, db messageWriter) (events.APIGatewayV2HTTPResponse, error) {
	key, err := httpapi.IdempotencyKey(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var in newConversationRequest
	if err := httpapi.Decode(c.req, &in, false); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if c.p.Side == domain.SidePortal && in.PortalUserID != "" {
		return events.APIGatewayV2HTTPResponse{}, &domain.Error{Code: domain.EMalformed, Field: "portalUserId", Message: `unknown field "portalUserId"`}
	}
	if c.p.Side == domain.SideStaff && in.PortalUserID == "" {
		return events.APIGatewayV2HTTPResponse{}, domain.Invalid("portalUserId", "portalUserId is required")
	}
	if in.PoolID == "" {
		return events.APIGatewayV2HTTPResponse{}, domain.Invalid("poolId", "poolId is required")
	}
	if err := domain.ValidateSubject(in.Subject); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := domain.ValidateBody(in.Body); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	pid := c.path("patientId")
	g, err := authz.Patient(c.ctx, db, c.p, pid, authz.Extra{PoolID: in.PoolID, PortalUserID: in.PortalUserID})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	now := b.now()
	conv := domain.Conversation{
		ID:             ulid.Make().String(),
		Patient:        g.Patient,
		PracticeID:     g.PracticeID,
		Subject:        in.Subject,
		Pool:           domain.PoolRef{ID: g.Pool.ID, Name: g.Pool.Name},
		Status:         domain.StatusOpen,
		StartedBy:      g.Actor,
		PortalUserID:   g.Link.PortalUserID,
		CreatedAt:      now,
		LastActivityAt: now,
		MessageCount:   1,
		Preview:        domain.Preview(in.Body),
		Version:        1,
	}
	if c.p.Side == domain.SidePortal {
		conv.StaffUnread, conv.PortalReadAt = 1, &now
	} else {
		// A staff member who starts a conversation owns it until reassigned.
		conv.PortalUnread, conv.StaffReadAt = 1, &now
		me := g.Actor
		conv.Assignee = &me
	}
	msg := domain.Message{
		ID: ulid.Make().String(), ConversationID: conv.ID, PatientID: pid,
		Body: in.Body, Author: g.Actor, CreatedAt: now,
	}
	c.rec.ConversationID, c.rec.MessageID = conv.ID, msg.ID
	w, err := db.CreateConversation(c.ctx, conv, msg, store.Idempotency{CallerID: c.p.ID, Key: key, Hash: requestHash(c, in)})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if w.Replayed {
		return b.replay(c, db, pid, w, true)
	}
	return httpapi.JSON(http.StatusCreated, writeResponse{viewOf(&conv, c.p.Side), &msg}), nil
}

func (b base) reply(c *call, db messageWriter) (events.APIGatewayV2HTTPResponse, error) {
	key, err := httpapi.IdempotencyKey(c.req)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	var in replyRequest
	if err := httpapi.Decode(c.req, &in, false); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if err := domain.ValidateBody(in.Body); err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	pid, cid := c.path("patientId"), c.path("conversationId")
	g, err := authz.Patient(c.ctx, db, c.p, pid, authz.Extra{})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	msg := domain.Message{
		ID: ulid.Make().String(), ConversationID: cid, PatientID: pid,
		Body: in.Body, Author: g.Actor, CreatedAt: b.now(),
	}
	c.rec.MessageID = msg.ID
	// The header update is conditional on the conversation existing under
	// this patient, so a conversation ID from another chart is ENotFound.
	w, err := db.AppendMessage(c.ctx, msg, store.Idempotency{CallerID: c.p.ID, Key: key, Hash: requestHash(c, in)})
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if w.Replayed {
		return b.replay(c, db, pid, w, false)
	}
	return httpapi.JSON(http.StatusCreated, writeResponse{Message: &msg}), nil
}

// replay answers a retried request with what the first one stored.
func (b base) replay(c *call, db messageWriter, pid string, w store.Written, withConversation bool) (events.APIGatewayV2HTTPResponse, error) {
	c.replayed = true
	c.rec.ConversationID, c.rec.MessageID = w.ConversationID, w.MessageID
	conv, msg, err := db.Replay(c.ctx, pid, w)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	resp := writeResponse{Message: msg}
	if withConversation {
		resp.Conversation = viewOf(conv, c.p.Side)
	}
	return httpapi.JSON(http.StatusCreated, resp), nil
}
