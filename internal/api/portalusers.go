package api

import (
	"net/http"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/httpapi"
)

// portalUserMatch is a portal user an admin found. The e-mail address is
// masked ("a•••@example.com"): enough to confirm it with the family, not a
// list of parents' addresses on a front-desk screen. Links name patients
// by ID only, so the answer holds no patient data.
type portalUserMatch struct {
	ID          string           `json:"id"`
	DisplayName string           `json:"displayName"`
	MaskedEmail string           `json:"maskedEmail"`
	Active      bool             `json:"active"`
	Links       []portalUserLink `json:"links"`
}

type portalUserLink struct {
	PatientID    string              `json:"patientId"`
	Relationship domain.Relationship `json:"relationship"`
}

func (h *handler) searchPortalUsers(r *req) (response, error) {
	var in struct {
		Query string `json:"query"`
	}
	if err := httpapi.Decode(r.ev, &in, false); err != nil {
		return response{}, err
	}
	found, err := h.app.SearchPortalUsers(r.ctx, r.call, in.Query)
	if err != nil {
		return response{}, err
	}
	items := make([]portalUserMatch, len(found))
	for i, m := range found {
		links := make([]portalUserLink, len(m.Links))
		for j, l := range m.Links {
			links[j] = portalUserLink{l.PatientID, l.Relationship}
		}
		items[i] = portalUserMatch{m.User.ID, m.User.DisplayName, domain.MaskEmail(m.User.Email), m.User.Active, links}
	}
	return httpapi.JSON(http.StatusOK, listResponse[portalUserMatch]{Items: items}), nil
}
