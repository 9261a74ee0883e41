package stack_test

import (
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/pedsportal/messaging/infra/stack"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/web"
)

func TestBucketsArePrivateSSLOnlyVersionedAndEncrypted(t *testing.T) {
	for _, r := range full.resources("AWS::S3::Bucket") {
		// GIVEN each bucket (pages, access logs)
		p := r.Props
		// THEN public access is blocked, versioning and encryption are on
		block := p["PublicAccessBlockConfiguration"]
		for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
			if path(block, k) != true {
				t.Errorf("%s: %s = %v", r.ID, k, path(block, k))
			}
		}
		if path(p, "VersioningConfiguration", "Status") != "Enabled" {
			t.Errorf("%s: not versioned", r.ID)
		}
		if len(asList(path(p, "BucketEncryption", "ServerSideEncryptionConfiguration"))) == 0 {
			t.Errorf("%s: no default encryption", r.ID)
		}
		// AND its policy denies any request not over TLS
		if !sslOnly(t, full, r.ID) {
			t.Errorf("%s: no aws:SecureTransport deny", r.ID)
		}
	}
	// AND the pages bucket logs access to the log bucket
	site := full.withPrefix(t, "AWS::S3::Bucket", "SiteBucket")
	logs := full.withPrefix(t, "AWS::S3::Bucket", "AccessLogBucket")
	if refID(path(site.Props, "LoggingConfiguration", "DestinationBucketName")) != logs.ID {
		t.Errorf("site bucket logging = %v", site.Props["LoggingConfiguration"])
	}
}

func sslOnly(t *testing.T, s synthesized, bucket string) bool {
	t.Helper()
	for _, p := range s.resources("AWS::S3::BucketPolicy") {
		if refID(p.Props["Bucket"]) != bucket {
			continue
		}
		for _, st := range statements(p.Props["PolicyDocument"]) {
			if st["Effect"] == "Deny" && path(st, "Condition", "Bool", "aws:SecureTransport") == "false" &&
				slices.Contains(strs(st["Action"]), "s3:*") {
				return true
			}
		}
	}
	return false
}

func TestDistributionServesPagesThroughOACOverHTTPS(t *testing.T) {
	// GIVEN the stack with a custom domain and WAF
	d := path(full.only(t, "AWS::CloudFront::Distribution").Props, "DistributionConfig")
	site := full.withPrefix(t, "AWS::S3::Bucket", "SiteBucket").ID
	oac := full.only(t, "AWS::CloudFront::OriginAccessControl")

	// THEN the only origin is the pages bucket, reached with origin access control
	origins := asList(path(d, "Origins"))
	if len(origins) != 1 || !getAtt(path(origins[0], "DomainName"), site, "RegionalDomainName") ||
		!getAtt(path(origins[0], "OriginAccessControlId"), oac.ID, "Id") {
		t.Errorf("origins = %v", origins)
	}
	if path(oac.Props, "OriginAccessControlConfig", "SigningBehavior") != "always" {
		t.Errorf("OAC = %v", oac.Props)
	}
	// AND HTTP is redirected to HTTPS
	if path(d, "DefaultCacheBehavior", "ViewerProtocolPolicy") != "redirect-to-https" {
		t.Errorf("ViewerProtocolPolicy = %v", path(d, "DefaultCacheBehavior", "ViewerProtocolPolicy"))
	}
	// AND access is logged (standard logging v2: TestCloudFrontAccessLogsKeepNoQueryStrings)
	if len(full.resources("AWS::Logs::Delivery")) != 1 {
		t.Errorf("%d log deliveries, want 1", len(full.resources("AWS::Logs::Delivery")))
	}
	// AND the custom domain uses the certificate with TLSv1.2_2021
	cert := path(d, "ViewerCertificate")
	if path(cert, "AcmCertificateArn") != testCertificateArn || path(cert, "MinimumProtocolVersion") != "TLSv1.2_2021" ||
		!slices.Equal(strs(path(d, "Aliases")), []string{testDomain}) {
		t.Errorf("ViewerCertificate = %v aliases %v", cert, path(d, "Aliases"))
	}
	// AND the web ACL is attached
	if !getAtt(path(d, "WebACLId"), full.only(t, "AWS::WAFv2::WebACL").ID, "Arn") {
		t.Errorf("WebACLId = %v", path(d, "WebACLId"))
	}
	// AND the bucket lets only this distribution read
	found := false
	for _, p := range full.resources("AWS::S3::BucketPolicy") {
		for _, st := range statements(p.Props["PolicyDocument"]) {
			if path(st, "Principal", "Service") == "cloudfront.amazonaws.com" {
				found = strings.Contains(jsonString(path(st, "Condition")), full.only(t, "AWS::CloudFront::Distribution").ID)
			}
		}
	}
	if !found {
		t.Error("no bucket policy statement scoped to the distribution")
	}
	// AND without a domain or WAF there is neither
	pd := path(plain.only(t, "AWS::CloudFront::Distribution").Props, "DistributionConfig")
	if path(pd, "Aliases") != nil || path(pd, "WebACLId") != nil || len(plain.resources("AWS::WAFv2::WebACL")) != 0 {
		t.Errorf("plain: aliases %v web ACL %v", path(pd, "Aliases"), path(pd, "WebACLId"))
	}
}

