package gateway

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/golang-jwt/jwt/v5"
)

// request is what ServeHTTP knows when it builds the event.
type request struct {
	r        *http.Request
	body     []byte
	route    *route
	params   map[string]string
	claims   jwt.MapClaims
	scopes   []string
	id       string
	received time.Time
}

// event builds the payload format 2.0 event API Gateway would send.
func (g *Gateway) event(q request) events.APIGatewayV2HTTPRequest {
	r := q.r
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       q.route.Key(),
		RawPath:        r.URL.EscapedPath(),
		RawQueryString: r.URL.RawQuery,
		Headers:        map[string]string{},
		PathParameters: q.params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     q.route.Key(),
			AccountID:    g.accountID,
			Stage:        g.stage,
			RequestID:    q.id,
			APIID:        g.apiID,
			DomainName:   r.Host,
			DomainPrefix: strings.SplitN(r.Host, ".", 2)[0],
			Time:         q.received.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    q.received.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.EscapedPath(),
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}

	// Header names are lower-cased and repeated values comma-joined.
	// Cookies move to their own field, one entry per cookie.
	for name, values := range r.Header {
		name = strings.ToLower(name)
		if name == "cookie" {
			for _, v := range values {
				for c := range strings.SplitSeq(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[name] = strings.Join(values, ",")
	}
	// Go moves Host out of the header map; API Gateway keeps it, and adds
	// the forwarding headers of its load balancer.
	ev.Headers["host"] = r.Host
	if xff := ev.Headers["x-forwarded-for"]; xff != "" {
		ev.Headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		ev.Headers["x-forwarded-for"] = sourceIP
	}
	proto, port := "http", "80"
	if r.TLS != nil {
		proto, port = "https", "443"
	}
	if _, p, err := net.SplitHostPort(r.Host); err == nil {
		port = p
	}
	ev.Headers["x-forwarded-proto"] = proto
	ev.Headers["x-forwarded-port"] = port
	if len(q.body) > 0 {
		ev.Headers["content-length"] = fmt.Sprint(len(q.body))
	}

	if query, err := url.ParseQuery(r.URL.RawQuery); err == nil && len(query) > 0 {
		ev.QueryStringParameters = map[string]string{}
		for k, vs := range query {
			ev.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}

	if q.claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{
				Claims: flattenClaims(q.claims),
				Scopes: q.scopes,
			},
		}
	}

	if len(q.body) > 0 {
		if isText(r.Header.Get("Content-Type")) {
			ev.Body = string(q.body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(q.body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// flattenClaims turns every claim into the string API Gateway passes on.
// Observed on AWS: numbers keep their digits ("1764061200") and lists
// print like a Go slice ("[doctor admin]"). That is what fmt.Sprint gives
// for claims decoded with json.Number, so the same rule is applied to the
// shapes not observed (objects print as Go maps, null as "<nil>").
func flattenClaims(claims jwt.MapClaims) map[string]string {
	out := make(map[string]string, len(claims))
	for k, v := range claims {
		if s, ok := v.(string); ok {
			out[k] = s
			continue
		}
		out[k] = fmt.Sprint(v)
	}
	return out
}

// isText reports whether API Gateway passes a body of this type as text;
// anything else arrives base64-encoded.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript":
		return true
	}
	return false
}
