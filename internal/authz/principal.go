// Package authz decides who may do what. API Gateway has already verified
// the token; this package reads its claims, cross-checks the audience, and
// answers object-level questions (is this patient the caller's?) from
// DynamoDB on every request, denying by default.
package authz

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/domain"
)

// Principal is the authenticated caller.
type Principal struct {
	ID   string      // the token's sub
	Side domain.Side // from the route's prefix, which chose the authorizer
	// Groups are the staff member's Cognito groups that name a role.
	Groups []domain.StaffRole
}

// Role is the caller's role for display and audit: the first staff role by
// precedence, or "portal".
func (p Principal) Role() string {
	if p.Side == domain.SidePortal {
		return string(domain.SidePortal)
	}
	for _, r := range []domain.StaffRole{domain.RoleDoctor, domain.RoleNurse, domain.RoleFrontDesk, domain.RoleAdmin} {
		if slices.Contains(p.Groups, r) {
			return string(r)
		}
	}
	return ""
}

// Has reports whether a staff principal holds role.
func (p Principal) Has(role domain.StaffRole) bool {
	return p.Side == domain.SideStaff && slices.Contains(p.Groups, role)
}

// Issuers are the expected token issuers per side. When set, a token from
// the other audience's pool is refused even if a route were misconfigured.
type Issuers map[domain.Side]string

var errUnauthorized = domain.Errorf(domain.EUnauthorized, "a valid access token is required")

// FromEvent reads the principal from the JWT authorizer's claims. Errors:
// EUnauthorized when claims are missing, EForbidden when the token belongs
// to another audience or a staff token names no role.
func FromEvent(req events.APIGatewayV2HTTPRequest, issuers Issuers) (Principal, error) {
	var p Principal
	switch {
	case strings.Contains(req.RouteKey, " /portal/"):
		p.Side = domain.SidePortal
	case strings.Contains(req.RouteKey, " /staff/"):
		p.Side = domain.SideStaff
	default:
		return p, domain.Errorf(domain.EForbidden, "this route serves no audience")
	}
	auth := req.RequestContext.Authorizer
	if auth == nil || auth.JWT == nil || auth.JWT.Claims["sub"] == "" {
		return p, errUnauthorized
	}
	claims := auth.JWT.Claims
	if want := issuers[p.Side]; want != "" && claims["iss"] != want {
		return p, domain.Errorf(domain.EForbidden, "this token is not valid for %s routes", p.Side)
	}
	if tu := claims["token_use"]; tu != "" && tu != "access" {
		return p, domain.Errorf(domain.EForbidden, "an access token is required")
	}
	p.ID = claims["sub"]
	if p.Side == domain.SideStaff {
		for _, g := range parseGroups(claims["cognito:groups"]) {
			if r := domain.StaffRole(g); r.Valid() {
				p.Groups = append(p.Groups, r)
			}
		}
		if len(p.Groups) == 0 {
			return p, domain.Errorf(domain.EForbidden, "your account has no staff role")
		}
	}
	return p, nil
}

// parseGroups reads a list claim as API Gateway flattens it: "[a b]".
// A JSON array is accepted too.
func parseGroups(s string) []string {
	s = strings.TrimSpace(s)
	var arr []string
	if json.Unmarshal([]byte(s), &arr) == nil {
		return arr
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
}
