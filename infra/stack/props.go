// Package stack is the CDK stack that provisions the whole product: one KMS
// key, the DynamoDB tables from package schema, one Lambda function per
// folder under functions/, the HTTP API from package routes, two Cognito
// user pools, the hosted pages from package web behind CloudFront, the
// notification path (the Messages stream's mapping to the notifier, the
// flusher's schedule, the SES configuration set and its events topic, and
// their dead-letter queues), backups and alarms.
//
// It is built with NewMessagingStack from Props. The CDK app (infra/app)
// fills Props from CDK context with PropsFromContext; the tests fill them
// directly, pointing FunctionsDir at dummy bootstrap files.
package stack

import (
	"fmt"
	"net/mail"
	"regexp"
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

	// MailFrom is the sender of notification e-mails, a bare address or
	// "Display Name <address>", whose address or domain is a verified SES
	// identity. Unset, the stack still synthesizes and deploys everything,
	// with the placeholder PlaceholderMailFrom and the flusher's schedule
	// DISABLED, so nothing is ever sent (and synthesis warns
	// messaging:NotificationsOff).
	MailFrom string
	// SESIdentityARN is the verified SES identity the flusher sends as
	// (FromEmailAddressIdentityArn), and the only identity its role may
	// send from. Default: the domain identity of MailFrom's address in the
	// stack's account and region.
	SESIdentityARN string
	// SMSOriginationIdentity, optional, is the End User Messaging SMS phone
	// number, pool or sender ID that texts come from: its ARN, or a
	// phone-number ID ("phone-...") or pool ID ("pool-...") of the stack's
	// account and region. Unset, no texts are sent and the flusher's role
	// may send none.
	SMSOriginationIdentity string
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
	CtxMailFrom            = "mailFrom"
	CtxSESIdentityARN      = "sesIdentityArn"
	CtxSMSOrigination      = "smsOriginationIdentity"
)

// Defaults.
const (
	DefaultReservedConcurrency = 10
	DefaultLogLevel            = "INFO"
	// PlaceholderMailFrom stands in for an unset mailFrom: an address in
	// the reserved .invalid domain, which no SES identity can verify, so
	// nothing could be sent even if the schedule were turned on by hand.
	PlaceholderMailFrom = "notifications@example.invalid"
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
	str(CtxMailFrom, &p.MailFrom)
	str(CtxSESIdentityARN, &p.SESIdentityARN)
	str(CtxSMSOrigination, &p.SMSOriginationIdentity)

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
	if p.MailFrom != "" {
		if _, err := mailFromAddress(p.MailFrom); err != nil {
			return err
		}
	}
	if p.SESIdentityARN != "" {
		if p.MailFrom == "" {
			return fmt.Errorf("%s needs %s (the sender address the identity verifies)", CtxSESIdentityARN, CtxMailFrom)
		}
		if !sesIdentityARN.MatchString(p.SESIdentityARN) {
			return fmt.Errorf("context %s=%q: want arn:aws:ses:<region>:<account>:identity/<domain or address>", CtxSESIdentityARN, p.SESIdentityARN)
		}
	}
	if o := p.SMSOriginationIdentity; o != "" && !smsOriginationARN.MatchString(o) && !smsOriginationID.MatchString(o) {
		return fmt.Errorf("context %s=%q: want the ARN of a phone number, pool or sender ID, or a phone-number ID (phone-...) or pool ID (pool-...)",
			CtxSMSOrigination, o)
	}
	return nil
}

// Accepted forms of the sender settings. IAM can limit sending only to an
// identity named by ARN, so a bare phone number (E.164) is refused: use
// its phone-number ID or ARN.
var (
	sesIdentityARN    = regexp.MustCompile(`^arn:aws[a-z-]*:ses:[a-z0-9-]+:[0-9]{12}:identity/[^/\s]+$`)
	smsOriginationARN = regexp.MustCompile(`^arn:aws[a-z-]*:sms-voice:[a-z0-9-]+:[0-9]{12}:(phone-number|pool|sender-id)/[^\s]+$`)
	smsOriginationID  = regexp.MustCompile(`^(phone|pool)-[0-9a-zA-Z]+$`)
)

// mailFromAddress is the bare address of a MailFrom setting, which both
// "notifications@example.org" and "Maple Grove Pediatrics
// <notifications@example.org>" name. It is what SES compares with
// ses:FromAddress.
func mailFromAddress(from string) (string, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return "", fmt.Errorf("context %s=%q: not an e-mail address: %w", CtxMailFrom, from, err)
	}
	return a.Address, nil
}

func (p *Props) withDefaults() {
	if p.ReservedConcurrency == 0 {
		p.ReservedConcurrency = DefaultReservedConcurrency
	}
	if p.LogLevel == "" {
		p.LogLevel = DefaultLogLevel
	}
	if p.MailFrom == "" {
		p.MailFrom = PlaceholderMailFrom
	}
}

// notificationsOn reports whether a sender was configured (mailFrom): only
// then is the flusher's schedule enabled.
func (p *Props) notificationsOn() bool { return p.MailFrom != PlaceholderMailFrom }
