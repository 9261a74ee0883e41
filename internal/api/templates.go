package api

import (
	"net/http"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/httpapi"
)

// ---- quick-reply templates ----

type templateRequest struct {
	Title string `json:"title"`
	Body  string `json:"body"`
}

type templateResponse struct {
	Template *domain.Template `json:"template"`
}

type previewResponse struct {
	TemplateID string `json:"templateId"`
	Title      string `json:"title"`
	// Text is the body resolved for the patient, to put in the reply box.
	Text       string   `json:"text"`
	Unresolved []string `json:"unresolved"`
}

func (h *handler) listTemplates(r *req) (response, error) {
	list, err := h.app.ListTemplates(r.ctx, r.call)
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, listResponse[domain.Template]{Items: nonNil(list)}), nil
}

func (h *handler) createTemplate(r *req) (response, error) {
	var in templateRequest
	if err := httpapi.Decode(r.ev, &in, false); err != nil {
		return response{}, err
	}
	t, err := h.app.CreateTemplate(r.ctx, r.call, app.TemplateInput{Title: in.Title, Body: in.Body})
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusCreated, templateResponse{t}), nil
}

func (h *handler) updateTemplate(r *req) (response, error) {
	var in templateRequest
	if err := httpapi.Decode(r.ev, &in, false); err != nil {
		return response{}, err
	}
	t, err := h.app.UpdateTemplate(r.ctx, r.call, r.path("templateId"), app.TemplateInput{Title: in.Title, Body: in.Body})
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, templateResponse{t}), nil
}

func (h *handler) deleteTemplate(r *req) (response, error) {
	if err := h.app.DeleteTemplate(r.ctx, r.call, r.path("templateId")); err != nil {
		return response{}, err
	}
	return httpapi.NoContent(), nil
}

func (h *handler) previewTemplate(r *req) (response, error) {
	var in struct{}
	if err := httpapi.Decode(r.ev, &in, true); err != nil {
		return response{}, err
	}
	p, err := h.app.PreviewTemplate(r.ctx, r.call, r.path("patientId"), r.path("templateId"))
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, previewResponse{p.Template.ID, p.Template.Title, p.Text, nonNil(p.Unresolved)}), nil
}
