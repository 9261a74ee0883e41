package stack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/web"
)

// indexRewrite serves <dir>/index.html for /<dir>/ (the OAuth callbacks are
// /portal/ and /staff/) and redirects /<dir> to /<dir>/, as a static file
// server does. S3 behind origin access control has no index documents.
//
// The redirect's Location is the request's path plus "/", so it is only
// answered for a path of plain segments (letters, digits, "-", "_", "~",
// "."), each one non-empty: then the Location is one "/" followed by a
// path character, a same-origin path in every browser. Anything else that
// would have been redirected ("//evil", "/\evil", "/%2F%2Fevil", tabs or
// newlines, which browsers strip) names no folder of the site and gets 404.
const indexRewrite = `function handler(event) {
  var request = event.request;
  var uri = request.uri;
  if (uri.endsWith('/')) {
    request.uri = uri + 'index.html';
    return request;
  }
  var last = uri.substring(uri.lastIndexOf('/') + 1);
  if (last.indexOf('.') === -1) {
    if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(uri)) {
      return { statusCode: 404, statusDescription: 'Not Found' };
    }
    return { statusCode: 301, statusDescription: 'Moved Permanently', headers: { location: { value: uri + '/' } } };
  }
  return request;
}`

// newSiteBuckets creates the log bucket and the private, versioned site
// bucket. The pages hold no PHI; SSE-S3 keeps CloudFront's origin access
// control free of a key-policy grant on the data key.
func (m *messaging) newSiteBuckets() {
	s := m.stack
	m.logBucket = awss3.NewBucket(s, jsii.String("AccessLogBucket"), &awss3.BucketProps{
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		Versioned:         jsii.Bool(true),
		// Every writer (S3 server access logs, CloudFront standard logging
		// v2) is authorised by the bucket policy, so ACLs are off.
		ObjectOwnership: awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                          jsii.String("ExpireAccessLogs"),
			Expiration:                  awscdk.Duration_Days(jsii.Number(365)),
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(30)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	m.siteBucket = awss3.NewBucket(s, jsii.String("SiteBucket"), &awss3.BucketProps{
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		Versioned:              jsii.Bool(true),
		ServerAccessLogsBucket: m.logBucket,
		ServerAccessLogsPrefix: jsii.String("s3/site/"),
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                          jsii.String("ExpireOldPageVersions"),
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(90)),
		}},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

// apiOrigin is the origin the pages call. With a custom API domain it is
// exact. Without one it is the region's execute-api wildcard: the API's
// CORS rule names the distribution's domain, so the distribution's CSP
// cannot also name the API's ID without a dependency cycle.
func (m *messaging) apiOrigin() string {
	if m.props.APIDomainName != "" {
		return "https://" + m.props.APIDomainName
	}
	return "https://*.execute-api." + *m.stack.Region() + "." + *m.stack.UrlSuffix()
}

// bucketOrigin is the origin of the attachment buckets' presigned URLs
// (virtual-hosted: <bucket>.s3.<region>.<suffix>), as a wildcard over the
// region's buckets for the same reason as apiOrigin: each bucket's CORS
// rule names the distribution's domain, so the distribution's CSP cannot
// name the bucket. Only this region's S3, over HTTPS.
func (m *messaging) bucketOrigin() string {
	return "https://*.s3." + *m.stack.Region() + "." + *m.stack.UrlSuffix()
}

// ContentSecurityPolicy is the site's CSP: web.CSP with the API and the two
// hosted UI domains (token endpoint) as the origins the pages call, the
// upload bucket for the files they post, and the chart bucket for
// thumbnails.
func (m *messaging) contentSecurityPolicy() string {
	return web.CSP(web.Origins{
		Connect: []string{m.apiOrigin(), *m.pools[routes.Portal].baseURL, *m.pools[routes.Staff].baseURL},
		Uploads: m.bucketOrigin(),
		Files:   m.bucketOrigin(),
	})
}

// ResponseHeaders maps web.SecurityHeaders onto CloudFront's response
// headers policy: the security headers CloudFront models get their typed
// field, every other header becomes a custom header. An unknown value of a
// typed header is an error, so the two servers cannot silently differ.
func ResponseHeaders(headers map[string]string) (*awscloudfront.ResponseSecurityHeadersBehavior, *awscloudfront.ResponseCustomHeadersBehavior, error) {
	sec := &awscloudfront.ResponseSecurityHeadersBehavior{}
	var custom []*awscloudfront.ResponseCustomHeader
	names := make([]string, 0, len(headers))
	for name := range headers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := headers[name]
		switch strings.ToLower(name) {
		case "content-security-policy":
			sec.ContentSecurityPolicy = &awscloudfront.ResponseHeadersContentSecurityPolicy{ContentSecurityPolicy: jsii.String(v), Override: jsii.Bool(true)}
		case "strict-transport-security":
			hsts := &awscloudfront.ResponseHeadersStrictTransportSecurity{Override: jsii.Bool(true), IncludeSubdomains: jsii.Bool(false), Preload: jsii.Bool(false)}
			for _, d := range strings.Split(v, ";") {
				d = strings.TrimSpace(d)
				switch {
				case strings.HasPrefix(strings.ToLower(d), "max-age="):
					n, err := strconv.Atoi(d[len("max-age="):])
					if err != nil {
						return nil, nil, fmt.Errorf("%s: %q", name, v)
					}
					hsts.AccessControlMaxAge = awscdk.Duration_Seconds(jsii.Number(float64(n)))
				case strings.EqualFold(d, "includeSubDomains"):
					hsts.IncludeSubdomains = jsii.Bool(true)
				case strings.EqualFold(d, "preload"):
					hsts.Preload = jsii.Bool(true)
				case d == "":
				default:
					return nil, nil, fmt.Errorf("%s: unknown directive %q", name, d)
				}
			}
			if hsts.AccessControlMaxAge == nil {
				return nil, nil, fmt.Errorf("%s: no max-age in %q", name, v)
			}
			sec.StrictTransportSecurity = hsts
		case "x-content-type-options":
			if v != "nosniff" {
				return nil, nil, fmt.Errorf("%s: CloudFront only sends nosniff, not %q", name, v)
			}
			sec.ContentTypeOptions = &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)}
		case "referrer-policy":
			p := awscloudfront.HeadersReferrerPolicy(strings.ToUpper(strings.ReplaceAll(v, "-", "_")))
			switch p {
			case awscloudfront.HeadersReferrerPolicy_NO_REFERRER, awscloudfront.HeadersReferrerPolicy_NO_REFERRER_WHEN_DOWNGRADE,
				awscloudfront.HeadersReferrerPolicy_ORIGIN, awscloudfront.HeadersReferrerPolicy_ORIGIN_WHEN_CROSS_ORIGIN,
				awscloudfront.HeadersReferrerPolicy_SAME_ORIGIN, awscloudfront.HeadersReferrerPolicy_STRICT_ORIGIN,
				awscloudfront.HeadersReferrerPolicy_STRICT_ORIGIN_WHEN_CROSS_ORIGIN, awscloudfront.HeadersReferrerPolicy_UNSAFE_URL:
			default:
				return nil, nil, fmt.Errorf("%s: unknown value %q", name, v)
			}
			sec.ReferrerPolicy = &awscloudfront.ResponseHeadersReferrerPolicy{ReferrerPolicy: p, Override: jsii.Bool(true)}
		case "x-frame-options":
			var f awscloudfront.HeadersFrameOption
			switch strings.ToUpper(v) {
			case "DENY":
				f = awscloudfront.HeadersFrameOption_DENY
			case "SAMEORIGIN":
				f = awscloudfront.HeadersFrameOption_SAMEORIGIN
			default:
				return nil, nil, fmt.Errorf("%s: unknown value %q", name, v)
			}
			sec.FrameOptions = &awscloudfront.ResponseHeadersFrameOptions{FrameOption: f, Override: jsii.Bool(true)}
		case "x-xss-protection":
			return nil, nil, fmt.Errorf("%s: not supported here; CSP covers it", name)
		default:
			custom = append(custom, &awscloudfront.ResponseCustomHeader{Header: jsii.String(name), Value: jsii.String(v), Override: jsii.Bool(true)})
		}
	}
	var customBehavior *awscloudfront.ResponseCustomHeadersBehavior
	if len(custom) > 0 {
		customBehavior = &awscloudfront.ResponseCustomHeadersBehavior{CustomHeaders: &custom}
	}
	return sec, customBehavior, nil
}

