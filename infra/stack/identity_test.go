package stack_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/internal/routes"
)

func TestStaffPoolRequiresTOTPMFAAndStrongPasswords(t *testing.T) {
	// GIVEN the staff user pool
	// THEN MFA is required with TOTP only, nobody signs up alone, and the
	// password policy is strong
	check(t, "staff pool", func() {
		full.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
			"UserPoolName":          "Full-staff",
			"MfaConfiguration":      "ON",
			"EnabledMfas":           []any{"SOFTWARE_TOKEN_MFA"},
			"AdminCreateUserConfig": map[string]any{"AllowAdminCreateUserOnly": true},
			"Policies": map[string]any{"PasswordPolicy": map[string]any{
				"MinimumLength":    14,
				"RequireLowercase": true,
				"RequireUppercase": true,
				"RequireNumbers":   true,
				"RequireSymbols":   true,
			}},
			"UserPoolAddOns":     map[string]any{"AdvancedSecurityMode": "ENFORCED"},
			"DeletionProtection": "ACTIVE",
		})
	})
	staff := full.withPrefix(t, "AWS::Cognito::UserPool", "StaffUserPool")
	if staff.Raw["DeletionPolicy"] != "Retain" {
		t.Errorf("staff pool DeletionPolicy = %v", staff.Raw["DeletionPolicy"])
	}
	// AND it has exactly the staff role groups
	var groups []string
	for _, g := range full.resources("AWS::Cognito::UserPoolGroup") {
		if refID(g.Props["UserPoolId"]) == staff.ID {
			groups = append(groups, g.Props["GroupName"].(string))
		}
	}
	slices.Sort(groups)
	if want := []string{"admin", "doctor", "frontdesk", "nurse"}; !slices.Equal(groups, want) {
		t.Errorf("staff groups = %v, want %v", groups, want)
	}
}

func TestPortalPoolIsAdminCreatedWithOptionalMFA(t *testing.T) {
	// GIVEN the portal user pool
	// THEN users are created or invited by the practice, MFA is optional
	// (TOTP), and there is a password policy
	check(t, "portal pool", func() {
		full.template.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{
			"UserPoolName":          "Full-portal",
			"MfaConfiguration":      "OPTIONAL",
			"EnabledMfas":           []any{"SOFTWARE_TOKEN_MFA"},
			"AdminCreateUserConfig": map[string]any{"AllowAdminCreateUserOnly": true},
			"Policies": map[string]any{"PasswordPolicy": assertions.Match_ObjectLike(&map[string]any{
				"MinimumLength": 12,
			})},
		})
	})
	// AND no group exists there: portal access comes from links in DynamoDB
	portal := full.withPrefix(t, "AWS::Cognito::UserPool", "PortalUserPool")
	for _, g := range full.resources("AWS::Cognito::UserPoolGroup") {
		if refID(g.Props["UserPoolId"]) == portal.ID {
			t.Errorf("portal pool has group %v", g.Props["GroupName"])
		}
	}
}

func TestResourceServersDefineTheRouteScopes(t *testing.T) {
	// GIVEN the scopes the routes require
	for _, a := range []routes.Audience{routes.Portal, routes.Staff} {
		pool := full.withPrefix(t, "AWS::Cognito::UserPool", pascal(string(a))+"UserPool").ID
		rs := full.withPrefix(t, "AWS::Cognito::UserPoolResourceServer", pascal(string(a))+"UserPoolResourceServer")
		// WHEN we read the pool's resource server
		// THEN identifier/scope is exactly the routes' scope
		scopes := asList(rs.Props["Scopes"])
		got := rs.Props["Identifier"].(string) + "/" + path(scopes[0], "ScopeName").(string)
		want := routes.ScopePortal
		if a == routes.Staff {
			want = routes.ScopeStaff
		}
		if got != want || len(scopes) != 1 || refID(rs.Props["UserPoolId"]) != pool {
			t.Errorf("%s resource server defines %s (%d scopes), want %s", a, got, len(scopes), want)
		}
	}
}

