package authz

import (
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/domain"
)

func event(route string, claims map[string]string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{RouteKey: route}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return ev
}

func TestFromEvent(t *testing.T) {
	issuers := Issuers{domain.SidePortal: "https://p", domain.SideStaff: "https://s"}
	for _, tc := range []struct {
		name   string
		ev     events.APIGatewayV2HTTPRequest
		code   domain.Code // "" for success
		side   domain.Side
		groups []domain.StaffRole
	}{
		{"portal ok", event("GET /portal/patients", map[string]string{"sub": "u1", "iss": "https://p", "token_use": "access"}), "", domain.SidePortal, nil},
		{"staff groups as API Gateway flattens them", event("GET /staff/inbox", map[string]string{"sub": "s1", "iss": "https://s", "cognito:groups": "[nurse admin]"}), "", domain.SideStaff, []domain.StaffRole{"nurse", "admin"}},
		{"staff groups as JSON", event("GET /staff/inbox", map[string]string{"sub": "s1", "iss": "https://s", "cognito:groups": `["doctor"]`}), "", domain.SideStaff, []domain.StaffRole{"doctor"}},
		{"unknown groups ignored", event("GET /staff/inbox", map[string]string{"sub": "s1", "iss": "https://s", "cognito:groups": "[everyone doctor]"}), "", domain.SideStaff, []domain.StaffRole{"doctor"}},
		{"no claims", event("GET /portal/patients", nil), domain.EUnauthorized, "", nil},
		{"no sub", event("GET /portal/patients", map[string]string{"iss": "https://p"}), domain.EUnauthorized, "", nil},
		{"portal token on staff route", event("GET /staff/inbox", map[string]string{"sub": "u1", "iss": "https://p", "cognito:groups": "[admin]"}), domain.EForbidden, "", nil},
		{"staff token on portal route", event("GET /portal/patients", map[string]string{"sub": "s1", "iss": "https://s"}), domain.EForbidden, "", nil},
		{"id token", event("GET /portal/patients", map[string]string{"sub": "u1", "iss": "https://p", "token_use": "id"}), domain.EForbidden, "", nil},
		{"staff without role", event("GET /staff/inbox", map[string]string{"sub": "s1", "iss": "https://s"}), domain.EForbidden, "", nil},
		{"route of no audience", event("GET /admin/x", map[string]string{"sub": "s1"}), domain.EForbidden, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := FromEvent(tc.ev, issuers)
			if tc.code != "" {
				if got := domain.ErrorCode(err); got != tc.code {
					t.Fatalf("code = %s, want %s (err %v)", got, tc.code, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Side != tc.side || !slices.Equal(p.Groups, tc.groups) {
				t.Fatalf("principal = %+v, want side %s groups %v", p, tc.side, tc.groups)
			}
		})
	}
}

func TestRoleAndHas(t *testing.T) {
	p := Principal{Side: domain.SideStaff, Groups: []domain.StaffRole{domain.RoleAdmin, domain.RoleNurse}}
	if got, want := p.Role(), "nurse"; got != want {
		t.Errorf("Role = %s, want %s (clinical role before admin)", got, want)
	}
	if !p.Has(domain.RoleAdmin) || p.Has(domain.RoleDoctor) {
		t.Errorf("Has is wrong for %v", p.Groups)
	}
	portal := Principal{Side: domain.SidePortal, Groups: []domain.StaffRole{domain.RoleAdmin}}
	if portal.Has(domain.RoleAdmin) || portal.Role() != "portal" {
		t.Errorf("a portal principal must never hold a staff role")
	}
}
