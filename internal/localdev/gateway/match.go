package gateway

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/pedsportal/messaging/internal/routes"
)

// route is a routes.Route compiled for matching.
type route struct {
	routes.Route
	segments []segment
}

type segment struct {
	literal string // when param is ""
	param   string
}

var paramName = regexp.MustCompile(`^\{([A-Za-z0-9_]+)\}$`)

func compile(r routes.Route) (*route, error) {
	if !strings.HasPrefix(r.Path, "/") {
		return nil, fmt.Errorf("route %s: path must start with /", r.Key())
	}
	if r.Method == "" || strings.ToUpper(r.Method) != r.Method {
		return nil, fmt.Errorf("route %s: method must be upper case", r.Key())
	}
	c := &route{Route: r}
	if r.Path == "/" {
		return c, nil
	}
	seen := map[string]bool{}
	for _, s := range strings.Split(r.Path[1:], "/") {
		switch m := paramName.FindStringSubmatch(s); {
		case m != nil:
			if seen[m[1]] {
				return nil, fmt.Errorf("route %s: parameter %s appears twice", r.Key(), m[1])
			}
			seen[m[1]] = true
			c.segments = append(c.segments, segment{param: m[1]})
		case s == "" || strings.ContainsAny(s, "{}"):
			// Greedy {proxy+} parameters and $default are not used by the
			// route table, so they are refused rather than half-supported.
			return nil, fmt.Errorf("route %s: unsupported path segment %q", r.Key(), s)
		default:
			c.segments = append(c.segments, segment{literal: s})
		}
	}
	return c, nil
}

// shape is the path with parameter names erased.
func (c *route) shape() string {
	var b strings.Builder
	for _, s := range c.segments {
		b.WriteString("/")
		if s.param != "" {
			b.WriteString("{}")
		} else {
			b.WriteString(s.literal)
		}
	}
	return b.String()
}

// match returns the path parameters if the request path fits. Segments
// are split on the escaped path and then decoded, so an encoded slash
// stays inside one parameter, and parameters reach the handler decoded.
func (c *route) match(segs []string) (map[string]string, bool) {
	if len(segs) != len(c.segments) {
		return nil, false
	}
	var params map[string]string
	for i, s := range c.segments {
		if s.param == "" {
			if segs[i] != s.literal {
				return nil, false
			}
			continue
		}
		if segs[i] == "" {
			return nil, false
		}
		if params == nil {
			params = map[string]string{}
		}
		params[s.param] = segs[i]
	}
	return params, true
}

// moreSpecific reports whether a beats b for the same request: API Gateway
// picks the most specific route, and a literal segment is more specific
// than a parameter at the same position.
func moreSpecific(a, b *route) bool {
	for i := range a.segments {
		al, bl := a.segments[i].param == "", b.segments[i].param == ""
		if al != bl {
			return al
		}
	}
	return false
}

// splitPath splits an escaped request path into decoded segments.
func splitPath(escaped string) ([]string, error) {
	if escaped == "/" || escaped == "" {
		return nil, nil
	}
	parts := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	for i, p := range parts {
		d, err := url.PathUnescape(p)
		if err != nil {
			return nil, err
		}
		parts[i] = d
	}
	return parts, nil
}

// find returns the route for method and path and its parameters.
func (g *Gateway) find(method string, segs []string) (*route, map[string]string) {
	var best *route
	var bestParams map[string]string
	for _, r := range g.routes {
		if r.Method != method {
			continue
		}
		p, ok := r.match(segs)
		if !ok {
			continue
		}
		if best == nil || moreSpecific(r, best) {
			best, bestParams = r, p
		}
	}
	return best, bestParams
}
