// Package stack is the CDK stack that provisions the whole product: one KMS
// key, the DynamoDB tables from package schema, one Lambda function per
// folder under functions/, the HTTP API from package routes, two Cognito
// user pools, the hosted pages from package web behind CloudFront, backups
// and alarms.
//
// It is built with NewMessagingStack from Props. The CDK app (infra/app)
// fills Props from CDK context with PropsFromContext; the tests fill them
// directly, pointing FunctionsDir at dummy bootstrap files.
package stack

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
)

// Props configures the stack. Only FunctionsDir and SiteDir are required.
type Props struct {
	awscdk.StackProps

	// FunctionsDir holds one folder per function, each with the
	// `bootstrap` binary that `make build` produces (.build/functions).
	FunctionsDir string
	// SiteDir is the folder of pages deployed as-is (web.SiteDir).
	SiteDir string

	// DomainName, when set, serves the pages at https://DomainName from
	// CloudFront with CertificateArn, an ACM certificate in us-east-1.
	DomainName     string
	CertificateArn string
	// APIDomainName, when set, serves the API at https://APIDomainName with
	// APICertificateArn, an ACM certificate in the stack's region, and
	// disables the default execute-api endpoint.
	APIDomainName     string
	APICertificateArn string

	// WAF attaches an AWS WAF web ACL (CLOUDFRONT scope, so the stack
	// must be in us-east-1) with AWS managed rules to the distribution.
	WAF bool
	// AlarmEmail, when set, subscribes this address to the alarm topic.
	AlarmEmail string
	// AuthDomainPrefix prefixes the two Cognito hosted UI domains
	// (<prefix>-portal, <prefix>-staff). They must be unique in the
	// region; the default adds the account ID.
	AuthDomainPrefix string
	// ReservedConcurrency is each function's reserved concurrency.
	ReservedConcurrency int
	// LogLevel is Lambda's application log level (DEBUG, INFO, WARN, ERROR).
	LogLevel string
}

// Context keys read by PropsFromContext (`cdk deploy -c key=value`).
const (
	CtxFunctionsDir        = "functionsDir"
	CtxSiteDir             = "siteDir"
	CtxDomainName          = "domainName"
	CtxCertificateArn      = "certificateArn"
	CtxAPIDomainName       = "apiDomainName"
	CtxAPICertificateArn   = "apiCertificateArn"
	CtxWAF                 = "waf"
	CtxAlarmEmail          = "alarmEmail"
	CtxAuthDomainPrefix    = "authDomainPrefix"
	CtxReservedConcurrency = "reservedConcurrency"
	CtxLogLevel            = "logLevel"
)

// Defaults.
const (
	DefaultReservedConcurrency = 10
	DefaultLogLevel            = "INFO"
)

// PropsFromContext reads the optional settings from CDK context. Values
// given with -c arrive as strings; values from cdk.json may be typed.
func PropsFromContext(node constructs.Node, base Props) (Props, error) {
	p := base
	str := func(key string, dst *string) {
		if v := node.TryGetContext(&key); v != nil {
			if s := strings.TrimSpace(fmt.Sprint(v)); s != "" {
				*dst = s
			}
		}
	}
	str(CtxFunctionsDir, &p.FunctionsDir)
	str(CtxSiteDir, &p.SiteDir)
	str(CtxDomainName, &p.DomainName)
	str(CtxCertificateArn, &p.CertificateArn)
	str(CtxAPIDomainName, &p.APIDomainName)
	str(CtxAPICertificateArn, &p.APICertificateArn)
	str(CtxAlarmEmail, &p.AlarmEmail)
	str(CtxAuthDomainPrefix, &p.AuthDomainPrefix)
	str(CtxLogLevel, &p.LogLevel)

	var waf, conc string
	str(CtxWAF, &waf)
	if waf != "" {
		b, err := strconv.ParseBool(waf)
		if err != nil {
			return p, fmt.Errorf("context %s=%q: want true or false", CtxWAF, waf)
		}
		p.WAF = b
	}
	str(CtxReservedConcurrency, &conc)
	if conc != "" {
		n, err := strconv.Atoi(conc)
		if err != nil || n < 1 {
			return p, fmt.Errorf("context %s=%q: want a positive integer", CtxReservedConcurrency, conc)
		}
		p.ReservedConcurrency = n
	}
	return p, p.validate()
}

// validate rejects combinations that cannot deploy.
func (p *Props) validate() error {
	if p.FunctionsDir == "" || p.SiteDir == "" {
		return fmt.Errorf("FunctionsDir and SiteDir are required")
	}
	if (p.DomainName == "") != (p.CertificateArn == "") {
		return fmt.Errorf("set both %s and %s, or neither", CtxDomainName, CtxCertificateArn)
	}
	if p.APIDomainName != "" && p.APICertificateArn == "" {
		return fmt.Errorf("%s needs %s (an ACM certificate in the stack's region)", CtxAPIDomainName, CtxAPICertificateArn)
	}
	switch p.LogLevel {
	case "", "DEBUG", "INFO", "WARN", "ERROR":
	default:
		return fmt.Errorf("context %s=%q: want DEBUG, INFO, WARN or ERROR", CtxLogLevel, p.LogLevel)
	}
	return nil
}

func (p *Props) withDefaults() {
	if p.ReservedConcurrency == 0 {
		p.ReservedConcurrency = DefaultReservedConcurrency
	}
	if p.LogLevel == "" {
		p.LogLevel = DefaultLogLevel
	}
}