// newDistribution serves the site bucket through CloudFront.
func (m *messaging) newDistribution() error {
	s := m.stack
	sec, custom, err := ResponseHeaders(web.SecurityHeaders(m.contentSecurityPolicy()))
	if err != nil {
		return fmt.Errorf("response headers policy: %w", err)
	}
	headers := awscloudfront.NewResponseHeadersPolicy(s, jsii.String("SecurityHeaders"), &awscloudfront.ResponseHeadersPolicyProps{
		Comment:                 jsii.String("Same security headers as the local server (package web)"),
		SecurityHeadersBehavior: sec,
		CustomHeadersBehavior:   custom,
		RemoveHeaders:           jsii.Strings("Server"),
	})
	rewrite := awscloudfront.NewFunction(s, jsii.String("IndexRewrite"), &awscloudfront.FunctionProps{
		Code:    awscloudfront.FunctionCode_FromInline(jsii.String(indexRewrite)),
		Runtime: awscloudfront.FunctionRuntime_JS_2_0(),
		Comment: jsii.String("Serve index.html for folder URLs"),
	})

	props := &awscloudfront.DistributionProps{
		Comment: jsii.String(*s.StackName() + " pages"),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:                awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(m.siteBucket, nil),
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_GET_HEAD(),
			CachePolicy:           awscloudfront.CachePolicy_CACHING_OPTIMIZED(),
			ResponseHeadersPolicy: headers,
			Compress:              jsii.Bool(true),
			FunctionAssociations: &[]*awscloudfront.FunctionAssociation{{
				EventType: awscloudfront.FunctionEventType_VIEWER_REQUEST,
				Function:  rewrite,
			}},
		},
		DefaultRootObject: jsii.String("index.html"),
		HttpVersion:       awscloudfront.HttpVersion_HTTP2_AND_3,
		PriceClass:        awscloudfront.PriceClass_PRICE_CLASS_100,
		// No legacy standard logging: its records always carry the query
		// string. Access logs go through newAccessLogDelivery instead.
		EnableLogging: jsii.Bool(false),
	}
	if m.props.DomainName != "" {
		props.DomainNames = jsii.Strings(m.props.DomainName)
		props.Certificate = awscertificatemanager.Certificate_FromCertificateArn(s, jsii.String("SiteCertificate"), jsii.String(m.props.CertificateArn))
		// Only takes effect with a certificate; the default one is fixed at TLSv1.
		props.MinimumProtocolVersion = awscloudfront.SecurityPolicyProtocol_TLS_V1_2_2021
	}
	if m.props.WAF {
		props.WebAclId = m.newWebACL()
	}
	m.distribution = awscloudfront.NewDistribution(s, jsii.String("Site"), props)
	m.newAccessLogDelivery()

	if m.props.DomainName != "" {
		m.siteURL = jsii.String("https://" + m.props.DomainName)
	} else {
		m.siteURL = jsii.String("https://" + *m.distribution.DistributionDomainName())
	}
	return nil
}

