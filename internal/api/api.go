// Package api is the HTTP side of the application core: one handler per
// Lambda function that takes the API Gateway HTTP API payload 2.0 event,
// reads the caller's claims, dispatches on the operation the route table
// names for the route, and turns results and errors into responses. The
// operations themselves, their authorization and their audit records are
// package app's.
package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/httpapi"
	"github.com/pedsportal/messaging/internal/linktoken"
	"github.com/pedsportal/messaging/internal/routes"
)

// Handler is a Lambda handler for the HTTP API.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Store is what the handlers need stored: the repository and the audit
// writer. package store implements it; tests fake it.
type Store interface {
	app.Repository
	audit.Writer
}

// Deps are what a handler is built from, once per container, outside the
// handler (package compose builds them).
type Deps struct {
	Store   Store
	Cursors *cursor.Codec // nil for functions that do not page
	// LinkKey is the raw cursor key, given to functions that hold it
	// (routes.Function.Cursors), from which the handler derives the signer
	// of e-mail links. Cursors and links share the secret; package
	// linktoken derives its own key from it, so neither signature is ever
	// valid as the other.
	LinkKey   []byte
	Audiences authz.Audiences
	Log       *slog.Logger
	Now       func() time.Time
	// DailyWriteLimit caps a portal user's messages per patient per day
	// (0: app.DefaultDailyWriteLimit).
	DailyWriteLimit int
	// ExportBudget bounds one part of a download (0: app.ExportBudget).
	ExportBudget int
	// Blobs signs attachment uploads and downloads; nil for functions
	// without routes.BlobSign.
	Blobs app.Blobs
}

// req is one request in flight.
type req struct {
	ctx  context.Context
	ev   events.APIGatewayV2HTTPRequest
	call *app.Call
	log  *slog.Logger
}

func (r *req) path(name string) string { return r.ev.PathParameters[name] }

type op func(*handler, *req) (events.APIGatewayV2HTTPResponse, error)

type handler struct {
	function string
	ops      map[routes.Operation]op
	app      *app.App
	cursors  *cursor.Codec
	auds     authz.Audiences
	log      *slog.Logger
}

func newHandler(function string, ops map[routes.Operation]op, d Deps) Handler {
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	// A key too short for a signer leaves none: Unsubscribe then fails
	// closed. compose refuses such a key before any handler is built.
	links, _ := linktoken.New(d.LinkKey)
	// Every store keeps attachment records; fakes of the chart may not.
	files, _ := d.Store.(app.AttachmentRepository)
	h := &handler{
		function: function,
		ops:      ops,
		app: app.New(d.Store, d.Store, app.Options{
			Log: log, Now: d.Now, DailyWriteLimit: d.DailyWriteLimit, ExportBudget: d.ExportBudget, Links: links, Attachments: files, Blobs: d.Blobs,
		}),
		cursors: d.Cursors,
		auds:    d.Audiences,
		log:     log,
	}
	return h.serve
}

// serve runs one request: route, principal, operation, problem mapping,
// and the audit record of an attempt that stored none. It never returns an
// error to Lambda, so clients always get a problem document rather than
// API Gateway's bare 500.
func (h *handler) serve(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (resp events.APIGatewayV2HTTPResponse, _ error) {
	rid := ev.RequestContext.RequestID
	log := h.log.With("requestId", rid, "route", ev.RouteKey)
	route, ok := routes.ByKey(ev.RouteKey)
	serveOp, registered := h.ops[route.Op]
	if !ok || route.Function != h.function || !registered {
		return httpapi.Error(ctx, log, rid, domain.ErrNotFound), nil
	}
	p, err := authz.FromEvent(ev, route, h.auds)
	if err != nil {
		return httpapi.Error(ctx, log, rid, err), nil
	}
	// IDs are checked before anything reaches DynamoDB: a key built from a
	// crafted ID (one holding "#MSG#", say) must never address another
	// item. A malformed ID names nothing, so it is an ordinary 404 and is
	// not audited.
	if err := validPathIDs(ev.PathParameters); err != nil {
		return httpapi.Error(ctx, log, rid, err), nil
	}
	// Answer before Lambda's deadline: dependencies get the time left but
	// a margin, so a stalled call ends in a 503 problem with Retry-After
	// and an audit record, not in a killed function.
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-answerMargin))
		defer cancel()
	}
	r := &req{ctx: ctx, ev: ev, call: h.app.NewCall(p, rid, ev.RequestContext.HTTP.SourceIP), log: log}
	defer func() {
		if v := recover(); v != nil {
			resp = httpapi.Error(ctx, log, rid, fmt.Errorf("panic: %v", v))
			// A request that failed half-way is still an access attempt.
			h.app.Finish(ctx, r.call, resp.StatusCode)
		}
	}()
	resp, err = serveOp(h, r)
	if err != nil {
		resp = httpapi.Error(ctx, log, rid, err)
	}
	h.app.Finish(ctx, r.call, resp.StatusCode)
	log.InfoContext(ctx, "request", "status", resp.StatusCode, "actor", p.ID, "patientId", ev.PathParameters["patientId"], "conversationId", ev.PathParameters["conversationId"])
	return resp, nil
}

// answerMargin is kept free at the end of a request's deadline to write the
// attempt's audit record (app.Finish takes at most a second) and answer.
const answerMargin = 1500 * time.Millisecond

// validPathIDs checks every ID in the path against its format. Errors:
// ENotFound, identical to the answer for an ID that does not exist.
func validPathIDs(params map[string]string) error {
	for name, v := range params {
		ok := false
		switch name {
		case "conversationId":
			ok = domain.ValidConversationID(v)
		case "attachmentId":
			ok = domain.ValidAttachmentID(v)
		case "patientId", "portalUserId", "templateId":
			ok = domain.ValidID(v)
		}
		if !ok {
			return domain.ErrNotFound
		}
	}
	return nil
}

// idempotency binds the request's Idempotency-Key to what was asked: the
// route, the path and the decoded body.
func idempotency(r *req, key string, body any) app.Idempotency {
	j, _ := json.Marshal(body)
	h := sha256.New()
	h.Write([]byte(r.ev.RouteKey + "\x00" + r.ev.RawPath + "\x00"))
	h.Write(j)
	return app.Idempotency{CallerID: r.call.Principal.ID, Key: key, Hash: hex.EncodeToString(h.Sum(nil))}
}
