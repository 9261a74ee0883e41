package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/httpapi"
	"github.com/pedsportal/messaging/internal/store"
)

type directoryReader interface {
	authz.Loader
	PortalUserLinks(ctx context.Context, portalUserID string) ([]domain.Link, error)
	PatientLinks(ctx context.Context, patientID string) ([]domain.Link, error)
	PortalUser(ctx context.Context, id string) (*domain.PortalUser, error)
	Pools(ctx context.Context, practiceID string) ([]domain.Pool, error)
	StaffMembers(ctx context.Context, practiceID string) ([]domain.StaffMember, error)
	SearchPatients(ctx context.Context, practiceID, q string, limit int) ([]domain.Patient, error)
}

var _ directoryReader = (*store.Store)(nil)

type linkedPatient struct {
	ID           string              `json:"id"`
	DisplayName  string              `json:"displayName"`
	DateOfBirth  string              `json:"dateOfBirth"`
	Relationship domain.Relationship `json:"relationship"`
}

type patientLink struct {
	PortalUserID   string              `json:"portalUserId"`
	PortalUserName string              `json:"portalUserName"`
	Relationship   domain.Relationship `json:"relationship"`
}

type member struct {
	ID          string           `json:"id"`
	DisplayName string           `json:"displayName"`
	Role        domain.StaffRole `json:"role"`
}

// searchLimit caps patient search results: enough to pick from, not a way
// to page through the roster.
const searchLimit = 25

// NewDirectory serves the read-only directory routes: the Current Patient
// list and pools for portal users; the caller's profile, pools, staff, patient
// search and a patient's linked portal users for staff. It touches no
// messages, so it writes no audit record. Errors: EForbidden, ENotFound,
// EInvalid.
func NewDirectory(d Deps) Handler {
	b, db := newBase(d), directoryReader(d.Store)
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return b.serve(ctx, req, "", func(c *call) (events.APIGatewayV2HTTPResponse, error) {
			route := c.req.RouteKey
			if c.p.Side == domain.SidePortal {
				return portalDirectory(c, db, route)
			}
			return staffDirectory(c, db, route)
		})
	}
}

func portalDirectory(c *call, db directoryReader, route string) (events.APIGatewayV2HTTPResponse, error) {
	switch route {
	case "GET /portal/patients":
		links, err := db.PortalUserLinks(c.ctx, c.p.ID)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		items := make([]linkedPatient, len(links))
		for i, l := range links {
			items[i] = linkedPatient{l.PatientID, l.PatientName, l.PatientDOB, l.Relationship}
		}
		return httpapi.JSON(http.StatusOK, listResponse[linkedPatient]{Items: items}), nil
	case "GET /portal/pools":
		u, err := db.PortalUser(c.ctx, c.p.ID)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if u == nil {
			return events.APIGatewayV2HTTPResponse{}, domain.Errorf(domain.EForbidden, "your account is not enrolled with a practice")
		}
		return poolList(c, db, u.PracticeID)
	}
	return events.APIGatewayV2HTTPResponse{}, domain.ErrNotFound
}

func poolList(c *call, db directoryReader, practiceID string) (events.APIGatewayV2HTTPResponse, error) {
	pools, err := db.Pools(c.ctx, practiceID)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if pools == nil {
		pools = []domain.Pool{}
	}
	return httpapi.JSON(http.StatusOK, listResponse[domain.Pool]{Items: pools}), nil
}

func staffDirectory(c *call, db directoryReader, route string) (events.APIGatewayV2HTTPResponse, error) {
	if route == "GET /staff/patients/{patientId}" {
		pid := c.path("patientId")
		g, err := authz.Patient(c.ctx, db, c.p, pid, authz.Extra{})
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		links, err := db.PatientLinks(c.ctx, pid)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		out := struct {
			Patient domain.Patient `json:"patient"`
			Links   []patientLink  `json:"links"`
		}{Patient: *g.Record, Links: make([]patientLink, len(links))}
		for i, l := range links {
			out.Links[i] = patientLink{l.PortalUserID, l.PortalUserName, l.Relationship}
		}
		return httpapi.JSON(http.StatusOK, out), nil
	}
	me, err := authz.Staff(c.ctx, db, c.p)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	switch route {
	case "GET /staff/me":
		return httpapi.JSON(http.StatusOK, me), nil
	case "GET /staff/pools":
		return poolList(c, db, me.PracticeID)
	case "GET /staff/members":
		staff, err := db.StaffMembers(c.ctx, me.PracticeID)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		items := make([]member, len(staff))
		for i, s := range staff {
			items[i] = member{s.ID, s.DisplayName, s.Role}
		}
		return httpapi.JSON(http.StatusOK, listResponse[member]{Items: items}), nil
	case "POST /staff/patients/search":
		var in struct {
			Query string `json:"query"`
		}
		if err := httpapi.Decode(c.req, &in, false); err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if n := len([]rune(strings.TrimSpace(in.Query))); n < 2 || n > 100 {
			return events.APIGatewayV2HTTPResponse{}, domain.Invalid("query", "query must be 2 to 100 characters: part of a name, or a date of birth as YYYY-MM-DD")
		}
		found, err := db.SearchPatients(c.ctx, me.PracticeID, in.Query, searchLimit)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{}, err
		}
		if found == nil {
			found = []domain.Patient{}
		}
		return httpapi.JSON(http.StatusOK, listResponse[domain.Patient]{Items: found}), nil
	}
	return events.APIGatewayV2HTTPResponse{}, domain.ErrNotFound
}
