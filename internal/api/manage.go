package api

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/httpapi"
	"github.com/pedsportal/messaging/internal/store"
)

type conversationUpdater interface {
	authz.Loader
	MarkRead(ctx context.Context, patientID, convID string, side domain.Side, at time.Time) (*domain.Conversation, error)
	UpdateConversation(ctx context.Context, patientID, convID string, c store.ConversationChange) (*domain.Conversation, error)
}

var _ conversationUpdater = (*store.Store)(nil)

type conversationResponse struct {
	Conversation *conversationView `json:"conversation"`
}

// NewMarkRead marks a conversation read for the caller's side. The body is
// empty or {}. Errors: ENotFound, EMalformed.
func NewMarkRead(d Deps) Handler {
	b, db := newBase(d), conversationUpdater(d.Store)
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return b.serve(ctx, req, audit.MarkRead, func(c *call) (events.APIGatewayV2HTTPResponse, error) {
			var in struct{}
			if err := httpapi.Decode(c.req, &in, true); err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			pid, cid := c.path("patientId"), c.path("conversationId")
			if _, err := authz.Patient(ctx, db, c.p, pid, authz.Extra{}); err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			conv, err := db.MarkRead(ctx, pid, cid, c.p.Side, b.now())
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			return httpapi.JSON(http.StatusOK, conversationResponse{viewOf(conv, c.p.Side)}), nil
		})
	}
}

type changeRequest struct {
	Status *domain.Status `json:"status"`
	// AssigneeID assigns the conversation; "" clears the assignment.
	AssigneeID *string `json:"assigneeId"`
	// Version, when given, must match the conversation's current version.
	Version int `json:"version"`
}

// NewManageConversation lets staff close, reopen and assign a conversation.
// Errors: ENotFound, EInvalid, EConflict (version mismatch).
func NewManageConversation(d Deps) Handler {
	b, db := newBase(d), conversationUpdater(d.Store)
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return b.serve(ctx, req, audit.UpdateConversation, func(c *call) (events.APIGatewayV2HTTPResponse, error) {
			var in changeRequest
			if err := httpapi.Decode(c.req, &in, false); err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			if in.Status == nil && in.AssigneeID == nil {
				return events.APIGatewayV2HTTPResponse{}, domain.Invalid("status", "give status, assigneeId, or both")
			}
			if in.Status != nil && *in.Status != domain.StatusOpen && *in.Status != domain.StatusClosed {
				return events.APIGatewayV2HTTPResponse{}, domain.Invalid("status", "status must be open or closed")
			}
			extra := authz.Extra{}
			if in.AssigneeID != nil {
				extra.AssigneeID = *in.AssigneeID
			}
			pid, cid := c.path("patientId"), c.path("conversationId")
			g, err := authz.Patient(ctx, db, c.p, pid, extra)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			change := store.ConversationChange{Status: in.Status, IfVersion: in.Version}
			if in.AssigneeID != nil {
				change.Assignee = &domain.Party{}
				if a := g.Assignee; a != nil {
					change.Assignee = &domain.Party{ID: a.ID, Name: a.DisplayName, Role: string(a.Role), Side: domain.SideStaff}
				}
			}
			conv, err := db.UpdateConversation(ctx, pid, cid, change)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			return httpapi.JSON(http.StatusOK, conversationResponse{viewOf(conv, c.p.Side)}), nil
		})
	}
}

type linkAdmin interface {
	authz.Loader
	PortalUser(ctx context.Context, id string) (*domain.PortalUser, error)
	PutLink(ctx context.Context, practiceID string, l domain.Link) error
	DeleteLink(ctx context.Context, patientID, portalUserID string) (bool, error)
}

var _ linkAdmin = (*store.Store)(nil)

// NewManageLinks lets a practice admin link a portal user to a patient (PUT)
// or unlink them (DELETE). Unlinking takes effect on the user's next
// request. Errors: EForbidden (not admin), ENotFound, EInvalid.
func NewManageLinks(d Deps) Handler {
	b, db := newBase(d), linkAdmin(d.Store)
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		action := audit.Link
		if req.RequestContext.HTTP.Method == http.MethodDelete {
			action = audit.Unlink
		}
		return b.serve(ctx, req, action, func(c *call) (events.APIGatewayV2HTTPResponse, error) {
			if !c.p.Has(domain.RoleAdmin) {
				return events.APIGatewayV2HTTPResponse{}, domain.Errorf(domain.EForbidden, "only a practice admin may change links")
			}
			pid, uid := c.path("patientId"), c.path("portalUserId")
			if action == audit.Unlink {
				if _, err := authz.Patient(ctx, db, c.p, pid, authz.Extra{}); err != nil {
					return events.APIGatewayV2HTTPResponse{}, err
				}
				existed, err := db.DeleteLink(ctx, pid, uid)
				if err != nil {
					return events.APIGatewayV2HTTPResponse{}, err
				}
				if !existed {
					return events.APIGatewayV2HTTPResponse{}, domain.ErrNotFound
				}
				return httpapi.NoContent(), nil
			}
			var in struct {
				Relationship domain.Relationship `json:"relationship"`
			}
			if err := httpapi.Decode(c.req, &in, false); err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			if !in.Relationship.Valid() {
				return events.APIGatewayV2HTTPResponse{}, domain.Invalid("relationship", "relationship must be parent, guardian or self")
			}
			g, err := authz.Patient(ctx, db, c.p, pid, authz.Extra{})
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			u, err := db.PortalUser(ctx, uid)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			if u == nil || u.PracticeID != g.PracticeID {
				return events.APIGatewayV2HTTPResponse{}, domain.ErrNotFound
			}
			l := domain.Link{
				PatientID: pid, PortalUserID: uid, Relationship: in.Relationship,
				PatientName: g.Record.DisplayName, PatientDOB: g.Record.DateOfBirth, PortalUserName: u.DisplayName,
				LinkedAt: b.now(), LinkedBy: c.p.ID,
			}
			if err := db.PutLink(ctx, g.PracticeID, l); err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			return httpapi.JSON(http.StatusOK, l), nil
		})
	}
}
