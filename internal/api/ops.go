package api

import (
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/cursor"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/httpapi"
)

type response = events.APIGatewayV2HTTPResponse

// ---- directory ----

type linkedPatient struct {
	ID           string              `json:"id"`
	DisplayName  string              `json:"displayName"`
	DateOfBirth  string              `json:"dateOfBirth"`
	Relationship domain.Relationship `json:"relationship"`
	// ConfidentialPools, for the patient's own account from the
	// practice's age, are the pools Write Message may send to "only my
	// care team".
	ConfidentialPools []string `json:"confidentialPools,omitempty"`
}

// patientsResponse is the Current Patient list and the practice the
// portal names.
type patientsResponse struct {
	Items    []linkedPatient   `json:"items"`
	Practice *app.PracticeCard `json:"practice,omitempty"`
}

type patientLink struct {
	PortalUserID   string              `json:"portalUserId"`
	PortalUserName string              `json:"portalUserName"`
	Relationship   domain.Relationship `json:"relationship"`
	// EmailUnreachable: the family's e-mail bounced or complained.
	EmailUnreachable bool `json:"emailUnreachable"`
}

type member struct {
	ID          string           `json:"id"`
	DisplayName string           `json:"displayName"`
	Role        domain.StaffRole `json:"role"`
}

func (h *handler) listPatients(r *req) (response, error) {
	links, practice, err := h.app.ListPatients(r.ctx, r.call)
	if err != nil {
		return response{}, err
	}
	items := make([]linkedPatient, len(links))
	for i, l := range links {
		items[i] = linkedPatient{l.PatientID, l.PatientName, l.PatientDOB, l.Relationship, h.app.ConfidentialPools(r.ctx, r.call, l)}
	}
	return httpapi.JSON(http.StatusOK, patientsResponse{Items: items, Practice: practice}), nil
}

func (h *handler) listPools(r *req) (response, error) {
	var pools []domain.Pool
	var err error
	if r.call.Principal.Side == domain.SidePortal {
		pools, err = h.app.PortalPools(r.ctx, r.call)
	} else {
		pools, err = h.app.StaffPools(r.ctx, r.call)
	}
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, listResponse[domain.Pool]{Items: nonNil(pools)}), nil
}

func (h *handler) staffProfile(r *req) (response, error) {
	me, err := h.app.StaffProfile(r.ctx, r.call)
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, me), nil
}

func (h *handler) listStaff(r *req) (response, error) {
	staff, err := h.app.ListStaff(r.ctx, r.call)
	if err != nil {
		return response{}, err
	}
	items := make([]member, len(staff))
	for i, s := range staff {
		items[i] = member{s.ID, s.DisplayName, s.Role}
	}
	return httpapi.JSON(http.StatusOK, listResponse[member]{Items: items}), nil
}

func (h *handler) searchPatients(r *req) (response, error) {
	var in struct {
		Query string `json:"query"`
	}
	if err := httpapi.Decode(r.ev, &in, false); err != nil {
		return response{}, err
	}
	found, err := h.app.SearchPatients(r.ctx, r.call, in.Query)
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, listResponse[domain.Patient]{Items: nonNil(found)}), nil
}

func (h *handler) viewPatient(r *req) (response, error) {
	v, err := h.app.ViewPatient(r.ctx, r.call, r.path("patientId"))
	if err != nil {
		return response{}, err
	}
	out := struct {
		Patient  domain.Patient `json:"patient"`
		Links    []patientLink  `json:"links"`
		Warnings []string       `json:"warnings"`
	}{Patient: v.Patient, Links: make([]patientLink, len(v.Links)), Warnings: nonNil(v.Warnings)}
	for i, l := range v.Links {
		out.Links[i] = patientLink{l.PortalUserID, l.PortalUserName, l.Relationship, l.EmailUnreachable}
	}
	return httpapi.JSON(http.StatusOK, out), nil
}

func (h *handler) link(r *req) (response, error) {
	var in struct {
		Relationship domain.Relationship `json:"relationship"`
	}
	if err := httpapi.Decode(r.ev, &in, false); err != nil {
		return response{}, err
	}
	l, err := h.app.Link(r.ctx, r.call, app.LinkRequest{PatientID: r.path("patientId"), PortalUserID: r.path("portalUserId"), Relationship: in.Relationship})
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, l), nil
}

func (h *handler) unlink(r *req) (response, error) {
	if err := h.app.Unlink(r.ctx, r.call, r.path("patientId"), r.path("portalUserId")); err != nil {
		return response{}, err
	}
	return httpapi.NoContent(), nil
}

// ---- reads ----

func statusParam(r *req) (domain.Status, error) {
	switch s := domain.Status(r.ev.QueryStringParameters["status"]); s {
	case "", domain.StatusOpen, domain.StatusClosed:
		return s, nil
	default:
		return "", domain.Invalid("status", "status must be open or closed")
	}
}

