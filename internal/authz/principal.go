// Package authz decides who may do what. API Gateway has already verified
// the token; this package reads its claims, cross-checks them as defence in
// depth (issuer, app client, token use and the route's scopes), and answers
// object-level questions (is this patient the caller's?) from the directory
// on every request, denying by default.
package authz

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/routes"
)

// Principal is the authenticated caller.
type Principal struct {
	ID   string      // the token's sub; "" on a public route
	Side domain.Side // the route's audience, which chose the authorizer
	// Groups are the staff member's Cognito groups that name a role. They
	// are display hints only: rights come from the directory record.
	Groups []domain.StaffRole
}

// Audience is what one side's access tokens must carry.
type Audience struct {
	Issuer   string // the user pool's issuer URL, exactly
	ClientID string // the app client the pages sign in with
}

// Audiences are the expected token issuers and app clients per side.
type Audiences map[domain.Side]Audience

var errUnauthorized = domain.Errorf(domain.EUnauthorized, "a valid access token is required")

// SidePublic is the side of a caller on a public route (routes.Public):
// nobody signed in. Such a principal has no ID; whatever the request
// carries that authorises it (a signed link) is the operation's to check,
// and no directory decision ever accepts this side.
const SidePublic domain.Side = "public"

// FromEvent reads the principal from the JWT authorizer's claims for route.
// It refuses, even if API Gateway were misconfigured, a token of another
// issuer or app client, anything but an access token, and a token without
// the route's scopes. A public route has no authorizer: it gives the
// SidePublic principal with no ID, and its claims, if any, are not read.
// Errors: EUnauthorized when claims are missing, EForbidden otherwise.
func FromEvent(req events.APIGatewayV2HTTPRequest, route routes.Route, auds Audiences) (Principal, error) {
	var p Principal
	switch route.Audience {
	case routes.Public:
		return Principal{Side: SidePublic}, nil
	case routes.Portal:
		p.Side = domain.SidePortal
	case routes.Staff:
		p.Side = domain.SideStaff
	default:
		return p, domain.Errorf(domain.EForbidden, "this route serves no audience")
	}
	auth := req.RequestContext.Authorizer
	if auth == nil || auth.JWT == nil || auth.JWT.Claims["sub"] == "" {
		return p, errUnauthorized
	}
	claims := auth.JWT.Claims
	want, ok := auds[p.Side]
	if !ok || want.Issuer == "" || want.ClientID == "" {
		// Deny by default: an unconfigured side accepts nobody.
		return p, domain.Errorf(domain.EForbidden, "this token is not valid for %s routes", p.Side)
	}
	if claims["iss"] != want.Issuer || claims["client_id"] != want.ClientID {
		return p, domain.Errorf(domain.EForbidden, "this token is not valid for %s routes", p.Side)
	}
	if claims["token_use"] != "access" {
		return p, domain.Errorf(domain.EForbidden, "an access token is required")
	}
	granted := strings.Fields(claims["scope"])
	for _, s := range route.Scopes {
		if !slices.Contains(granted, s) {
			return p, domain.Errorf(domain.EForbidden, "the token lacks the %s scope", s)
		}
	}
	p.ID = claims["sub"]
	if p.Side == domain.SideStaff {
		for _, g := range parseGroups(claims["cognito:groups"]) {
			if r := domain.StaffRole(g); r.Valid() {
				p.Groups = append(p.Groups, r)
			}
		}
		// Removing a user from every staff group cuts them off at once.
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