func TestCloudFrontAccessLogsKeepNoQueryStrings(t *testing.T) {
	for name, s := range map[string]synthesized{"full": full, "plain": plain} {
		dist := s.only(t, "AWS::CloudFront::Distribution")
		logs := s.withPrefix(t, "AWS::S3::Bucket", "AccessLogBucket").ID
		// GIVEN the distribution: THEN it has no legacy standard logging,
		// whose records always carry cs-uri-query
		if l := path(dist.Props, "DistributionConfig", "Logging"); l != nil {
			t.Errorf("%s: legacy logging %v", name, l)
		}
		// AND its access logs are a standard logging v2 delivery source
		src := s.only(t, "AWS::Logs::DeliverySource")
		if src.Props["LogType"] != "ACCESS_LOGS" || !strings.Contains(jsonString(src.Props["ResourceArn"]), `{"Ref":"`+dist.ID+`"}`) ||
			!strings.Contains(jsonString(src.Props["ResourceArn"]), ":distribution/") {
			t.Errorf("%s: delivery source %v", name, src.Props)
		}
		if n, _ := src.Props["Name"].(string); n == "" || len(n) > 60 {
			t.Errorf("%s: delivery source name %q (1 to 60 characters)", name, n)
		}
		// AND they go, as JSON, to the access-log bucket
		dst := s.only(t, "AWS::Logs::DeliveryDestination")
		if !getAtt(dst.Props["DestinationResourceArn"], logs, "Arn") || dst.Props["OutputFormat"] != "json" {
			t.Errorf("%s: delivery destination %v", name, dst.Props)
		}
		delivery := s.only(t, "AWS::Logs::Delivery")
		if delivery.Props["DeliverySourceName"] != src.Props["Name"] || !getAtt(delivery.Props["DeliveryDestinationArn"], dst.ID, "Arn") {
			t.Errorf("%s: delivery %v", name, delivery.Props)
		}
		// AND the record fields are listed (without them CloudFront sends its
		// default set, query string included) and leave out the query
		// string, cookies, the referrer (its own query) and raw headers
		fields := strs(delivery.Props["RecordFields"])
		if len(fields) == 0 {
			t.Fatalf("%s: no RecordFields: the default set includes cs-uri-query", name)
		}
		for _, banned := range []string{"cs-uri-query", "cs(Cookie)", "cs(Referer)", "cs-headers", "cs-header-names"} {
			if slices.Contains(fields, banned) {
				t.Errorf("%s: record fields include %s", name, banned)
			}
		}
		for _, want := range []string{"date", "time", "c-ip", "cs-method", "cs-uri-stem", "sc-status", "x-edge-request-id"} {
			if !slices.Contains(fields, want) {
				t.Errorf("%s: record fields lack %s: %v", name, want, fields)
			}
		}
		// AND only the log delivery service, for this source and account,
		// may write them, under AWSLogs/<account>/
		found := false
		for _, p := range s.resources("AWS::S3::BucketPolicy") {
			if refID(p.Props["Bucket"]) != logs {
				continue
			}
			for _, st := range statements(p.Props["PolicyDocument"]) {
				if path(st, "Principal", "Service") != "delivery.logs.amazonaws.com" {
					continue
				}
				found = true
				if !slices.Equal(strs(st["Action"]), []string{"s3:PutObject"}) ||
					!getAtt(path(st, "Condition", "ArnLike", "aws:SourceArn"), src.ID, "Arn") ||
					path(st, "Condition", "StringEquals", "aws:SourceAccount") != testAccount ||
					!strings.Contains(jsonString(st["Resource"]), "/AWSLogs/"+testAccount+"/*") {
					t.Errorf("%s: log delivery statement %v", name, st)
				}
			}
		}
		if !found {
			t.Errorf("%s: the log bucket's policy does not let the log delivery service write", name)
		}
	}
}