func (h *handler) listConversations(r *req) (response, error) {
	status, err := statusParam(r)
	if err != nil {
		return response{}, err
	}
	p, pid := r.call.Principal, r.path("patientId")
	binding := cursor.Binding(string(p.Side), p.ID, "conversations", pid, string(status))
	limit, start, err := h.pageOpts(r, binding)
	if err != nil {
		return response{}, err
	}
	page, err := h.app.ListConversations(r.ctx, r.call, pid, app.ConversationFilter{Status: status}, limit, start)
	if err != nil {
		return response{}, err
	}
	next, err := h.cursors.Encode(binding, page.LastKey)
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, listResponse[conversationView]{viewsOf(page.Items, p.Side), next}), nil
}

type chainResponse struct {
	// Conversation is the header, on the first page only.
	Conversation *conversationView `json:"conversation,omitempty"`
	Messages     []messageView     `json:"messages"`
	NextCursor   string            `json:"nextCursor,omitempty"`
}

// messageView is a message with, for the family's own messages, where it
// stands.
type messageView struct {
	domain.Message
	Status *app.MessageStatus `json:"status,omitempty"`
}

func messageViews(msgs []domain.Message, statuses map[string]app.MessageStatus) []messageView {
	out := make([]messageView, len(msgs))
	for i, m := range msgs {
		out[i].Message = m
		if st, ok := statuses[m.ID]; ok {
			out[i].Status = &st
		}
	}
	return out
}

func (h *handler) readConversation(r *req) (response, error) {
	p, pid, cid := r.call.Principal, r.path("patientId"), r.path("conversationId")
	binding := cursor.Binding(string(p.Side), p.ID, "chain", pid, cid)
	limit, start, err := h.pageOpts(r, binding)
	if err != nil {
		return response{}, err
	}
	chain, err := h.app.ReadConversation(r.ctx, r.call, pid, cid, limit, start)
	if err != nil {
		return response{}, err
	}
	next, err := h.cursors.Encode(binding, chain.Messages.LastKey)
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, chainResponse{viewOf(chain.Conversation, p.Side), messageViews(chain.Messages.Items, chain.Statuses), next}), nil
}

// inboxViews are the inbox's queues by turn; "all" lists by activity.
var inboxViews = map[string]domain.Awaiting{
	"needs-reply": domain.AwaitingStaff,
	"waiting":     domain.AwaitingFamily,
	"done":        domain.AwaitingNone,
	"all":         "",
}

func (h *handler) inbox(r *req) (response, error) {
	q := r.ev.QueryStringParameters
	status, err := statusParam(r)
	if err != nil {
		return response{}, err
	}
	p := r.call.Principal
	view := q["view"]
	if view == "" {
		view = "needs-reply" // what staff work from
	}
	awaiting, ok := inboxViews[view]
	if !ok {
		return response{}, domain.Invalid("view", "view must be needs-reply, waiting, done or all")
	}
	f := app.ConversationFilter{Awaiting: awaiting, Status: status, PoolID: q["pool"]}
	if awaiting != "" && (status != "" || q["unread"] != "") {
		return response{}, domain.Invalid("view", "status and unread filter the \"all\" view only; give view=all")
	}
	if v, ok := q["unread"]; ok {
		if f.UnreadOnly, err = strconv.ParseBool(v); err != nil {
			return response{}, domain.Invalid("unread", "unread must be true or false")
		}
	}
	switch q["assigned"] {
	case "":
	case "me":
		f.AssigneeID = p.ID
	default:
		return response{}, domain.Invalid("assigned", "assigned must be me")
	}
	binding := cursor.Binding("staff", p.ID, "inbox", view, string(f.Status), f.PoolID, f.AssigneeID, strconv.FormatBool(f.UnreadOnly))
	limit, start, err := h.pageOpts(r, binding)
	if err != nil {
		return response{}, err
	}
	page, err := h.app.Inbox(r.ctx, r.call, f, limit, start)
	if err != nil {
		return response{}, err
	}
	next, err := h.cursors.Encode(binding, page.LastKey)
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, listResponse[conversationView]{viewsOf(page.Items, p.Side), next}), nil
}

func (h *handler) inboxSummary(r *req) (response, error) {
	sum, err := h.app.InboxSummary(r.ctx, r.call)
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, sum), nil
}

func (h *handler) portalSummary(r *req) (response, error) {
	sum, err := h.app.PortalNews(r.ctx, r.call)
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, sum), nil
}

// ---- writes ----

type newConversationRequest struct {
	PortalUserID string `json:"portalUserId"` // staff only
	PoolID       string `json:"poolId"`
	// Audience is "family" (the default) or "confidential".
	Audience domain.Audience `json:"audience"`
	Subject  string          `json:"subject"`
	Body     string          `json:"body"`
	// AttachmentIDs are the caller's ready uploads (at most 5).
	AttachmentIDs []string `json:"attachmentIds"`
}

type replyRequest struct {
	Body          string   `json:"body"`
	AttachmentIDs []string `json:"attachmentIds"`
}

type writeResponse struct {
	Conversation *conversationView `json:"conversation,omitempty"`
	Message      *domain.Message   `json:"message"`
	// Acknowledgement is the automatic after-hours reply, when the office
	// is closed.
	Acknowledgement *domain.Message `json:"acknowledgement,omitempty"`
}

