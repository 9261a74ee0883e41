// Package api holds one handler per Lambda function. Each handler takes the
// API Gateway HTTP API payload 2.0 event, authorizes the caller on every
// request, does one operation, and leaves exactly one audit record per
// patient whose messages it touched.
package api

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/httpapi"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/store"
)

// Handler is a Lambda handler for the HTTP API.
type Handler func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Deps are what handlers are built from. main.go builds them once per
// container, outside the handler.
type Deps struct {
	Store   *store.Store
	Cursors *cursor.Codec // nil for functions that do not page
	Issuers authz.Issuers
	Log     *slog.Logger
	Now     func() time.Time
}

// Constructors maps each function of routes.Functions to its handler, so
// functions/*/main.go and the local gateway wire the very same code.
var Constructors = map[string]func(Deps) Handler{
	routes.FnDirectory:          NewDirectory,
	routes.FnListConversations:  NewListConversations,
	routes.FnInbox:              NewInbox,
	routes.FnGetConversation:    NewGetConversation,
	routes.FnWriteMessage:       NewWriteMessage,
	routes.FnMarkRead:           NewMarkRead,
	routes.FnManageConversation: NewManageConversation,
	routes.FnManageLinks:        NewManageLinks,
}

// base carries what every handler shares.
type base struct {
	audit   audit.Writer
	issuers authz.Issuers
	log     *slog.Logger
	now     func() time.Time
}

func newBase(d Deps) base {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	return base{audit: d.Store, issuers: d.Issuers, log: log, now: func() time.Time { return now().UTC() }}
}

// call is one request in flight.
type call struct {
	ctx context.Context
	req events.APIGatewayV2HTTPRequest
	p   authz.Principal
	log *slog.Logger
	// rec is the audit record, filled in as the operation learns more.
	rec audit.Record
	// patients, when set, lists every patient whose messages a cross-patient
	// read (the inbox) returned; each gets its own record.
	patients []string
	replayed bool
}

func (c *call) path(name string) string { return c.req.PathParameters[name] }

// validPathIDs checks every ID in the path against its format. Errors:
// ENotFound, identical to the answer for an ID that does not exist.
func validPathIDs(params map[string]string) error {
	for name, v := range params {
		ok := false
		switch name {
		case "conversationId":
			ok = domain.ValidConversationID(v)
		case "patientId", "portalUserId":
			ok = domain.ValidID(v)
		}
		if !ok {
			return domain.ErrNotFound
		}
	}
	return nil
}

// serve runs op for one request: principal, operation, problem mapping and
// the audit record. action is "" for operations that touch no messages.
// It never returns an error to Lambda, so clients always get a problem
// document rather than API Gateway's bare 500.
func (b base) serve(ctx context.Context, req events.APIGatewayV2HTTPRequest, action audit.Action, op func(*call) (events.APIGatewayV2HTTPResponse, error)) (resp events.APIGatewayV2HTTPResponse, _ error) {
	rid := req.RequestContext.RequestID
	log := b.log.With("requestId", rid, "route", req.RouteKey)
	c := &call{ctx: ctx, req: req, log: log}
	defer func() {
		if r := recover(); r != nil {
			resp = httpapi.Error(ctx, log, rid, fmt.Errorf("panic: %v", r))
			// A request that failed half-way is still an access attempt.
			if action != "" && c.rec.ActorID != "" {
				_ = b.record(c, resp.StatusCode)
			}
		}
	}()
	p, err := authz.FromEvent(req, b.issuers)
	if err != nil {
		return httpapi.Error(ctx, log, rid, err), nil
	}
	c.p = p
	// IDs are checked before anything reaches DynamoDB: a key built from a
	// crafted ID (one holding "#MSG#", say) must never address another
	// item. A malformed ID names nothing, so it is an ordinary 404 and is
	// not audited.
	if err := validPathIDs(req.PathParameters); err != nil {
		return httpapi.Error(ctx, log, rid, err), nil
	}
	c.rec = audit.Record{
		PatientID:      req.PathParameters["patientId"],
		ConversationID: req.PathParameters["conversationId"],
		At:             b.now(),
		ActorID:        p.ID,
		ActorSide:      string(p.Side),
		ActorRole:      p.Role(),
		Action:         action,
		RequestID:      rid,
		SourceIP:       req.RequestContext.HTTP.SourceIP,
	}
	resp, err = op(c)
	if err != nil {
		resp = httpapi.Error(ctx, log, rid, err)
	}
	if action != "" {
		if aerr := b.record(c, resp.StatusCode); aerr != nil && resp.StatusCode < 300 {
			// Fail closed: patient data is not released, and a write is
			// not confirmed, without its audit record. A retried write is
			// answered by the idempotency record and audited then.
			return httpapi.Error(ctx, log, rid, aerr), nil
		}
	}
	log.InfoContext(ctx, "request", "status", resp.StatusCode, "actor", p.ID, "patientId", c.rec.PatientID, "conversationId", c.rec.ConversationID)
	return resp, nil
}

// record appends the audit record(s) for the request: one per patient.
func (b base) record(c *call, status int) error {
	r := c.rec
	r.Status = status
	switch {
	case c.replayed:
		r.Outcome = audit.Replayed
	case status < 300:
		r.Outcome = audit.Success
	case status == http.StatusNotFound || status == http.StatusForbidden:
		r.Outcome = audit.Denied
	case status < 500:
		r.Outcome = audit.Rejected
	default:
		r.Outcome = audit.Failed
	}
	patients := c.patients
	if patients == nil {
		if r.PatientID == "" {
			return nil
		}
		patients = []string{r.PatientID}
	}
	// Puts run in parallel: the audit table grants PutItem only, never
	// BatchWriteItem, which could also delete.
	errs := make([]error, len(patients))
	var wg sync.WaitGroup
	for i, id := range patients {
		wg.Go(func() {
			rr := r
			rr.PatientID = id
			errs[i] = b.audit.AppendAudit(c.ctx, rr)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			c.log.ErrorContext(c.ctx, "audit write failed", "error", err)
			return err
		}
	}
	return nil
}