func TestOutsideUSEast1TheDistributionKeepsNoLogRatherThanQueryStrings(t *testing.T) {
	// GIVEN a stack in a region where CloudFront cannot be a log delivery source
	functions := t.TempDir()
	for _, f := range routes.Functions() {
		dir := filepath.Join(functions, f.Name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("dummy"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	siteDir, err := siteFolder()
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := cdkContext()
	if err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir()), Context: &ctx})
	st, err := stack.NewMessagingStack(app, "Frankfurt", stack.Props{
		StackProps:   awscdk.StackProps{Env: &awscdk.Environment{Account: jsii.String(testAccount), Region: jsii.String("eu-central-1")}},
		FunctionsDir: functions,
		SiteDir:      siteDir,
	})
	if err != nil {
		t.Fatal(err)
	}
	var tpl assertions.Template
	if err := catch(func() { tpl = assertions.Template_FromStack(st, nil) }); err != nil {
		t.Fatal(err)
	}
	// THEN there is no log delivery, and no legacy logging either
	check(t, "no delivery source", func() { tpl.ResourceCountIs(jsii.String("AWS::Logs::DeliverySource"), jsii.Number(0)) })
	check(t, "no legacy logging", func() {
		tpl.HasResourceProperties(jsii.String("AWS::CloudFront::Distribution"), map[string]any{
			"DistributionConfig": assertions.Match_ObjectLike(&map[string]any{"Logging": assertions.Match_Absent()}),
		})
	})
	// AND synthesis says so
	check(t, "warning", func() {
		assertions.Annotations_FromStack(st).HasWarning(jsii.String("*"),
			assertions.Match_StringLikeRegexp(jsii.String("CloudFront access logs need the stack in us-east-1")))
	})
}

