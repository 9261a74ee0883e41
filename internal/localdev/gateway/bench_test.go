package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/bench"
	"github.com/pedsportal/messaging/internal/localdev/gateway"
)

// listBody is about the size of a first page of conversations.
var listBody = `{"items":[` + strings.Repeat(`{"id":"01JDEMO0000000000000000000","subject":"A question about the rash","status":"open","lastActivity":"2026-11-30T10:00:00Z","unread":true},`, 19) +
	`{"id":"01JDEMO0000000000000000000","subject":"A question about the rash","status":"open","lastActivity":"2026-11-30T10:00:00Z","unread":true}]}`

// BenchmarkServe is the gateway's own cost per authorized request: a
// portal list with a real token, to a handler that answers a page of
// conversations at once. "inprocess" calls ServeHTTP directly; "http"
// adds the loopback exchange through a keep-alive client. Besides wall
// time it reports the process's CPU time per request, which other load on
// a shared machine disturbs far less.
func BenchmarkServe(b *testing.B) {
	page := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusOK,
			Headers: map[string]string{"Content-Type": "application/json"}, Body: listBody}, nil
	}
	s := newGateway(b, func(c *gateway.Config) {
		for fn := range c.Handlers {
			c.Handlers[fn] = page
		}
		c.CORSOrigins = nil
	})
	tok := "Bearer " + mint(b, "portal", "parent1")
	url := s.srv.URL + "/portal/patients/p-1/conversations"
	b.Run("inprocess", func(b *testing.B) {
		g := s.srv.Config.Handler
		b.ReportAllocs()
		defer bench.CPUPerOp(b)()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", tok)
			w := httptest.NewRecorder()
			g.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
	b.Run("http", func(b *testing.B) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
		b.ReportAllocs()
		defer bench.CPUPerOp(b)()
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Header.Set("Authorization", tok)
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("status %d", res.StatusCode)
			}
		}
	})
}
