package stack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/web"
)

// StaffGroups are the staff roles; handlers read them from cognito:groups.
// Lower precedence wins when a user is in several groups.
var StaffGroups = []string{"admin", "doctor", "nurse", "frontdesk"}

// Token lifetimes per audience. Staff sessions last one shift; portal
// refresh tokens a day, so a shared family device does not stay signed in.
var tokenLifetimes = map[routes.Audience]struct{ access, refreshHours float64 }{
	routes.Staff:  {access: 30, refreshHours: 12},
	routes.Portal: {access: 60, refreshHours: 24},
}

// invitationSubject names each pool's product in the invitation e-mail.
var invitationSubject = map[routes.Audience]string{
	routes.Portal: "your practice's patient messages",
	routes.Staff:  "the practice messaging desk",
}

// pool is one audience's user pool and everything hung on it.
type pool struct {
	audience       routes.Audience
	userPool       awscognito.UserPool
	resourceServer awscognito.UserPoolResourceServer
	scope          awscognito.ResourceServerScope
	domain         awscognito.UserPoolDomain
	client         awscognito.UserPoolClient
	issuer         *string // https://cognito-idp.<region>.amazonaws.com/<poolId>
	baseURL        *string // hosted UI: https://<prefix>.auth.<region>.amazoncognito.com
}

// splitScope turns "portal/messages" into resource server "portal" and
// scope "messages", so the pools define exactly the routes' scopes.
func splitScope(full string) (server, scope string) {
	server, scope, _ = strings.Cut(full, "/")
	return server, scope
}

func audienceScope(a routes.Audience) string {
	if a == routes.Staff {
		return routes.ScopeStaff
	}
	return routes.ScopePortal
}

// newUserPools creates the two pools with their resource servers, groups
// and hosted UI domains. App clients come later: their callback URLs need
// the site's URL.
func (m *messaging) newUserPools() error {
	s := m.stack
	prefix := m.props.AuthDomainPrefix
	if prefix == "" {
		prefix = strings.ToLower(*s.StackName()) + "-" + *s.Account()
	}
	if !strings.Contains(prefix, "${Token") {
		for _, banned := range []string{"aws", "amazon", "cognito"} {
			if strings.Contains(strings.ToLower(prefix), banned) {
				return fmt.Errorf("auth domain prefix %q may not contain %q", prefix, banned)
			}
		}
	}

	m.pools = map[routes.Audience]*pool{}
	for _, a := range []routes.Audience{routes.Portal, routes.Staff} {
		id := pascal(string(a))
		var props awscognito.UserPoolProps
		if a == routes.Staff {
			props = awscognito.UserPoolProps{
				// Staff accounts are created by a practice admin only.
				SelfSignUpEnabled: jsii.Bool(false),
				Mfa:               awscognito.Mfa_REQUIRED,
				MfaSecondFactor:   &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
				PasswordPolicy: &awscognito.PasswordPolicy{
					MinLength:            jsii.Number(14),
					RequireLowercase:     jsii.Bool(true),
					RequireUppercase:     jsii.Bool(true),
					RequireDigits:        jsii.Bool(true),
					RequireSymbols:       jsii.Bool(true),
					PasswordHistorySize:  jsii.Number(12),
					TempPasswordValidity: awscdk.Duration_Days(jsii.Number(3)),
				},
			}
		} else {
			props = awscognito.UserPoolProps{
				// Portal users are created or invited by the practice.
				SelfSignUpEnabled: jsii.Bool(false),
				Mfa:               awscognito.Mfa_OPTIONAL,
				MfaSecondFactor:   &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
				PasswordPolicy: &awscognito.PasswordPolicy{
					MinLength:            jsii.Number(12),
					RequireLowercase:     jsii.Bool(true),
					RequireUppercase:     jsii.Bool(true),
					RequireDigits:        jsii.Bool(true),
					RequireSymbols:       jsii.Bool(true),
					PasswordHistorySize:  jsii.Number(5),
					TempPasswordValidity: awscdk.Duration_Days(jsii.Number(7)),
				},
			}
		}
		props.UserPoolName = jsii.String(*s.StackName() + "-" + string(a))
		props.SignInAliases = &awscognito.SignInAliases{Email: jsii.Bool(true), Username: jsii.Bool(false)}
		props.SignInCaseSensitive = jsii.Bool(false)
		props.AutoVerify = &awscognito.AutoVerifiedAttrs{Email: jsii.Bool(true)}
		props.StandardAttributes = &awscognito.StandardAttributes{
			Email: &awscognito.StandardAttribute{Required: jsii.Bool(true), Mutable: jsii.Bool(true)},
		}
		props.AccountRecovery = awscognito.AccountRecovery_EMAIL_ONLY
		props.UserInvitation = &awscognito.UserInvitationConfig{
			EmailSubject: jsii.String(invitationSubject[a]),
			EmailBody: jsii.String("You have been invited to " + invitationSubject[a] + ". Sign in with {username} " +
				"and the temporary password {####}, then choose your own password."),
		}
		// Plus tier: threat protection blocks compromised credentials and
		// risky sign-ins, and keeps an auth event history.
		props.FeaturePlan = awscognito.FeaturePlan_PLUS
		props.StandardThreatProtectionMode = awscognito.StandardThreatProtectionMode_FULL_FUNCTION
		props.DeletionProtection = jsii.Bool(true)
		props.RemovalPolicy = awscdk.RemovalPolicy_RETAIN

		up := awscognito.NewUserPool(s, jsii.String(id+"UserPool"), &props)
		server, scopeName := splitScope(audienceScope(a))
		scope := awscognito.NewResourceServerScope(&awscognito.ResourceServerScopeProps{
			ScopeName:        jsii.String(scopeName),
			ScopeDescription: jsii.String("Use the " + string(a) + " messaging API"),
		})
		rs := up.AddResourceServer(jsii.String("ResourceServer"), &awscognito.UserPoolResourceServerOptions{
			Identifier: jsii.String(server),
			Scopes:     &[]awscognito.ResourceServerScope{scope},
		})
		domain := up.AddDomain(jsii.String("HostedUi"), &awscognito.UserPoolDomainOptions{
			CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: jsii.String(prefix + "-" + string(a))},
		})
		if a == routes.Staff {
			for i, g := range StaffGroups {
				up.AddGroup(jsii.String(pascal(g)+"Group"), &awscognito.UserPoolGroupOptions{
					GroupName:   jsii.String(g),
					Description: jsii.String("Staff role " + g),
					Precedence:  jsii.Number(float64(i)),
				})
			}
		}
		m.pools[a] = &pool{
			audience:       a,
			userPool:       up,
			resourceServer: rs,
			scope:          scope,
			domain:         domain,
			issuer:         up.UserPoolProviderUrl(),
			baseURL:        domain.BaseUrl(nil),
		}
	}
	return nil
}