// AccessLogRegion is the only region where a CloudFront distribution can be
// a CloudWatch Logs delivery source (standard logging v2): the
// AWS::Logs::DeliverySource must be created there.
const AccessLogRegion = "us-east-1"

// AccessLogFields are the fields of each CloudFront access log record,
// everything an operator needs to follow a request or an attack and nothing
// that can carry a secret or PHI:
//   - no cs-uri-query: the OAuth code and state arrive as query parameters
//     on the sign-in redirect (/portal/?code=...&state=...);
//   - no cs(Cookie): the pages use none, and a stray one is not ours to keep;
//   - no cs(Referer): a referring URL carries its own query string;
//   - no cs-headers or cs-header-names, which include all of the above.
//
// Listing the fields is what drops the rest: a delivery without RecordFields
// gets CloudFront's default set, query string and cookies included.
var AccessLogFields = []string{
	"date", "time", "x-edge-location", "x-edge-request-id", "x-host-header",
	"c-ip", "c-port", "x-forwarded-for",
	"cs-protocol", "cs-protocol-version", "cs-method", "cs(Host)", "cs-uri-stem", "cs-bytes", "cs(User-Agent)",
	"sc-status", "sc-bytes", "sc-content-type", "sc-content-len",
	"x-edge-result-type", "x-edge-response-result-type", "x-edge-detailed-result-type",
	"time-taken", "time-to-first-byte", "ssl-protocol", "ssl-cipher",
}

