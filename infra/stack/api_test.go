package stack_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/infra/stack"
	"github.com/pedsportal/messaging/internal/routes"
)

func TestInfraRoutesAreTheLocalGatewayRoutes(t *testing.T) {
	// GIVEN the route table the local gateway routes by
	var want []string
	for _, r := range routes.All() {
		want = append(want, r.Key())
	}
	slices.Sort(want)
	for name, s := range map[string]synthesized{"full": full, "plain": plain} {
		// WHEN we read the API Gateway routes synthesized for AWS
		var got []string
		for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
			got = append(got, r.Props["RouteKey"].(string))
		}
		slices.Sort(got)
		// THEN the two sets are the same
		if !slices.Equal(got, want) {
			t.Errorf("%s: route keys\n got %v\nwant %v", name, got, want)
		}
	}
}

// authorizerIDs maps each audience to its JWT authorizer's logical ID.
func authorizerIDs(t *testing.T, s synthesized) map[routes.Audience]string {
	t.Helper()
	ids := map[routes.Audience]string{}
	for _, a := range []routes.Audience{routes.Portal, routes.Staff} {
		for _, r := range s.resources("AWS::ApiGatewayV2::Authorizer") {
			if r.Props["Name"] == string(a) {
				ids[a] = r.ID
			}
		}
		if ids[a] == "" {
			t.Fatalf("no authorizer named %s", a)
		}
	}
	return ids
}

func TestEveryRouteHasItsAudiencesJWTAuthorizerAndScopes(t *testing.T) {
	// GIVEN the authorizers and the route table
	auth := authorizerIDs(t, full)
	byKey := map[string]routes.Route{}
	for _, r := range routes.All() {
		byKey[r.Key()] = r
	}
	// WHEN we read every synthesized route
	for _, r := range full.resources("AWS::ApiGatewayV2::Route") {
		want := byKey[r.Props["RouteKey"].(string)]
		if want.Audience == routes.Public {
			continue // TestOnlyPublicRoutesHaveNoAuthorizer
		}
		// THEN it is JWT-authorized by its audience's authorizer and requires its scopes
		if r.Props["AuthorizationType"] != "JWT" || refID(r.Props["AuthorizerId"]) != auth[want.Audience] {
			t.Errorf("%s: %v by %v, want JWT by %s", want.Key(), r.Props["AuthorizationType"], r.Props["AuthorizerId"], auth[want.Audience])
		}
		if got := strs(r.Props["AuthorizationScopes"]); len(got) == 0 || !slices.Equal(got, want.Scopes) {
			t.Errorf("%s: scopes %v, want %v", want.Key(), got, want.Scopes)
		}
	}
}

func TestOnlyPublicRoutesHaveNoAuthorizer(t *testing.T) {
	// GIVEN the route table's public routes
	public := map[string]bool{}
	for _, r := range routes.All() {
		if r.Audience == routes.Public {
			public[r.Key()] = true
		}
	}
	if len(public) == 0 {
		t.Fatal("no public route in the table")
	}
	for name, s := range map[string]synthesized{"full": full, "plain": plain} {
		// WHEN we read every synthesized route
		none := 0
		for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
			key := r.Props["RouteKey"].(string)
			jwt := r.Props["AuthorizationType"] == "JWT" && r.Props["AuthorizerId"] != nil
			// THEN exactly the public ones are unauthorised (type NONE,
			// no authorizer, no scopes), and every other is JWT
			if public[key] {
				none++
				if r.Props["AuthorizationType"] != "NONE" || r.Props["AuthorizerId"] != nil || r.Props["AuthorizationScopes"] != nil {
					t.Errorf("%s: %s: authorization %v by %v scopes %v, want NONE and none", name, key, r.Props["AuthorizationType"], r.Props["AuthorizerId"], r.Props["AuthorizationScopes"])
				}
			} else if !jwt {
				t.Errorf("%s: %s is not JWT-authorized: %v", name, key, r.Props["AuthorizationType"])
			}
		}
		if none != len(public) {
			t.Errorf("%s: %d public routes synthesized, want %d", name, none, len(public))
		}
	}
	// AND the assertions library finds every non-public route JWT-authorized
	check(t, "no other route without authorization", func() {
		for _, r := range routes.All() {
			if r.Audience != routes.Public {
				full.template.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), map[string]any{"RouteKey": r.Key(), "AuthorizationType": "JWT"})
			}
		}
	})
}

