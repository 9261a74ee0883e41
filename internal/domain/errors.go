package domain

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Code classifies an error. One table in package httpapi turns a code into
// an RFC 9457 problem; nothing else decides a status.
type Code string

// Error codes.
const (
	EInvalid      Code = "invalid"      // a field fails validation (422)
	EMalformed    Code = "malformed"    // the request cannot be parsed (400)
	EUnauthorized Code = "unauthorized" // no or bad credentials (401)
	EForbidden    Code = "forbidden"    // wrong audience or role (403)
	ENotFound     Code = "not_found"    // absent, or not the caller's (404)
	EConflict     Code = "conflict"     // state or version conflict (409)
	ETooLarge     Code = "too_large"    // request body too large (413)
	EIdemMismatch Code = "idempotency"  // key reused with another body (422)
	EThrottled    Code = "throttled"    // slow down (429)
	EUnavailable  Code = "unavailable"  // a dependency failed (503)
	EInternal     Code = "internal"     // a bug (500)
)

// Error is a domain error. Message is safe to show to the client; Err is the
// cause, which is logged and never shown.
type Error struct {
	Code    Code
	Message string
	Field   string // the offending field, for validation errors
	// RetryAfter, when set, tells a throttled client when to try again.
	RetryAfter time.Duration
	// Extensions are further client-safe members of the problem (RFC 9457
	// section 3.2), such as who holds a conversation a claim conflicts with.
	Extensions map[string]any
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an error with a code and a client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a field that fails validation.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Unavailable wraps a dependency failure.
func Unavailable(err error) *Error {
	return &Error{Code: EUnavailable, Message: "a service the request depends on is unavailable; try again shortly", Err: err}
}

// ErrNotFound is the one not-found answer. A foreign patient and a missing
// one get this same error so that the response reveals nothing.
var ErrNotFound = &Error{Code: ENotFound, Message: "the requested resource does not exist"}

// ErrStale is the answer to a change of a conversation that moved on since
// it was read: someone else changed it meanwhile. Nothing was written.
var ErrStale = &Error{Code: EConflict, Message: "the conversation changed since you loaded it; reload and try again"}

// ErrDailyLimit is the cause of the EThrottled error a write gets when its
// author has reached the practice's daily limit for the patient.
var ErrDailyLimit = errors.New("daily write limit reached")

// ErrorCode returns the code of err, EInternal for errors without one. A
// cancelled or expired context is EUnavailable: the request may be retried,
// it is not a bug.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return EUnavailable
	}
	return EInternal
}