func TestResponseHeadersPolicyIsTheLocalServersHeaders(t *testing.T) {
	// GIVEN the distribution's response headers policy
	rhp := full.only(t, "AWS::CloudFront::ResponseHeadersPolicy")
	if refID(path(full.only(t, "AWS::CloudFront::Distribution").Props, "DistributionConfig", "DefaultCacheBehavior", "ResponseHeadersPolicyId")) != rhp.ID {
		t.Fatal("the distribution does not use the policy")
	}
	cfg := path(rhp.Props, "ResponseHeadersPolicyConfig")
	sec := path(cfg, "SecurityHeadersConfig")
	// WHEN we render it back to header lines
	got := map[string]string{
		"Content-Security-Policy": jsonString(path(sec, "ContentSecurityPolicy", "ContentSecurityPolicy")),
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         path(sec, "ReferrerPolicy", "ReferrerPolicy").(string),
		"X-Frame-Options":         path(sec, "FrameOptions", "FrameOption").(string),
	}
	hsts := path(sec, "StrictTransportSecurity")
	got["Strict-Transport-Security"] = "max-age=" + jsonString(path(hsts, "AccessControlMaxAgeSec"))
	if path(hsts, "IncludeSubdomains") == true {
		got["Strict-Transport-Security"] += "; includeSubDomains"
	}
	if path(hsts, "Preload") == true {
		got["Strict-Transport-Security"] += "; preload"
	}
	for _, h := range asList(path(cfg, "CustomHeadersConfig", "Items")) {
		got[path(h, "Header").(string)] = path(h, "Value").(string)
	}
	// THEN every header the local server sends is there with the same value
	// (the CSP is compared by its directives: its origins are tokens here)
	want := web.SecurityHeaders(web.CSP(web.Origins{Connect: []string{"https://api", "https://auth"}, Uploads: "https://up", Files: "https://files"}))
	if !slices.Equal(sortedKeys(got), sortedKeys(want)) {
		t.Errorf("headers %v, want %v", sortedKeys(got), sortedKeys(want))
	}
	for _, name := range sortedKeys(want) {
		if name == "Content-Security-Policy" {
			continue
		}
		if got[name] != want[name] {
			t.Errorf("%s = %q, want %q", name, got[name], want[name])
		}
	}
	// AND HSTS is at least a year with subdomains, nosniff is on, the
	// referrer policy is strict
	if path(hsts, "AccessControlMaxAgeSec").(float64) < 31536000 || path(hsts, "IncludeSubdomains") != true {
		t.Errorf("HSTS = %v", hsts)
	}
	if path(sec, "ContentTypeOptions", "Override") != true || got["Referrer-Policy"] != "no-referrer" {
		t.Errorf("nosniff %v referrer %v", path(sec, "ContentTypeOptions"), got["Referrer-Policy"])
	}
	// AND the CSP has no inline script and forbids plugins, base and framing
	csp := got["Content-Security-Policy"]
	for _, d := range []string{"script-src 'self';", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "default-src 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP lacks %q: %s", d, csp)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows inline or eval: %s", csp)
	}
	// AND it lets the pages call the API and the token endpoints
	if !strings.Contains(csp, "https://"+testAPIDomain) || !strings.Contains(csp, ".amazoncognito.com") {
		t.Errorf("CSP connect-src misses the API or Cognito: %s", csp)
	}
	// AND it lets them post files to S3 and show thumbnails from it, and
	// reach no other origin for images
	for _, d := range []string{"connect-src", "img-src"} {
		if !regexp.MustCompile(d + ` [^;]*https://\*\.s3\.`).MatchString(csp) {
			t.Errorf("CSP %s misses the attachment buckets: %s", d, csp)
		}
	}
	if !regexp.MustCompile(`img-src 'self' data: https://\*\.s3\.[^ ;]+;`).MatchString(csp) {
		t.Errorf("CSP img-src allows more than the chart bucket: %s", csp)
	}
}

func TestResponseHeadersMapping(t *testing.T) {
	// GIVEN the local server's headers WHEN mapped THEN nothing is dropped
	sec, custom, err := stack.ResponseHeaders(web.SecurityHeaders(web.CSP(web.Origins{Connect: []string{"https://api.example.org"}})))
	if err != nil {
		t.Fatal(err)
	}
	if sec.ContentSecurityPolicy == nil || sec.StrictTransportSecurity == nil || sec.ContentTypeOptions == nil ||
		sec.ReferrerPolicy == nil || sec.FrameOptions == nil {
		t.Errorf("security headers missing: %+v", sec)
	}
	n := 0
	if custom != nil {
		n = len(*custom.CustomHeaders)
	}
	if want := len(web.SecurityHeaders("x")) - 5; n != want {
		t.Errorf("%d custom headers, want %d", n, want)
	}
	// AND a value CloudFront cannot express is an error, not a silent change
	bad := maps.Clone(web.SecurityHeaders("x"))
	bad["Referrer-Policy"] = "sometimes"
	if _, _, err := stack.ResponseHeaders(bad); err == nil {
		t.Error("unknown Referrer-Policy accepted")
	}
	bad["Referrer-Policy"] = "no-referrer"
	bad["Strict-Transport-Security"] = "includeSubDomains"
	if _, _, err := stack.ResponseHeaders(bad); err == nil {
		t.Error("HSTS without max-age accepted")
	}
}

