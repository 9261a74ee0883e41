package channels

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2/types"

	"github.com/pedsportal/messaging/internal/notify"
)

// SMSAPI is the part of the End User Messaging SMS client that SMS uses.
type SMSAPI interface {
	SendTextMessage(context.Context, *pinpointsmsvoicev2.SendTextMessageInput, ...func(*pinpointsmsvoicev2.Options)) (*pinpointsmsvoicev2.SendTextMessageOutput, error)
}

var _ SMSAPI = (*pinpointsmsvoicev2.Client)(nil)

// SMSConfig configures NewSMS.
type SMSConfig struct {
	// OriginationIdentity is the phone number, pool, sender ID or their
	// ARN to send from. Required: without it the service picks any
	// number of the account, and IAM can only be scoped to a named one.
	OriginationIdentity string
	// ConfigurationSet names the configuration set for delivery events;
	// optional.
	ConfigurationSet string
}

// SMS sends text messages through AWS End User Messaging SMS.
type SMS struct {
	client SMSAPI
	cfg    SMSConfig
}

var _ notify.Texter = (*SMS)(nil)

// NewSMS returns a Texter that sends with client.
func NewSMS(client SMSAPI, cfg SMSConfig) (*SMS, error) {
	if client == nil {
		return nil, errors.New("channels: NewSMS: nil client")
	}
	if cfg.OriginationIdentity == "" {
		return nil, errors.New("channels: NewSMS: OriginationIdentity is required")
	}
	return &SMS{client: client, cfg: cfg}, nil
}

// MaxTextChars is the longest body SendTextMessage accepts.
const MaxTextChars = 1600

// SendText sends t as a transactional text. It implements notify.Texter.
func (s *SMS) SendText(ctx context.Context, t notify.Text) error {
	_, err := s.Send(ctx, t)
	return err
}

// Send sends t and returns the service's message ID.
func (s *SMS) Send(ctx context.Context, t notify.Text) (string, error) {
	invalid := func(what string) error {
		return &Error{Channel: "sms", Kind: Invalid, Err: errors.New("channels: " + what)}
	}
	switch {
	case strings.TrimSpace(t.To) == "":
		return "", invalid("no destination number")
	case t.Body == "":
		return "", invalid("empty text")
	case utf8.RuneCountInString(t.Body) > MaxTextChars:
		return "", invalid("text longer than the service accepts")
	}
	in := &pinpointsmsvoicev2.SendTextMessageInput{
		OriginationIdentity:    aws.String(s.cfg.OriginationIdentity),
		DestinationPhoneNumber: aws.String(t.To),
		MessageBody:            aws.String(t.Body),
		MessageType:            types.MessageTypeTransactional,
	}
	if s.cfg.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.cfg.ConfigurationSet)
	}
	out, err := s.client.SendTextMessage(ctx, in)
	if err != nil {
		return "", classifySMS(err)
	}
	return aws.ToString(out.MessageId), nil
}

// classifySMS sorts a SendTextMessage error into a Kind.
func classifySMS(err error) error {
	e := &Error{Channel: "sms", Err: err}
	var (
		throttled *types.ThrottlingException
		quota     *types.ServiceQuotaExceededException
		internal  *types.InternalServerException
		denied    *types.AccessDeniedException
		notFound  *types.ResourceNotFoundException
		conflict  *types.ConflictException
		invalid   *types.ValidationException
	)
	switch {
	case errors.As(err, &throttled):
		e.Kind = Throttled
	case errors.As(err, &quota):
		e.Reason = string(quota.Reason)
		switch quota.Reason {
		case types.ServiceQuotaExceededExceptionReasonMonthlySpendLimitReachedForText:
			// Lasts until the month ends or DevOps raises the limit.
			e.Kind = Misconfigured
		default:
			e.Kind = Throttled
		}
	case errors.As(err, &internal):
		e.Kind = Unavailable
	case errors.As(err, &denied), errors.As(err, &notFound):
		if denied != nil {
			e.Reason = string(denied.Reason)
		}
		e.Kind = Misconfigured
	case errors.As(err, &conflict):
		e.Reason = string(conflict.Reason)
		switch conflict.Reason {
		case types.ConflictExceptionReasonDestinationPhoneNumberOptedOut,
			types.ConflictExceptionReasonDestinationCountryBlockedByProtectConfiguration,
			types.ConflictExceptionReasonDestinationPhoneNumberBlockedByProtectNumberOverride:
			e.Kind = Rejected
		default:
			// DESTINATION_PHONE_NUMBER_NOT_VERIFIED among them: the
			// account is still in the SMS sandbox.
			e.Kind = Misconfigured
		}
	case errors.As(err, &invalid):
		e.Reason = string(invalid.Reason)
		switch invalid.Reason {
		case types.ValidationExceptionReasonDestinationCountryBlocked,
			types.ValidationExceptionReasonCannotAddOptedOutNumber:
			e.Kind = Rejected
		case types.ValidationExceptionReasonCountryNotEnabled,
			types.ValidationExceptionReasonInvalidIdentityForDestinationCountry,
			types.ValidationExceptionReasonSenderIdNotRegistered,
			types.ValidationExceptionReasonSenderIdRequiresRegistration,
			types.ValidationExceptionReasonInternationalSendingNotSupported:
			e.Kind = Misconfigured
		default:
			e.Kind = Invalid
		}
	}
	classifyCommon(e, err)
	return e
}
