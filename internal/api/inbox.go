package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/httpapi"
	"github.com/pedsportal/messaging/internal/store"
)

type inboxReader interface {
	authz.Loader
	Inbox(ctx context.Context, practiceID string, f store.ConversationFilter, limit int, start map[string]string) (store.Page[domain.Conversation], error)
	OpenSummary(ctx context.Context, practiceID, staffID string) (store.Summary, error)
}

var _ inboxReader = (*store.Store)(nil)

// NewInbox is the staff inbox across the practice's patients, newest
// activity first, filtered by pool, unread, assigned to me and status. The
// page holds previews of several patients' messages, so each patient on it
// gets an audit record. Its summary route counts open conversations for
// the badge and filters; it shows no message content, so it is polled
// freely and not audited. Errors: EForbidden, EInvalid.
func NewInbox(d Deps) Handler {
	b, db, codec := newBase(d), inboxReader(d.Store), d.Cursors
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		if req.RouteKey == "GET /staff/inbox/summary" {
			return b.serve(ctx, req, "", func(c *call) (events.APIGatewayV2HTTPResponse, error) {
				me, err := authz.Staff(ctx, db, c.p)
				if err != nil {
					return events.APIGatewayV2HTTPResponse{}, err
				}
				sum, err := db.OpenSummary(ctx, me.PracticeID, me.ID)
				if err != nil {
					return events.APIGatewayV2HTTPResponse{}, err
				}
				return httpapi.JSON(http.StatusOK, sum), nil
			})
		}
		return b.serve(ctx, req, audit.ListInbox, func(c *call) (events.APIGatewayV2HTTPResponse, error) {
			q := c.req.QueryStringParameters
			status, err := statusParam(c)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			f := store.ConversationFilter{Status: status, PoolID: q["pool"]}
			if v, ok := q["unread"]; ok {
				if f.UnreadOnly, err = strconv.ParseBool(v); err != nil {
					return events.APIGatewayV2HTTPResponse{}, domain.Invalid("unread", "unread must be true or false")
				}
			}
			switch q["assigned"] {
			case "":
			case "me":
				f.AssigneeID = c.p.ID
			default:
				return events.APIGatewayV2HTTPResponse{}, domain.Invalid("assigned", "assigned must be me")
			}
			binding := cursor.Binding("staff", c.p.ID, "inbox", string(f.Status), f.PoolID, f.AssigneeID, strconv.FormatBool(f.UnreadOnly))
			limit, start, err := pageOpts(c, codec, binding)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			me, err := authz.Staff(ctx, db, c.p)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			page, err := db.Inbox(ctx, me.PracticeID, f, limit, start)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			c.patients = []string{}
			for _, conv := range page.Items {
				if !slices.Contains(c.patients, conv.Patient.ID) {
					c.patients = append(c.patients, conv.Patient.ID)
				}
			}
			next, err := codec.Encode(binding, page.LastKey)
			if err != nil {
				return events.APIGatewayV2HTTPResponse{}, err
			}
			return httpapi.JSON(http.StatusOK, listResponse[conversationView]{viewsOf(page.Items, c.p.Side), next}), nil
		})
	}
}