func (h *handler) startConversation(r *req) (response, error) {
	key, err := httpapi.IdempotencyKey(r.ev)
	if err != nil {
		return response{}, err
	}
	var in newConversationRequest
	if err := httpapi.Decode(r.ev, &in, false); err != nil {
		return response{}, err
	}
	side := r.call.Principal.Side
	if side == domain.SidePortal && in.PortalUserID != "" {
		return response{}, &domain.Error{Code: domain.EMalformed, Field: "portalUserId", Message: `unknown field "portalUserId"`}
	}
	res, err := h.app.StartConversation(r.ctx, r.call, app.StartRequest{
		PatientID: r.path("patientId"), PortalUserID: in.PortalUserID, PoolID: in.PoolID, Audience: in.Audience,
		Subject: in.Subject, Body: in.Body, AttachmentIDs: in.AttachmentIDs, Idem: idempotency(r, key, in),
	})
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusCreated, writeResponse{viewOf(res.Conversation, side), res.Message, res.Acknowledgement}), nil
}

func (h *handler) reply(r *req) (response, error) {
	key, err := httpapi.IdempotencyKey(r.ev)
	if err != nil {
		return response{}, err
	}
	var in replyRequest
	if err := httpapi.Decode(r.ev, &in, false); err != nil {
		return response{}, err
	}
	res, err := h.app.Reply(r.ctx, r.call, app.ReplyRequest{
		PatientID: r.path("patientId"), ConversationID: r.path("conversationId"), Body: in.Body,
		AttachmentIDs: in.AttachmentIDs, Idem: idempotency(r, key, in),
	})
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusCreated, writeResponse{Message: res.Message, Acknowledgement: res.Acknowledgement}), nil
}

type conversationResponse struct {
	Conversation *conversationView `json:"conversation"`
}

func (h *handler) markRead(r *req) (response, error) {
	var in struct{}
	if err := httpapi.Decode(r.ev, &in, true); err != nil {
		return response{}, err
	}
	conv, err := h.app.MarkRead(r.ctx, r.call, r.path("patientId"), r.path("conversationId"))
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, conversationResponse{viewOf(conv, r.call.Principal.Side)}), nil
}

type changeRequest struct {
	Status *domain.Status `json:"status"`
	// AssigneeID assigns the conversation; "" clears the assignment.
	AssigneeID *string `json:"assigneeId"`
	// TakeOver claims a conversation someone else holds.
	TakeOver bool `json:"takeOver"`
	// PoolID reroutes, for Reason.
	PoolID string `json:"poolId"`
	Reason string `json:"reason"`
	// Awaiting: "none" (no reply needed) or "staff" (needs reply).
	Awaiting *domain.Awaiting `json:"awaiting"`
	// Version, when given, must match the conversation's current version.
	Version int `json:"version"`
}

func (h *handler) manageConversation(r *req) (response, error) {
	var in changeRequest
	if err := httpapi.Decode(r.ev, &in, false); err != nil {
		return response{}, err
	}
	conv, err := h.app.Manage(r.ctx, r.call, app.ManageRequest{
		PatientID: r.path("patientId"), ConversationID: r.path("conversationId"),
		Status: in.Status, AssigneeID: in.AssigneeID, TakeOver: in.TakeOver, PoolID: in.PoolID, Reason: in.Reason,
		Awaiting: in.Awaiting, Version: in.Version,
	})
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, conversationResponse{viewOf(conv, r.call.Principal.Side)}), nil
}

func (h *handler) changeAudience(r *req) (response, error) {
	var in struct {
		Audience domain.Audience `json:"audience"`
		Reason   string          `json:"reason"`
		Version  int             `json:"version"`
	}
	if err := httpapi.Decode(r.ev, &in, false); err != nil {
		return response{}, err
	}
	conv, err := h.app.ChangeAudience(r.ctx, r.call, app.AudienceRequest{
		PatientID: r.path("patientId"), ConversationID: r.path("conversationId"),
		Audience: in.Audience, Reason: in.Reason, Version: in.Version,
	})
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, conversationResponse{viewOf(conv, r.call.Principal.Side)}), nil
}

func (h *handler) addNote(r *req) (response, error) {
	var in struct {
		Text string `json:"text"`
	}
	if err := httpapi.Decode(r.ev, &in, false); err != nil {
		return response{}, err
	}
	e, err := h.app.AddNote(r.ctx, r.call, app.NoteRequest{PatientID: r.path("patientId"), ConversationID: r.path("conversationId"), Text: in.Text})
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusCreated, e), nil
}

func (h *handler) readWorklog(r *req) (response, error) {
	p, pid, cid := r.call.Principal, r.path("patientId"), r.path("conversationId")
	binding := cursor.Binding(string(p.Side), p.ID, "worklog", pid, cid)
	limit, start, err := h.pageOpts(r, binding)
	if err != nil {
		return response{}, err
	}
	page, err := h.app.ReadWorklog(r.ctx, r.call, pid, cid, limit, start)
	if err != nil {
		return response{}, err
	}
	next, err := h.cursors.Encode(binding, page.LastKey)
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, listResponse[domain.Entry]{nonNil(page.Items), next}), nil
}