func TestWebACLUsesManagedRulesRateLimitAndRedactedLogs(t *testing.T) {
	// GIVEN the stack with waf=true
	acl := full.only(t, "AWS::WAFv2::WebACL")
	// THEN it is a CloudFront ACL with AWS managed rule groups and a rate limit
	if acl.Props["Scope"] != "CLOUDFRONT" {
		t.Errorf("scope %v", acl.Props["Scope"])
	}
	var managed []string
	rate := false
	for _, r := range asList(acl.Props["Rules"]) {
		if v := path(r, "Statement", "ManagedRuleGroupStatement", "VendorName"); v == "AWS" {
			managed = append(managed, path(r, "Statement", "ManagedRuleGroupStatement", "Name").(string))
		}
		if path(r, "Statement", "RateBasedStatement", "Limit") == float64(stack.WAFRateLimit) {
			rate = true
		}
	}
	if !slices.Contains(managed, "AWSManagedRulesCommonRuleSet") || !slices.Contains(managed, "AWSManagedRulesKnownBadInputsRuleSet") || !rate {
		t.Errorf("managed %v rate limit %v", managed, rate)
	}
	// AND it logs, with query strings (OAuth codes) redacted, to an aws-waf-logs-* group
	logging := full.only(t, "AWS::WAFv2::LoggingConfiguration")
	if !getAtt(logging.Props["ResourceArn"], acl.ID, "Arn") || !strings.Contains(jsonString(logging.Props["LogDestinationConfigs"]), ":log-group:aws-waf-logs-") {
		t.Errorf("logging %v", logging.Props)
	}
	if !strings.Contains(jsonString(logging.Props["RedactedFields"]), "QueryString") {
		t.Errorf("redacted %v", logging.Props["RedactedFields"])
	}
	check(t, "WAF log group", func() {
		full.template.HasResourceProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"LogGroupName": "aws-waf-logs-Full"})
	})
}

func TestPagesDeployedFromTheLocalFolderWithGeneratedConfig(t *testing.T) {
	// GIVEN the two deployments into the pages bucket
	site := full.withPrefix(t, "AWS::S3::Bucket", "SiteBucket").ID
	pages := full.withPrefix(t, "Custom::CDKBucketDeployment", "DeploySite").Props
	config := full.withPrefix(t, "Custom::CDKBucketDeployment", "DeployConfig").Props
	// THEN the folder is synced as-is (pruned, dot-files and config.json left out)
	if refID(pages["DestinationBucketName"]) != site || pages["Prune"] != true ||
		!slices.Equal(strs(pages["Exclude"]), []string{".*", "*/.*", web.ConfigFile}) {
		t.Errorf("pages deployment %v", pages)
	}
	// AND config.json is written separately, never cached, from stack values
	markers := jsonString(config["SourceMarkers"])
	for _, want := range []string{"UserPoolWebClient", "ProviderURL", "/oauth2/authorize", "/oauth2/token", "/logout"} {
		if !strings.Contains(markers, want) {
			t.Errorf("config.json values lack %s: %s", want, markers)
		}
	}
	if config["Prune"] != false || path(config, "SystemMetadata", "cache-control") != "no-store" {
		t.Errorf("config deployment %v", config)
	}
	if path(pages, "SystemMetadata", "cache-control") != "no-cache" {
		t.Errorf("pages cache-control %v", path(pages, "SystemMetadata"))
	}
	// AND both invalidate the distribution
	dist := full.only(t, "AWS::CloudFront::Distribution").ID
	if refID(pages["DistributionId"]) != dist || refID(config["DistributionId"]) != dist {
		t.Errorf("invalidations: %v %v", pages["DistributionId"], config["DistributionId"])
	}
}