// newAccessLogDelivery sends the distribution's access logs to the log
// bucket with CloudFront standard logging v2 (CloudWatch Logs vended-log
// delivery: source, destination, delivery), keeping only AccessLogFields,
// as JSON under AWSLogs/<account>/. The bucket policy lets the log
// delivery service write there for this delivery source only.
//
// A delivery source for a distribution exists only in us-east-1. A stack
// in another region therefore keeps no CloudFront access logs (the pages
// are public and hold no PHI; the API's access logs and the audit table are
// regional and unaffected); synthesis says so with a warning, and the
// README (Deploying) tells operators to deploy in us-east-1 to have them.
func (m *messaging) newAccessLogDelivery() {
	s := m.stack
	if r := *s.Region(); !*awscdk.Token_IsUnresolved(jsii.String(r)) && r != AccessLogRegion {
		awscdk.Annotations_Of(m.distribution).AddWarningV2(jsii.String("messaging:NoCloudFrontAccessLogs"), jsii.String(
			"CloudFront access logs need the stack in "+AccessLogRegion+" (standard logging v2); in "+r+" the distribution keeps none"))
		suppress(m.distribution, false, suppression{id: "AwsSolutions-CFR3", reason: "CloudFront standard logging v2, " +
			"the only logging that can leave out query strings (OAuth codes), can only be configured in " + AccessLogRegion +
			"; legacy logging would record them. The pages are public and hold no PHI; API access logs and the audit table are unaffected."})
		return
	}

	source := awslogs.NewCfnDeliverySource(s, jsii.String("SiteAccessLogSource"), &awslogs.CfnDeliverySourceProps{
		Name:        awscdk.Names_UniqueResourceName(m.distribution, &awscdk.UniqueResourceNameOptions{MaxLength: jsii.Number(60)}),
		LogType:     jsii.String("ACCESS_LOGS"),
		ResourceArn: m.distribution.DistributionArn(),
	})
	m.logBucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudFrontAccessLogDelivery"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("delivery.logs.amazonaws.com"), nil)},
		Actions:    jsii.Strings("s3:PutObject"),
		Resources:  jsii.Strings(*m.logBucket.BucketArn() + "/AWSLogs/" + *s.Account() + "/*"),
		Conditions: &map[string]interface{}{
			"StringEquals": map[string]interface{}{
				"s3:x-amz-acl":      "bucket-owner-full-control",
				"aws:SourceAccount": *s.Account(),
			},
			"ArnLike": map[string]interface{}{"aws:SourceArn": *source.AttrArn()},
		},
	}))
	destination := awslogs.NewCfnDeliveryDestination(s, jsii.String("SiteAccessLogDestination"), &awslogs.CfnDeliveryDestinationProps{
		Name:                    awscdk.Names_UniqueResourceName(m.logBucket, &awscdk.UniqueResourceNameOptions{MaxLength: jsii.Number(60)}),
		DeliveryDestinationType: jsii.String("S3"),
		DestinationResourceArn:  m.logBucket.BucketArn(),
		OutputFormat:            jsii.String("json"),
	})
	destination.Node().AddDependency(m.logBucket.Policy())
	delivery := awslogs.NewCfnDelivery(s, jsii.String("SiteAccessLogDelivery"), &awslogs.CfnDeliveryProps{
		DeliverySourceName:     source.Name(),
		DeliveryDestinationArn: destination.AttrArn(),
		RecordFields:           jsii.Strings(AccessLogFields...),
	})
	// The source is named, not referenced: order it explicitly.
	delivery.Node().AddDependency(source)

	suppress(m.distribution, false, suppression{id: "AwsSolutions-CFR3", reason: "Access logging is on, " +
		"through CloudFront standard logging v2 (the SiteAccessLog delivery into the access-log bucket), which cdk-nag " +
		"does not read; legacy logging is off because its records always include the query string (OAuth codes)."})
}

// WAFRateLimit is the requests one IP may make in five minutes.
const WAFRateLimit = 1000

