// Package httpapi turns API Gateway HTTP API (payload 2.0) events into
// requests the handlers understand and turns results and errors back into
// responses: JSON bodies, RFC 9457 problems, strict body decoding.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/domain"
)

// ProblemBase prefixes problem type URIs.
const ProblemBase = "https://pedsportal.dev/problems/"

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail"`
	Instance string `json:"instance"`
	Field    string `json:"field,omitempty"`
	// Extensions are further members (RFC 9457 section 3.2).
	Extensions map[string]any `json:"-"`
}

// MarshalJSON writes the extension members beside the standard ones; a
// standard member always wins.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	std, err := json.Marshal(plain(p))
	if err != nil || len(p.Extensions) == 0 {
		return std, err
	}
	var out map[string]any
	if err := json.Unmarshal(std, &out); err != nil {
		return nil, err
	}
	for k, v := range p.Extensions {
		if _, taken := out[k]; !taken {
			out[k] = v
		}
	}
	return json.Marshal(out)
}

type statusEntry struct {
	status int
	title  string
}

// statuses is the one table from error code to HTTP status.
var statuses = map[domain.Code]statusEntry{
	domain.EMalformed:    {http.StatusBadRequest, "Malformed request"},
	domain.EInvalid:      {http.StatusUnprocessableEntity, "Invalid field"},
	domain.EUnauthorized: {http.StatusUnauthorized, "Unauthorized"},
	domain.EForbidden:    {http.StatusForbidden, "Forbidden"},
	domain.ENotFound:     {http.StatusNotFound, "Not found"},
	domain.EConflict:     {http.StatusConflict, "Conflict"},
	domain.ETooLarge:     {http.StatusRequestEntityTooLarge, "Request too large"},
	domain.EIdemMismatch: {http.StatusUnprocessableEntity, "Idempotency key reused"},
	domain.EThrottled:    {http.StatusTooManyRequests, "Too many requests"},
	domain.EUnavailable:  {http.StatusServiceUnavailable, "Service unavailable"},
	domain.EInternal:     {http.StatusInternalServerError, "Internal error"},
}

// Status returns the HTTP status for err.
func Status(err error) int { return statuses[domain.ErrorCode(err)].status }

// Error turns err into a problem response. Internal detail never reaches the
// client: errors without a domain code become a generic 500. Every 5xx is
// logged with the request ID.
func Error(ctx context.Context, log *slog.Logger, requestID string, err error) events.APIGatewayV2HTTPResponse {
	code := domain.ErrorCode(err)
	entry := statuses[code]
	p := Problem{
		Type:     ProblemBase + string(code),
		Title:    entry.title,
		Status:   entry.status,
		Detail:   "An unexpected error occurred. It has been logged.",
		Instance: requestID,
	}
	if de, ok := asDomain(err); ok && code != domain.EInternal {
		p.Detail, p.Field, p.Extensions = de.Message, de.Field, de.Extensions
	}
	if entry.status >= 500 {
		log.ErrorContext(ctx, "request failed", "requestId", requestID, "status", entry.status, "error", err)
	} else {
		log.InfoContext(ctx, "request refused", "requestId", requestID, "status", entry.status, "code", string(code))
	}
	body, _ := json.Marshal(p)
	resp := events.APIGatewayV2HTTPResponse{
		StatusCode: entry.status,
		Headers:    map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store"},
		Body:       string(body),
	}
	if entry.status == http.StatusServiceUnavailable || entry.status == http.StatusTooManyRequests {
		retry := 2
		if de, ok := asDomain(err); ok && de.RetryAfter > 0 {
			retry = int(math.Ceil(de.RetryAfter.Seconds()))
		}
		resp.Headers["Retry-After"] = strconv.Itoa(retry)
	}
	return resp
}

// JSON returns a JSON response. API responses carry PHI, so nothing may
// cache them.
func JSON(status int, v any) events.APIGatewayV2HTTPResponse {
	body, err := json.Marshal(v)
	if err != nil {
		// Only unmarshalable types fail here: a programming error.
		panic(err)
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Body:       string(body),
	}
}

// NoContent returns 204.
func NoContent() events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: map[string]string{"Cache-Control": "no-store"}}
}

func asDomain(err error) (*domain.Error, bool) {
	var de *domain.Error
	ok := errors.As(err, &de)
	return de, ok
}
