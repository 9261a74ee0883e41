package api

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/httpapi"
)

// ---- notification preferences ----

// notifyView is a portal user's notification settings as the portal's
// preferences page reads them.
type notifyView struct {
	Email            bool `json:"email"`
	SMS              bool `json:"sms"`
	EmailAvailable   bool `json:"emailAvailable"`
	SMSAvailable     bool `json:"smsAvailable"`
	EmailUnreachable bool `json:"emailUnreachable"`
}

func viewOfSettings(s *app.NotifySettings) notifyView {
	return notifyView{s.Channels.Email, s.Channels.SMS, s.EmailAvailable, s.SMSAvailable, s.EmailUnreachable}
}

// notifyRequest is the body of PUT /portal/me/notifications: both fields
// are required, so that a client never turns a channel off by leaving it
// out.
type notifyRequest struct {
	Email *bool `json:"email"`
	SMS   *bool `json:"sms"`
}

func (h *handler) getNotify(r *req) (response, error) {
	s, err := h.app.GetNotify(r.ctx, r.call)
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, viewOfSettings(s)), nil
}

func (h *handler) setNotify(r *req) (response, error) {
	var in notifyRequest
	if err := httpapi.Decode(r.ev, &in, false); err != nil {
		return response{}, err
	}
	if in.Email == nil {
		return response{}, domain.Invalid("email", "email is required: true or false")
	}
	if in.SMS == nil {
		return response{}, domain.Invalid("sms", "sms is required: true or false")
	}
	s, err := h.app.SetNotify(r.ctx, r.call, domain.Channels{Email: *in.Email, SMS: *in.SMS})
	if err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, viewOfSettings(s)), nil
}

// unsubscribe is the List-Unsubscribe URL of RFC 8058: a mail provider
// POSTs List-Unsubscribe=One-Click to it, with the signed token in ?t=,
// and no sign-in. A valid token always gets the same 200, however often;
// anything else the one 404.
func (h *handler) unsubscribe(r *req) (response, error) {
	if err := oneClickBody(r); err != nil {
		return response{}, err
	}
	if err := h.app.Unsubscribe(r.ctx, r.call, r.ev.QueryStringParameters["t"]); err != nil {
		return response{}, err
	}
	return httpapi.JSON(http.StatusOK, struct {
		Unsubscribed bool `json:"unsubscribed"`
	}{true}), nil
}

// Limits of a one-click body: a single short field is all RFC 8058 sends.
const (
	maxFormParts     = 8
	maxFormPartBytes = 1 << 10
)

// oneClickBody accepts the bodies a one-click unsubscribe arrives with:
// none, or List-Unsubscribe=One-Click as application/x-www-form-urlencoded
// or multipart/form-data (RFC 8058 allows both). Errors: EMalformed for
// another content type or a body that does not parse, EInvalid naming
// List-Unsubscribe when the field is missing or not One-Click.
func oneClickBody(r *req) error {
	raw, err := httpapi.Body(r.ev)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	errType := domain.Errorf(domain.EMalformed, "Content-Type must be application/x-www-form-urlencoded or multipart/form-data")
	mt, params, err := mime.ParseMediaType(httpapi.Header(r.ev, "content-type"))
	if err != nil {
		return errType
	}
	var form url.Values
	switch mt {
	case "application/x-www-form-urlencoded":
		if form, err = url.ParseQuery(string(raw)); err != nil {
			return domain.Errorf(domain.EMalformed, "the request body is not a valid form")
		}
	case "multipart/form-data":
		if form, err = multipartFields(raw, params["boundary"]); err != nil {
			return domain.Errorf(domain.EMalformed, "the request body is not a valid form")
		}
	default:
		return errType
	}
	if v := form["List-Unsubscribe"]; len(v) != 1 || v[0] != "One-Click" {
		return domain.Invalid("List-Unsubscribe", "the body must be List-Unsubscribe=One-Click (RFC 8058)")
	}
	return nil
}

// multipartFields reads the fields of a small multipart/form-data body, in
// memory; a file part or an oversized part is refused.
func multipartFields(raw []byte, boundary string) (url.Values, error) {
	if boundary == "" {
		return nil, errors.New("no boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(raw), boundary)
	form := url.Values{}
	for n := 0; ; n++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return form, nil
		}
		if err != nil {
			return nil, err
		}
		if n == maxFormParts || p.FileName() != "" || p.FormName() == "" {
			return nil, errors.New("not a small form")
		}
		v, err := io.ReadAll(io.LimitReader(p, maxFormPartBytes+1))
		if err != nil {
			return nil, err
		}
		if len(v) > maxFormPartBytes {
			return nil, errors.New("part too large")
		}
		form.Add(p.FormName(), strings.TrimRight(string(v), "\r\n"))
	}
}