func TestIndexRewriteServesFoldersLikeTheLocalServer(t *testing.T) {
	// GIVEN the CloudFront function's code and node to run it
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	fn := full.only(t, "AWS::CloudFront::Function")
	code := fn.Props["FunctionCode"].(string)
	assoc := asList(path(full.only(t, "AWS::CloudFront::Distribution").Props, "DistributionConfig", "DefaultCacheBehavior", "FunctionAssociations"))
	if len(assoc) != 1 || path(assoc[0], "EventType") != "viewer-request" || !getAtt(path(assoc[0], "FunctionARN"), fn.ID, "FunctionARN") {
		t.Errorf("function associations %v", assoc)
	}
	// WHEN it handles viewer requests
	script := code + `
const out = {};
for (const uri of ["/", "/portal/", "/staff", "/js/app.js", "/config.json", "/staff/index.html"]) {
  const r = handler({ request: { uri: uri, headers: {} } });
  out[uri] = r.statusCode ? r.statusCode + " " + r.headers.location.value : r.uri;
}
console.log(JSON.stringify(out));`
	raw, err := exec.Command(node, "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, raw)
	}
	var got map[string]string
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	// THEN folders get their index.html, a folder without its slash is
	// redirected (as the local server does), files pass through
	want := map[string]string{
		"/":                 "/index.html",
		"/portal/":          "/portal/index.html",
		"/staff":            "301 /staff/",
		"/js/app.js":        "/js/app.js",
		"/config.json":      "/config.json",
		"/staff/index.html": "/staff/index.html",
	}
	if !maps.Equal(got, want) {
		t.Errorf("rewrites = %v, want %v", got, want)
	}
}

// hostileURIs would each have been redirected to a Location that a browser
// resolves to another host (or are their encoded spellings, in case
// CloudFront hands the function the URI undecoded).
var hostileURIs = []string{
	"//evil.example", "//evil", "///evil", "//staff", "//evil.example/x",
	`/\evil.example`, `/\evil`, `\\evil`, `\\evil.example`, `/\/evil`, `/x/..\\evil`,
	"/%2F%2Fevil.example", "/%2f%2fevil", "/%5Cevil.example", "/%5cevil", "/%2F/evil",
	"/\t/evil", "/\n/evil", "/\r\n/evil", "/%09/evil", "/%0A/evil", "/\t\\evil",
	"/ /evil", "/evil\t", "/\x00/evil", "/%00/evil", "//@evil", "/@evil", "//evil:443",
}

func TestIndexRewriteNeverRedirectsOffSite(t *testing.T) {
	// GIVEN the CloudFront function's code from the template, and node
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	code := full.only(t, "AWS::CloudFront::Function").Props["FunctionCode"].(string)
	uris, err := json.Marshal(append(slices.Clone(hostileURIs), "/staff", "/portal", "/a/b"))
	if err != nil {
		t.Fatal(err)
	}
	// WHEN it handles each hostile URI, and a browser follows any redirect
	script := code + `
const out = {};
for (const uri of ` + string(uris) + `) {
  const r = handler({ request: { uri: uri, method: "GET", querystring: {}, headers: {}, cookies: {} } });
  const loc = r.statusCode && r.headers && r.headers.location ? r.headers.location.value : "";
  out[uri] = { status: r.statusCode || 0, location: loc,
    host: loc ? new URL(loc, "https://site.example").host : "site.example" };
}
console.log(JSON.stringify(out));`
	raw, err := exec.Command(node, "-e", script).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, raw)
	}
	var got map[string]struct {
		Status   int
		Location string
		Host     string
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	// THEN no answer sends the browser to another host
	for _, uri := range hostileURIs {
		r, ok := got[uri]
		if !ok {
			t.Errorf("%q: no result", uri)
			continue
		}
		if r.Host != "site.example" {
			t.Errorf("%q → %d Location %q: the browser goes to %s", uri, r.Status, r.Location, r.Host)
		}
		if r.Location != "" && (!strings.HasPrefix(r.Location, "/") || strings.HasPrefix(r.Location, "//") ||
			strings.ContainsAny(r.Location, "\\\t\r\n\x00 ")) {
			t.Errorf("%q → Location %q is not a plain path", uri, r.Location)
		}
	}
	// AND real folders are still redirected to their slash
	for uri, want := range map[string]string{"/staff": "/staff/", "/portal": "/portal/", "/a/b": "/a/b/"} {
		if r := got[uri]; r.Status != 301 || r.Location != want {
			t.Errorf("%s → %d %q, want 301 %s", uri, r.Status, r.Location, want)
		}
	}
}
