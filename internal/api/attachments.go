package api

import (
	"net/http"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/httpapi"
)

type uploadRequest struct {
	// ConversationID is the conversation the file is for; absent for
	// Write Message.
	ConversationID string `json:"conversationId"`
	Name           string `json:"name"`
	ContentType    string `json:"contentType"`
	Size           int64  `json:"size"`
}

type uploadResponse struct {
	Attachment domain.Attachment `json:"attachment"`
	Upload     app.UploadSlot    `json:"upload"`
}

func (h *handler) requestUpload(r *req) (response, error) {
	var in uploadRequest
	if err := httpapi.Decode(r.ev, &in, false); err != nil {
		return response{}, err
	}
	res, err := h.app.RequestUpload(r.ctx, r.call, app.UploadRequest{
		PatientID: r.path("patientId"), ConversationID: in.ConversationID,
		Name: in.Name, ContentType: in.ContentType, Size: in.Size,
	})
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusCreated, uploadResponse{res.Attachment, res.Upload}), nil
}

type attachmentResponse struct {
	Attachment domain.Attachment `json:"attachment"`
	// Download is absent unless the file is ready.
	Download *app.Download `json:"download,omitempty"`
}

func (h *handler) readAttachment(r *req) (response, error) {
	thumb := false
	switch v := r.ev.QueryStringParameters["variant"]; v {
	case "":
	case "thumbnail":
		thumb = true
	default:
		return response{}, domain.Invalid("variant", "variant is thumbnail or absent, not %q", v)
	}
	v, err := h.app.ReadAttachment(r.ctx, r.call, r.path("patientId"), r.path("conversationId"), r.path("attachmentId"), thumb)
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, attachmentResponse{v.Attachment, v.Download}), nil
}