func TestPublicRouteIsThrottledAndSuppressedAlone(t *testing.T) {
	// GIVEN the stage's default throttling, which covers every route
	stage := full.only(t, "AWS::ApiGatewayV2::Stage")
	if path(stage.Props, "DefaultRouteSettings", "ThrottlingRateLimit") == nil {
		t.Fatal("no default throttling")
	}
	// AND no route setting that lifts it
	if rs := stage.Props["RouteSettings"]; rs != nil {
		t.Errorf("route settings %v override the default throttling", rs)
	}
	// WHEN we read the cdk-nag suppressions of the unauthorised-route rule
	for _, s := range []synthesized{full, plain} {
		for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
			apig4 := false
			for _, sup := range asList(path(s.json, "Resources", r.ID, "Metadata", "cdk_nag", "rules_to_suppress")) {
				if path(sup, "id") == "AwsSolutions-APIG4" {
					apig4 = true
					if reason, _ := path(sup, "reason").(string); !strings.Contains(reason, "token") || !strings.Contains(reason, "RFC 8058") {
						t.Errorf("%s: APIG4 reason %q does not say why", r.Props["RouteKey"], reason)
					}
				}
			}
			// THEN only the public route carries one
			if want := r.Props["AuthorizationType"] == "NONE"; apig4 != want {
				t.Errorf("%s: APIG4 suppressed %v, want %v", r.Props["RouteKey"], apig4, want)
			}
		}
	}
}

func TestRoutesInvokeTheirFunction(t *testing.T) {
	// GIVEN each route's function WHEN we follow route -> integration -> Lambda
	for _, r := range full.resources("AWS::ApiGatewayV2::Route") {
		key := r.Props["RouteKey"].(string)
		var want string
		for _, rr := range routes.All() {
			if rr.Key() == key {
				want = rr.Function
			}
		}
		parts := asList(path(r.Props, "Target", "Fn::Join"))
		integration := full.resource(t, refID(asList(parts[1])[1]))
		fn := refID(integration.Props["IntegrationUri"])
		// THEN it is the route's function, with payload format 2.0
		if fn != functionResource(t, full, want).ID {
			t.Errorf("%s invokes %s, want %s", key, fn, want)
		}
		if integration.Props["PayloadFormatVersion"] != "2.0" {
			t.Errorf("%s: payload format %v", key, integration.Props["PayloadFormatVersion"])
		}
	}
}

func TestJWTAuthorizersTrustTheirPoolAndClient(t *testing.T) {
	auth := authorizerIDs(t, full)
	for a, id := range auth {
		// GIVEN an audience's pool and app client
		pool := full.withPrefix(t, "AWS::Cognito::UserPool", pascal(string(a))+"UserPool").ID
		client := full.withPrefix(t, "AWS::Cognito::UserPoolClient", pascal(string(a))+"UserPoolWebClient").ID
		// WHEN we read its authorizer
		cfg := path(full.resource(t, id).Props, "JwtConfiguration")
		// THEN the issuer is the pool and the audience is exactly its client
		if !getAtt(path(cfg, "Issuer"), pool, "ProviderURL") {
			t.Errorf("%s issuer = %v", a, path(cfg, "Issuer"))
		}
		aud := asList(path(cfg, "Audience"))
		if len(aud) != 1 || refID(aud[0]) != client {
			t.Errorf("%s audience = %v, want [%s]", a, aud, client)
		}
		if got := strs(path(full.resource(t, id).Props, "IdentitySource")); !slices.Equal(got, []string{"$request.header.Authorization"}) {
			t.Errorf("%s identity source = %v", a, got)
		}
	}
}

func pascal(s string) string { return string(s[0]-'a'+'A') + s[1:] }