func TestAppClientsUseCodeFlowWithoutSecretAndSiteCallbacks(t *testing.T) {
	for _, a := range []routes.Audience{routes.Portal, routes.Staff} {
		// GIVEN an audience's web client
		c := full.withPrefix(t, "AWS::Cognito::UserPoolClient", pascal(string(a))+"UserPoolWebClient").Props
		// THEN it is a public client (no secret) on the code flow only
		if c["GenerateSecret"] != false || !slices.Equal(strs(c["AllowedOAuthFlows"]), []string{"code"}) {
			t.Errorf("%s: secret %v flows %v", a, c["GenerateSecret"], c["AllowedOAuthFlows"])
		}
		// AND it asks for openid and the audience's API scope
		scopes := asList(c["AllowedOAuthScopes"])
		if len(scopes) != 2 || scopes[0] != "openid" {
			t.Errorf("%s scopes %v", a, scopes)
		}
		// AND it returns to the audience's page on the site
		page := "https://" + testDomain + "/" + string(a) + "/"
		if got := strs(c["CallbackURLs"]); !slices.Equal(got, []string{page}) {
			t.Errorf("%s callbacks %v", a, got)
		}
		// AND signing out may return to that page, the logout_uri the pages
		// send (auth.js), or to the site's root; Cognito refuses any other
		if got := strs(c["LogoutURLs"]); !slices.Equal(got, []string{"https://" + testDomain + "/", page}) {
			t.Errorf("%s logout URLs %v, want the site root and %s", a, got, page)
		}
		// AND tokens are short-lived, revocable, and user existence is not leaked
		if v, _ := c["AccessTokenValidity"].(float64); v <= 0 || v > 60 || path(c, "TokenValidityUnits", "AccessToken") != "minutes" {
			t.Errorf("%s access token validity %v %v", a, c["AccessTokenValidity"], c["TokenValidityUnits"])
		}
		if v, _ := c["RefreshTokenValidity"].(float64); v <= 0 || v > 24*60 {
			t.Errorf("%s refresh token validity %v minutes, want at most a day", a, c["RefreshTokenValidity"])
		}
		// AND the pages may renew a session with the refresh token the code
		// grant returns, and revoke it on sign-out
		if !slices.Contains(strs(c["ExplicitAuthFlows"]), "ALLOW_REFRESH_TOKEN_AUTH") {
			t.Errorf("%s auth flows %v lack ALLOW_REFRESH_TOKEN_AUTH", a, c["ExplicitAuthFlows"])
		}
		if c["EnableTokenRevocation"] != true || c["PreventUserExistenceErrors"] != "ENABLED" {
			t.Errorf("%s revocation %v existence errors %v", a, c["EnableTokenRevocation"], c["PreventUserExistenceErrors"])
		}
		if !slices.Equal(strs(c["SupportedIdentityProviders"]), []string{"COGNITO"}) {
			t.Errorf("%s providers %v", a, c["SupportedIdentityProviders"])
		}
	}
	// AND without a custom domain too, on the distribution's domain name
	for _, a := range []routes.Audience{routes.Portal, routes.Staff} {
		c := plain.withPrefix(t, "AWS::Cognito::UserPoolClient", pascal(string(a))+"UserPoolWebClient").Props
		urls := asList(c["LogoutURLs"])
		if len(urls) != 2 || !strings.HasSuffix(jsonString(urls[0]), `"/"]]}`) ||
			!strings.HasSuffix(jsonString(urls[1]), `"/`+string(a)+`/"]]}`) {
			t.Errorf("plain %s logout URLs %v, want the site root and /%s/", a, jsonString(urls), a)
		}
	}
	// AND each pool has a hosted UI domain
	if n := len(full.resources("AWS::Cognito::UserPoolDomain")); n != 2 {
		t.Errorf("%d hosted UI domains, want 2", n)
	}
}
