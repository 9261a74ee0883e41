package channels

import (
	"context"
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Kind says what a failed send means for the caller.
type Kind string

// Kinds of failure.
const (
	// Throttled: the service asks us to slow down (rate or quota). Retry
	// later.
	Throttled Kind = "throttled"
	// Unavailable: the service failed or could not be reached, or the
	// context ended. Retry later. The message may have been sent.
	Unavailable Kind = "unavailable"
	// Rejected: the service refused this message for this recipient (an
	// opted-out or blocked number, a rejected message). Retrying sends
	// nothing; the recipient cannot be reached on this channel.
	Rejected Kind = "rejected"
	// Misconfigured: the account, identity, configuration set or
	// permissions are not as they must be. Nothing is sent until DevOps
	// fixes it; retrying this message soon helps no one.
	Misconfigured Kind = "misconfigured"
	// Invalid: the request itself is wrong (a bug, or bad data).
	Invalid Kind = "invalid"
)

// Error is a failed send. Its message names the channel, the kind and the
// service's error code, never the address, the number or the text, so that
// it can be logged as is; the service's own message (which may quote the
// address) stays reachable through Unwrap for errors.As.
type Error struct {
	Channel string // "email" or "sms"
	Kind    Kind
	// Code is the service's error code, e.g. "TooManyRequestsException",
	// or "" when there was no service answer.
	Code string
	// Reason is the service's reason, for errors that carry one.
	Reason string
	// RequestID is the service's request ID, when it answered.
	RequestID string
	Err       error
}

func (e *Error) Error() string {
	s := "channels: " + e.Channel + " not sent: " + string(e.Kind)
	if e.Code != "" {
		s += " (" + e.Code
		if e.Reason != "" {
			s += " " + e.Reason
		}
		s += ")"
	}
	if e.RequestID != "" {
		s += " request " + e.RequestID
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether sending again later may succeed.
func (e *Error) Retryable() bool { return e.Kind == Throttled || e.Kind == Unavailable }

// Retryable reports whether err is a send failure that may succeed when
// tried again later (Throttled or Unavailable).
func Retryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable()
}

// KindOf is err's Kind, or "" when err is nil or not from this package.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// classifyCommon fills the parts every AWS service shares, after the
// service-specific typed errors were looked at: error codes the SDK itself
// treats as throttling, server faults, HTTP status codes, the network and
// the context. All by type (errors.As), never by message text.
func classifyCommon(e *Error, err error) {
	var reqID interface{ ServiceRequestID() string }
	if errors.As(err, &reqID) {
		e.RequestID = reqID.ServiceRequestID()
	}
	var api smithy.APIError
	if errors.As(err, &api) && e.Code == "" {
		e.Code = api.ErrorCode()
	}
	if e.Kind != "" {
		return
	}
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool() {
		e.Kind = Throttled
		return
	}
	if api != nil && api.ErrorFault() == smithy.FaultServer {
		e.Kind = Unavailable
		return
	}
	var resp *smithyhttp.ResponseError
	if errors.As(err, &resp) {
		switch code := resp.HTTPStatusCode(); {
		case code == 429:
			e.Kind = Throttled
		case code >= 500:
			e.Kind = Unavailable
		case api != nil:
			e.Kind = Invalid
		default:
			e.Kind = Unavailable // an answer the SDK could not read
		}
		return
	}
	var sendErr *smithyhttp.RequestSendError
	var netErr net.Error
	if errors.As(err, &sendErr) || errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		e.Kind = Unavailable
		return
	}
	if api != nil {
		e.Kind = Invalid
		return
	}
	// No answer from the service and no network error: the request could
	// not be built or sent (for example no credentials). Nothing went out.
	e.Kind = Misconfigured
}