// newClients creates one public app client per pool: authorization code
// with PKCE (no secret, so the browser cannot hold one; Cognito accepts a
// code_challenge from any public client), the hosted UI, and callbacks and
// sign-out returns to the audience's page on the site.
func (m *messaging) newClients() {
	for _, a := range []routes.Audience{routes.Portal, routes.Staff} {
		p := m.pools[a]
		life := tokenLifetimes[a]
		p.client = p.userPool.AddClient(jsii.String("WebClient"), &awscognito.UserPoolClientOptions{
			UserPoolClientName: jsii.String(*m.stack.StackName() + "-" + string(a) + "-web"),
			GenerateSecret:     jsii.Bool(false),
			AuthFlows:          &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
			OAuth: &awscognito.OAuthSettings{
				Flows: &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
				Scopes: &[]awscognito.OAuthScope{
					awscognito.OAuthScope_OPENID(),
					awscognito.OAuthScope_ResourceServer(p.resourceServer, p.scope),
				},
				CallbackUrls: jsii.Strings(*m.siteURL + "/" + string(a) + "/"),
				// The pages sign out to their own audience's page (auth.js
				// sends logout_uri=<site>/<audience>/), which Cognito only
				// accepts when registered; the site root stays registered.
				LogoutUrls: jsii.Strings(*m.siteURL+"/", *m.siteURL+"/"+string(a)+"/"),
			},
			SupportedIdentityProviders: &[]awscognito.UserPoolClientIdentityProvider{awscognito.UserPoolClientIdentityProvider_COGNITO()},
			PreventUserExistenceErrors: jsii.Bool(true),
			EnableTokenRevocation:      jsii.Bool(true),
			AccessTokenValidity:        awscdk.Duration_Minutes(jsii.Number(life.access)),
			IdTokenValidity:            awscdk.Duration_Minutes(jsii.Number(life.access)),
			RefreshTokenValidity:       awscdk.Duration_Hours(jsii.Number(life.refreshHours)),
			AuthSessionValidity:        awscdk.Duration_Minutes(jsii.Number(5)),
		})
	}
}

// oidcClient is the audience's block of config.json. Its values are
// CloudFormation tokens until deploy time.
func (p *pool) oidcClient() web.OIDCClient {
	return web.OIDCClient{
		Issuer:       *p.issuer,
		ClientID:     *p.client.UserPoolClientId(),
		AuthorizeURL: *p.baseURL + "/oauth2/authorize",
		TokenURL:     *p.baseURL + "/oauth2/token",
		RevokeURL:    *p.baseURL + "/oauth2/revoke",
		LogoutURL:    *p.baseURL + "/logout",
		Scope:        "openid " + audienceScope(p.audience),
	}
}