// newWebACL creates a CLOUDFRONT-scope web ACL (so the stack must be in
// us-east-1) with AWS managed rules and a per-IP rate limit, logging to an
// encrypted log group with the query string (OAuth codes) redacted.
func (m *messaging) newWebACL() *string {
	s := m.stack
	visibility := func(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{
			CloudWatchMetricsEnabled: jsii.Bool(true),
			MetricName:               jsii.String(name),
			SampledRequestsEnabled:   jsii.Bool(true),
		}
	}
	managed := func(priority int, name string) *awswafv2.CfnWebACL_RuleProperty {
		return &awswafv2.CfnWebACL_RuleProperty{
			Name:           jsii.String(name),
			Priority:       jsii.Number(float64(priority)),
			OverrideAction: &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]interface{}{}},
			Statement: &awswafv2.CfnWebACL_StatementProperty{
				ManagedRuleGroupStatement: &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{
					VendorName: jsii.String("AWS"),
					Name:       jsii.String(name),
				},
			},
			VisibilityConfig: visibility(name),
		}
	}
	acl := awswafv2.NewCfnWebACL(s, jsii.String("WebAcl"), &awswafv2.CfnWebACLProps{
		Scope:            jsii.String("CLOUDFRONT"),
		Description:      jsii.String("Protects the messaging pages"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]interface{}{}},
		VisibilityConfig: visibility("MessagingSite"),
		Rules: &[]interface{}{
			managed(0, "AWSManagedRulesAmazonIpReputationList"),
			managed(1, "AWSManagedRulesCommonRuleSet"),
			managed(2, "AWSManagedRulesKnownBadInputsRuleSet"),
			&awswafv2.CfnWebACL_RuleProperty{
				Name:     jsii.String("RateLimitPerIp"),
				Priority: jsii.Number(3),
				Action:   &awswafv2.CfnWebACL_RuleActionProperty{Block: map[string]interface{}{}},
				Statement: &awswafv2.CfnWebACL_StatementProperty{
					RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
						AggregateKeyType: jsii.String("IP"),
						Limit:            jsii.Number(WAFRateLimit),
					},
				},
				VisibilityConfig: visibility("RateLimitPerIp"),
			},
		},
	})
	// WAF only logs to groups named aws-waf-logs-*.
	name := "aws-waf-logs-" + *s.StackName()
	logs := m.newNamedLogGroup("WebAclLogs", name)
	logging := awswafv2.NewCfnLoggingConfiguration(s, jsii.String("WebAclLogging"), &awswafv2.CfnLoggingConfigurationProps{
		ResourceArn: acl.AttrArn(),
		LogDestinationConfigs: &[]interface{}{s.FormatArn(&awscdk.ArnComponents{
			Service:      jsii.String("logs"),
			Resource:     jsii.String("log-group"),
			ResourceName: jsii.String(name),
			ArnFormat:    awscdk.ArnFormat_COLON_RESOURCE_NAME,
		})},
		RedactedFields: &[]interface{}{
			&awswafv2.CfnLoggingConfiguration_FieldToMatchProperty{QueryString: map[string]interface{}{}},
		},
	})
	logging.Node().AddDependency(logs)
	return acl.AttrArn()
}

// siteExcludes keeps dot-files out of the bucket (the local server refuses
// to serve them) and leaves config.json to its own deployment.
var siteExcludes = []string{".*", "*/.*", web.ConfigFile}

// deploySite uploads web.SiteDir as-is and config.json built from the
// stack's values, then invalidates the distribution. Adding a page to the
// folder needs no change here. Cache-Control matches the local server:
// pages are revalidated on every load, config.json is never stored.
func (m *messaging) deploySite() error {
	s := m.stack
	cfg := web.Config{
		APIBaseURL: *m.apiURL,
		Portal:     m.pools[routes.Portal].oidcClient(),
		Staff:      m.pools[routes.Staff].oidcClient(),
	}
	// Source_JsonData takes plain JSON values; tokens survive as strings.
	raw, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	var data map[string]interface{}
	if err := json.Unmarshal(raw, &data); err != nil {
		return err
	}
	logs := m.newLogGroup("DeploySiteLogs")
	m.siteDeployment = awss3deployment.NewBucketDeployment(s, jsii.String("DeploySite"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: m.siteBucket,
		Sources:           &[]awss3deployment.ISource{awss3deployment.Source_Asset(jsii.String(m.props.SiteDir), nil)},
		Exclude:           jsii.Strings(siteExcludes...),
		Prune:             jsii.Bool(true),
		CacheControl:      &[]awss3deployment.CacheControl{awss3deployment.CacheControl_NoCache()},
		Distribution:      m.distribution,
		DistributionPaths: jsii.Strings("/*"),
		LogGroup:          logs,
		MemoryLimit:       jsii.Number(256),
	})
	m.configDeployment = awss3deployment.NewBucketDeployment(s, jsii.String("DeployConfig"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: m.siteBucket,
		Sources:           &[]awss3deployment.ISource{awss3deployment.Source_JsonData(jsii.String(web.ConfigFile), data, nil)},
		Prune:             jsii.Bool(false),
		CacheControl:      &[]awss3deployment.CacheControl{awss3deployment.CacheControl_NoStore()},
		ContentType:       jsii.String("application/json"),
		Distribution:      m.distribution,
		DistributionPaths: jsii.Strings("/" + web.ConfigFile),
		LogGroup:          logs,
		MemoryLimit:       jsii.Number(256),
	})
	// One after the other, so the pages' prune never races the config write.
	m.configDeployment.Node().AddDependency(m.siteDeployment)
	return nil
}
