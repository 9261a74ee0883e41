// Package channels sends notifications: e-mail through Amazon SES v2
// (sesv2.SendEmail) and text messages through AWS End User Messaging SMS
// (pinpointsmsvoicev2.SendTextMessage). SES implements notify.Mailer and
// SMS implements notify.Texter. Both take an SDK client built once (in AWS
// from package awsenv, whose AWS_ENDPOINT_URL_SESV2 and
// AWS_ENDPOINT_URL_PINPOINT_SMS_VOICE_V2 point it at the local stand-ins
// in development).
//
// A failed send is an *Error whose Kind says whether to retry (Throttled,
// Unavailable), to mark the recipient unreachable on that channel
// (Rejected), or to alert DevOps (Misconfigured). Its message never holds
// the address, the number or the text.
package channels

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	"github.com/pedsportal/messaging/internal/notify"
)

// SESAPI is the part of the SES v2 client that SES uses.
type SESAPI interface {
	SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

var _ SESAPI = (*sesv2.Client)(nil)

// SESConfig configures NewSES.
type SESConfig struct {
	// From is FromEmailAddress, e.g. "Maple Grove Pediatrics
	// <no-reply@example.org>". Required.
	From string
	// FromARN is FromEmailAddressIdentityArn, the verified identity to
	// send as (sending authorization); optional.
	FromARN string
	// ConfigurationSet names the configuration set whose event
	// destinations report bounces and complaints; optional.
	ConfigurationSet string
}

// SES sends e-mail through Amazon SES v2.
type SES struct {
	client SESAPI
	cfg    SESConfig
}

var _ notify.Mailer = (*SES)(nil)

// NewSES returns a Mailer that sends with client.
func NewSES(client SESAPI, cfg SESConfig) (*SES, error) {
	if client == nil {
		return nil, errors.New("channels: NewSES: nil client")
	}
	if cfg.From == "" {
		return nil, errors.New("channels: NewSES: From is required")
	}
	return &SES{client: client, cfg: cfg}, nil
}

// RFC 8058 one-click unsubscribe headers.
const (
	HeaderListUnsubscribe     = "List-Unsubscribe"
	HeaderListUnsubscribePost = "List-Unsubscribe-Post"
	OneClick                  = "List-Unsubscribe=One-Click"
)

// SendEmail sends e. It implements notify.Mailer.
func (m *SES) SendEmail(ctx context.Context, e notify.Email) error {
	_, err := m.Send(ctx, e)
	return err
}

// Send sends e and returns SES's message ID, which bounce and complaint
// events carry.
func (m *SES) Send(ctx context.Context, e notify.Email) (string, error) {
	in, err := m.input(e)
	if err != nil {
		return "", err
	}
	out, err := m.client.SendEmail(ctx, in)
	if err != nil {
		return "", classifySES(err)
	}
	return aws.ToString(out.MessageId), nil
}

// input builds the SendEmail request: Simple content with the subject,
// both bodies, the RFC 8058 headers when e has an unsubscribe URL, and
// e.Tags as EmailTags (sorted by name, so requests are reproducible).
func (m *SES) input(e notify.Email) (*sesv2.SendEmailInput, error) {
	invalid := func(what string) error {
		return &Error{Channel: "email", Kind: Invalid, Err: errors.New("channels: " + what)}
	}
	switch {
	case strings.TrimSpace(e.To) == "":
		return nil, invalid("no recipient")
	case strings.ContainsAny(e.To, "\r\n"):
		return nil, invalid("recipient has a line break")
	case e.Subject == "" || strings.ContainsAny(e.Subject, "\r\n"):
		return nil, invalid("subject must be one non-empty line")
	case e.Text == "" && e.HTML == "":
		return nil, invalid("no body")
	}
	utf8 := aws.String("UTF-8")
	msg := &types.Message{
		Subject: &types.Content{Data: aws.String(e.Subject), Charset: utf8},
		Body:    &types.Body{},
	}
	if e.Text != "" {
		msg.Body.Text = &types.Content{Data: aws.String(e.Text), Charset: utf8}
	}
	if e.HTML != "" {
		msg.Body.Html = &types.Content{Data: aws.String(e.HTML), Charset: utf8}
	}
	if e.Unsubscribe != "" {
		if err := checkUnsubscribeURL(e.Unsubscribe); err != nil {
			return nil, &Error{Channel: "email", Kind: Invalid, Err: err}
		}
		msg.Headers = []types.MessageHeader{
			{Name: aws.String(HeaderListUnsubscribe), Value: aws.String("<" + e.Unsubscribe + ">")},
			{Name: aws.String(HeaderListUnsubscribePost), Value: aws.String(OneClick)},
		}
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(m.cfg.From),
		Destination:      &types.Destination{ToAddresses: []string{e.To}},
		Content:          &types.EmailContent{Simple: msg},
	}
	if m.cfg.FromARN != "" {
		in.FromEmailAddressIdentityArn = aws.String(m.cfg.FromARN)
	}
	if m.cfg.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(m.cfg.ConfigurationSet)
	}
	names := make([]string, 0, len(e.Tags))
	for k := range e.Tags {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v := e.Tags[k]
		if !tagPattern.MatchString(k) || !tagPattern.MatchString(v) {
			return nil, invalid(fmt.Sprintf("tag %q: names and values are 1-256 ASCII letters, digits, _ or -", k))
		}
		in.EmailTags = append(in.EmailTags, types.MessageTag{Name: aws.String(k), Value: aws.String(v)})
	}
	return in, nil
}

// tagPattern is what SES accepts in a message tag's name and value.
var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// checkUnsubscribeURL accepts what RFC 8058 asks for, an HTTPS URI, and
// plain HTTP only for a loopback host (the local portal). The value goes
// into a header, so it must be printable ASCII without '<' or '>' and fit
// SES's header limit.
func checkUnsubscribeURL(raw string) error {
	if len(raw) > 800 {
		return errors.New("channels: unsubscribe URL too long for a header")
	}
	for _, r := range raw {
		if r < 0x21 || r > 0x7e || r == '<' || r == '>' {
			return errors.New("channels: unsubscribe URL must be printable ASCII without spaces or angle brackets")
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("channels: unsubscribe URL is not an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return errors.New("channels: unsubscribe URL must be https (RFC 8058), or http on loopback for local development")
}

// classifySES sorts an SES v2 SendEmail error into a Kind.
func classifySES(err error) error {
	e := &Error{Channel: "email", Err: err}
	var (
		tooMany   *types.TooManyRequestsException
		limit     *types.LimitExceededException
		internal  *types.InternalServiceErrorException
		rejected  *types.MessageRejected
		suspended *types.AccountSuspendedException
		paused    *types.SendingPausedException
		mailFrom  *types.MailFromDomainNotVerifiedException
		notFound  *types.NotFoundException
		bad       *types.BadRequestException
	)
	switch {
	case errors.As(err, &tooMany), errors.As(err, &limit):
		// LimitExceeded is the sending quota: it recovers as the 24-hour
		// window moves on.
		e.Kind = Throttled
	case errors.As(err, &internal):
		e.Kind = Unavailable
	case errors.As(err, &rejected):
		// Also what the SES sandbox answers for an unverified recipient.
		e.Kind = Rejected
	case errors.As(err, &suspended), errors.As(err, &paused), errors.As(err, &mailFrom), errors.As(err, &notFound):
		e.Kind = Misconfigured
	case errors.As(err, &bad):
		e.Kind = Invalid
	}
	classifyCommon(e, err)
	return e
}
