package authz

import (
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/routes"
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
	auds := Audiences{
		domain.SidePortal: {Issuer: "https://p", ClientID: "portal-app"},
		domain.SideStaff:  {Issuer: "https://s", ClientID: "staff-app"},
	}
	portalRoute, _ := routes.ByKey("GET /portal/patients")
	staffRoute, _ := routes.ByKey("GET /staff/inbox")
	publicRoute, _ := routes.ByKey("POST /public/unsubscribe")
	portal := func(over map[string]string) map[string]string {
		c := map[string]string{"sub": "u1", "iss": "https://p", "client_id": "portal-app", "token_use": "access", "scope": "openid portal/messages"}
		for k, v := range over {
			c[k] = v
		}
		return c
	}
	staff := func(over map[string]string) map[string]string {
		c := map[string]string{"sub": "s1", "iss": "https://s", "client_id": "staff-app", "token_use": "access", "scope": "staff/messages", "cognito:groups": "[nurse]"}
		for k, v := range over {
			c[k] = v
		}
		return c
	}
	for _, tc := range []struct {
		name   string
		route  routes.Route
		claims map[string]string
		code   domain.Code // "" for success
		side   domain.Side
		groups []domain.StaffRole
	}{
		{"portal ok", portalRoute, portal(nil), "", domain.SidePortal, nil},
		{"staff groups as API Gateway flattens them", staffRoute, staff(map[string]string{"cognito:groups": "[nurse admin]"}), "", domain.SideStaff, []domain.StaffRole{"nurse", "admin"}},
		{"staff groups as JSON", staffRoute, staff(map[string]string{"cognito:groups": `["doctor"]`}), "", domain.SideStaff, []domain.StaffRole{"doctor"}},
		{"unknown groups ignored", staffRoute, staff(map[string]string{"cognito:groups": "[everyone doctor]"}), "", domain.SideStaff, []domain.StaffRole{"doctor"}},
		{"no claims", portalRoute, nil, domain.EUnauthorized, "", nil},
		{"no sub", portalRoute, portal(map[string]string{"sub": ""}), domain.EUnauthorized, "", nil},
		{"portal token on staff route", staffRoute, portal(map[string]string{"cognito:groups": "[admin]"}), domain.EForbidden, "", nil},
		{"staff token on portal route", portalRoute, staff(nil), domain.EForbidden, "", nil},
		{"id token", portalRoute, portal(map[string]string{"token_use": "id"}), domain.EForbidden, "", nil},
		{"no token_use", portalRoute, portal(map[string]string{"token_use": ""}), domain.EForbidden, "", nil},
		{"another app client of the same pool", portalRoute, portal(map[string]string{"client_id": "other-app"}), domain.EForbidden, "", nil},
		{"no app client", portalRoute, portal(map[string]string{"client_id": ""}), domain.EForbidden, "", nil},
		{"route scope missing", portalRoute, portal(map[string]string{"scope": "openid"}), domain.EForbidden, "", nil},
		{"scope is matched whole, not by prefix", staffRoute, staff(map[string]string{"scope": "staff/messages.read"}), domain.EForbidden, "", nil},
		{"staff without role", staffRoute, staff(map[string]string{"cognito:groups": ""}), domain.EForbidden, "", nil},
		{"route of no audience", routes.Route{Method: "GET", Path: "/admin/x"}, staff(nil), domain.EForbidden, "", nil},
		{"public route, no token", publicRoute, nil, "", SidePublic, nil},
		// A token on a public route is not read: it neither names the
		// caller nor gives a side.
		{"public route, portal token", publicRoute, portal(nil), "", SidePublic, nil},
		{"public route, staff token", publicRoute, staff(nil), "", SidePublic, nil},
		{"public route, forged claims", publicRoute, portal(map[string]string{"iss": "https://evil"}), "", SidePublic, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := FromEvent(event(tc.route.Key(), tc.claims), tc.route, auds)
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
			if tc.side == SidePublic && p.ID != "" {
				t.Fatalf("public principal has ID %q", p.ID)
			}
		})
	}
	// Deny by default: an audience with no configured client accepts nobody.
	if _, err := FromEvent(event(portalRoute.Key(), portal(nil)), portalRoute, Audiences{domain.SidePortal: {Issuer: "https://p"}}); domain.ErrorCode(err) != domain.EForbidden {
		t.Fatalf("unconfigured client ID: err = %v, want forbidden", err)
	}
}
