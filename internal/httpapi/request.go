package httpapi

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/domain"
)

// MaxBody is the largest request body accepted. Characters are counted as
// a person sees them (grapheme clusters), and one emoji family is 18 bytes:
// 5,000 of them with JSON overhead fit, and so does the message item within
// DynamoDB's 400 KB item limit.
const MaxBody = 256 << 10

// Body returns the raw request body, decoding base64 when API Gateway chose
// to encode it. Errors: ETooLarge, EMalformed.
func Body(req events.APIGatewayV2HTTPRequest) ([]byte, error) {
	raw := []byte(req.Body)
	if req.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(req.Body)) > MaxBody*2 {
			return nil, domain.Errorf(domain.ETooLarge, "the request body is larger than %d bytes", MaxBody)
		}
		var err error
		if raw, err = base64.StdEncoding.DecodeString(req.Body); err != nil {
			return nil, domain.Errorf(domain.EMalformed, "the request body is not valid base64")
		}
	}
	if len(raw) > MaxBody {
		return nil, domain.Errorf(domain.ETooLarge, "the request body is larger than %d bytes", MaxBody)
	}
	return raw, nil
}

// Decode reads the request body as exactly one JSON object into v. Unknown
// fields, trailing data, invalid UTF-8 and a non-JSON content type are
// refused; an empty body is allowed only when allowEmpty. Errors:
// EMalformed, ETooLarge.
func Decode(req events.APIGatewayV2HTTPRequest, v any, allowEmpty bool) error {
	raw, err := Body(req)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		if allowEmpty {
			return nil
		}
		return domain.Errorf(domain.EMalformed, "a JSON request body is required")
	}
	if ct := Header(req, "content-type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		if mt = strings.TrimSpace(strings.ToLower(mt)); mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			return domain.Errorf(domain.EMalformed, "Content-Type must be application/json")
		}
	}
	if !utf8.Valid(raw) {
		return domain.Errorf(domain.EMalformed, "the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		switch {
		case errors.As(err, &ute):
			return &domain.Error{Code: domain.EMalformed, Field: ute.Field, Message: "field " + ute.Field + " has the wrong type"}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			// encoding/json has no typed error for unknown fields.
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &domain.Error{Code: domain.EMalformed, Field: name, Message: "unknown field " + strconv.Quote(name)}
		default:
			return domain.Errorf(domain.EMalformed, "the request body is not valid JSON")
		}
	}
	if _, err := dec.Token(); err != io.EOF {
		return domain.Errorf(domain.EMalformed, "the request body must hold exactly one JSON object")
	}
	return nil
}

// Header returns a request header; API Gateway lower-cases names.
func Header(req events.APIGatewayV2HTTPRequest, name string) string {
	return req.Headers[strings.ToLower(name)]
}

// Limit parses the limit query parameter. Errors: EInvalid.
func Limit(req events.APIGatewayV2HTTPRequest, def, max int) (int, error) {
	s, ok := req.QueryStringParameters["limit"]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, domain.Invalid("limit", "limit must be a whole number from 1 to %d", max)
	}
	return n, nil
}

// IdempotencyKey returns the required Idempotency-Key header. Errors:
// EInvalid.
func IdempotencyKey(req events.APIGatewayV2HTTPRequest) (string, error) {
	k := Header(req, "idempotency-key")
	if k == "" {
		return "", domain.Invalid("Idempotency-Key", "the Idempotency-Key header is required for this request")
	}
	if len(k) > 100 || !printableASCII(k) {
		return "", domain.Invalid("Idempotency-Key", "the Idempotency-Key header must be 1 to 100 printable ASCII characters")
	}
	return k, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
