package stack

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/internal/routes"
)

// Default stage throttling, for the whole API. A small practice makes a
// few requests a second; this leaves ample headroom while capping what a
// stolen token or a buggy page can push at DynamoDB.
const (
	ThrottleRateLimit  = 50
	ThrottleBurstLimit = 100
)

// AccessLogFormat is the API's JSON access log line. It carries IDs and
// status only: no path (it holds patient IDs), no query, no body.
var AccessLogFormat = func() string {
	b, err := json.Marshal(map[string]string{
		"requestId":          "$context.requestId",
		"time":               "$context.requestTime",
		"ip":                 "$context.identity.sourceIp",
		"routeKey":           "$context.routeKey",
		"status":             "$context.status",
		"protocol":           "$context.protocol",
		"responseLength":     "$context.responseLength",
		"responseLatency":    "$context.responseLatency",
		"integrationLatency": "$context.integrationLatency",
		"integrationStatus":  "$context.integrationStatus",
		"integrationError":   "$context.integrationErrorMessage",
		"authorizerError":    "$context.authorizer.error",
		"user":               "$context.authorizer.claims.sub",
		"clientId":           "$context.authorizer.claims.client_id",
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// Headers the pages send and may read cross-origin.
var (
	corsAllowHeaders  = []string{"authorization", "content-type", "idempotency-key"}
	corsExposeHeaders = []string{"location", "retry-after", "content-disposition", "link"}
)

// newAPI builds the HTTP API, before the functions (the flusher is told
// its URL, for unsubscribe links): CORS for the site's origin only (with
// the methods of routes.All()), the optional custom domain, default
// throttling and JSON access logs. newRoutes adds the routes.
func (m *messaging) newAPI() error {
	s := m.stack

	var methods []awsapigatewayv2.CorsHttpMethod
	for _, r := range routes.All() {
		mm := awsapigatewayv2.CorsHttpMethod(r.Method)
		if !slices.Contains(methods, mm) {
			methods = append(methods, mm)
		}
	}
	slices.Sort(methods)

	m.api = awsapigatewayv2.NewHttpApi(s, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String(*s.StackName() + "-api"),
		Description:        jsii.String("Patient-portal messaging API"),
		CreateDefaultStage: jsii.Bool(false),
		// With a custom domain, clients must use it (and its TLS policy).
		DisableExecuteApiEndpoint: jsii.Bool(m.props.APIDomainName != ""),
		CorsPreflight: &awsapigatewayv2.CorsPreflightOptions{
			AllowOrigins:     jsii.Strings(*m.siteURL),
			AllowMethods:     &methods,
			AllowHeaders:     jsii.Strings(corsAllowHeaders...),
			ExposeHeaders:    jsii.Strings(corsExposeHeaders...),
			AllowCredentials: jsii.Bool(false),
			MaxAge:           awscdk.Duration_Hours(jsii.Number(1)),
		},
	})

	var mapping *awsapigatewayv2.DomainMappingOptions
	if m.props.APIDomainName != "" {
		m.apiDomain = awsapigatewayv2.NewDomainName(s, jsii.String("ApiDomain"), &awsapigatewayv2.DomainNameProps{
			DomainName:     jsii.String(m.props.APIDomainName),
			Certificate:    awscertificatemanager.Certificate_FromCertificateArn(s, jsii.String("ApiCertificate"), jsii.String(m.props.APICertificateArn)),
			EndpointType:   awsapigatewayv2.EndpointType_REGIONAL,
			SecurityPolicy: awsapigatewayv2.SecurityPolicy_TLS_1_2,
		})
		mapping = &awsapigatewayv2.DomainMappingOptions{DomainName: m.apiDomain}
	}

	accessLogs := m.newLogGroup("ApiAccessLogs")
	stage := m.api.AddStage(jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageOptions{
		StageName:     jsii.String("$default"),
		AutoDeploy:    jsii.Bool(true),
		Throttle:      &awsapigatewayv2.ThrottleSettings{RateLimit: jsii.Number(ThrottleRateLimit), BurstLimit: jsii.Number(ThrottleBurstLimit)},
		DomainMapping: mapping,
	})
	// The L2 access-log settings take a jsii interface; the L1 property is
	// the same thing and plain data.
	stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(AccessLogFormat),
	})
	m.stage = stage

	if m.props.APIDomainName != "" {
		m.apiURL = jsii.String("https://" + m.props.APIDomainName)
	} else {
		m.apiURL = m.api.ApiEndpoint()
	}
	return nil
}

// newRoutes adds the routes of routes.All() to the API, once the functions
// exist: one JWT authorizer per signed-in audience, each route with its
// scopes (public routes with no authorizer), and one integration per HTTP
// function. Functions with another trigger (stream, schedule, SES events)
// get no integration and so no API Gateway permission to invoke them.
func (m *messaging) newRoutes() error {
	authorizers := map[routes.Audience]awsapigatewayv2authorizers.HttpJwtAuthorizer{}
	for _, a := range []routes.Audience{routes.Portal, routes.Staff} {
		p := m.pools[a]
		authorizers[a] = awsapigatewayv2authorizers.NewHttpJwtAuthorizer(jsii.String(pascal(string(a))+"Authorizer"), p.issuer,
			&awsapigatewayv2authorizers.HttpJwtAuthorizerProps{
				AuthorizerName: jsii.String(string(a)),
				JwtAudience:    &[]*string{p.client.UserPoolClientId()},
			})
	}

	integrations := map[string]awsapigatewayv2integrations.HttpLambdaIntegration{}
	for _, f := range routes.Functions() {
		if f.Trigger != routes.HTTP {
			continue
		}
		integrations[f.Name] = awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(pascal(f.Name)+"Integration"), m.functions[f.Name],
			&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
				PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
			})
	}

	m.publicRoutes = map[string]awsapigatewayv2.HttpRoute{}
	for _, r := range routes.All() {
		if integrations[r.Function] == nil {
			return fmt.Errorf("route %s: unknown function %q", r.Key(), r.Function)
		}
		opts := &awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(r.Path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(r.Method)},
			Integration: integrations[r.Function],
		}
		switch r.Audience {
		case routes.Public:
			// No authorizer at all (authorization type NONE): a mail
			// provider's one-click unsubscribe signs in nowhere. The signed
			// token in the URL is what the handler checks; the stage's
			// throttling applies as to every route.
			if len(r.Scopes) > 0 {
				return fmt.Errorf("public route %s names scopes", r.Key())
			}
			opts.Authorizer = awsapigatewayv2.NewHttpNoneAuthorizer()
		case routes.Portal, routes.Staff:
			opts.Authorizer = authorizers[r.Audience]
			opts.AuthorizationScopes = jsii.Strings(r.Scopes...)
		default:
			return fmt.Errorf("route %s: unknown audience %q", r.Key(), r.Audience)
		}
		added := m.api.AddRoutes(opts)
		if r.Audience == routes.Public {
			for _, rt := range *added {
				m.publicRoutes[r.Key()] = rt
			}
		}
	}
	return nil
}