func TestStageThrottlingAndJSONAccessLogs(t *testing.T) {
	// GIVEN the stack's one stage
	stage := full.only(t, "AWS::ApiGatewayV2::Stage")
	// THEN default route throttling is set
	if path(stage.Props, "DefaultRouteSettings", "ThrottlingRateLimit") != float64(stack.ThrottleRateLimit) ||
		path(stage.Props, "DefaultRouteSettings", "ThrottlingBurstLimit") != float64(stack.ThrottleBurstLimit) {
		t.Errorf("DefaultRouteSettings = %v", stage.Props["DefaultRouteSettings"])
	}
	// AND access logs go, as JSON, to a log group encrypted with the key
	logs := path(stage.Props, "AccessLogSettings")
	group := full.resource(t, refID(path(logs, "DestinationArn")))
	if group.Type != "AWS::Logs::LogGroup" || !getAtt(group.Props["KmsKeyId"], full.only(t, "AWS::KMS::Key").ID, "Arn") {
		t.Errorf("access logs go to %s (%v)", group.ID, group.Props["KmsKeyId"])
	}
	var line map[string]string
	if err := json.Unmarshal([]byte(path(logs, "Format").(string)), &line); err != nil {
		t.Fatalf("access log format is not JSON: %v", err)
	}
	// AND the line carries the request ID but no path, query or body
	if line["requestId"] != "$context.requestId" {
		t.Errorf("no request ID in %v", line)
	}
	for _, v := range line {
		for _, banned := range []string{"$context.path", "$input", "$context.requestOverride"} {
			if v == banned {
				t.Errorf("access log carries %s", banned)
			}
		}
	}
	if stage.Props["StageName"] != "$default" || stage.Props["AutoDeploy"] != true {
		t.Errorf("stage %v auto-deploy %v", stage.Props["StageName"], stage.Props["AutoDeploy"])
	}
}

func TestCORSLockedToTheSiteOrigin(t *testing.T) {
	// GIVEN the stack with a custom site domain
	api := full.only(t, "AWS::ApiGatewayV2::Api")
	cors := path(api.Props, "CorsConfiguration")
	// THEN only the site's origin may call the API from a browser, without credentials
	if got := strs(path(cors, "AllowOrigins")); !slices.Equal(got, []string{"https://" + testDomain}) {
		t.Errorf("AllowOrigins = %v", got)
	}
	if path(cors, "AllowCredentials") != false {
		t.Errorf("AllowCredentials = %v", path(cors, "AllowCredentials"))
	}
	// AND without a domain the origin is the distribution's own domain
	origins := asList(path(plain.only(t, "AWS::ApiGatewayV2::Api").Props, "CorsConfiguration", "AllowOrigins"))
	dist := plain.only(t, "AWS::CloudFront::Distribution").ID
	parts := asList(path(origins[0], "Fn::Join"))
	if len(origins) != 1 || len(parts) != 2 || asList(parts[1])[0] != "https://" || !getAtt(asList(parts[1])[1], dist, "DomainName") {
		t.Errorf("plain AllowOrigins = %v, want https://<distribution domain>", origins)
	}
}

func TestCustomDomainWithTLS12DisablesDefaultEndpoint(t *testing.T) {
	// GIVEN the stack with apiDomainName and apiCertificateArn
	// WHEN we read the API and its domain
	api := full.only(t, "AWS::ApiGatewayV2::Api")
	domain := full.only(t, "AWS::ApiGatewayV2::DomainName")
	// THEN the domain uses the certificate with TLS 1.2, is mapped to the
	// stage, and the execute-api endpoint is off
	cfg := asList(domain.Props["DomainNameConfigurations"])[0]
	if domain.Props["DomainName"] != testAPIDomain || path(cfg, "SecurityPolicy") != "TLS_1_2" || path(cfg, "CertificateArn") != testCertificateArn {
		t.Errorf("domain %v config %v", domain.Props["DomainName"], cfg)
	}
	if api.Props["DisableExecuteApiEndpoint"] != true {
		t.Errorf("DisableExecuteApiEndpoint = %v", api.Props["DisableExecuteApiEndpoint"])
	}
	mapping := full.only(t, "AWS::ApiGatewayV2::ApiMapping")
	if refID(mapping.Props["DomainName"]) != domain.ID || refID(mapping.Props["ApiId"]) != api.ID {
		t.Errorf("mapping %v", mapping.Props)
	}
	// AND without a domain the default endpoint stays on
	if got := plain.only(t, "AWS::ApiGatewayV2::Api").Props["DisableExecuteApiEndpoint"]; got == true {
		t.Errorf("plain: DisableExecuteApiEndpoint = %v", got)
	}
	if n := len(plain.resources("AWS::ApiGatewayV2::DomainName")); n != 0 {
		t.Errorf("plain: %d domain names", n)
	}
}
