package app_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
)

// GIVEN the template read failing, stalling or panicking WHEN staff preview
// a template THEN the answer is the documented failure without the child's
// name, and the attempt is audited, not the success.
func TestPreviewFailures(t *testing.T) {
	preview := callFor("POST /staff/patients/{patientId}/templates/{templateId}/preview")
	for _, tc := range []struct {
		name   string
		read   func(context.Context) (*domain.Practice, *domain.Template, error)
		status int
	}{
		{"directory down", func(context.Context) (*domain.Practice, *domain.Template, error) {
			return nil, nil, domain.Unavailable(errors.New("dynamodb: 500"))
		}, http.StatusServiceUnavailable},
		{"throttled", func(context.Context) (*domain.Practice, *domain.Template, error) {
			return nil, nil, &domain.Error{Code: domain.EThrottled, Message: "too many requests"}
		}, http.StatusTooManyRequests},
		{"panic", func(context.Context) (*domain.Practice, *domain.Template, error) { panic("boom") }, http.StatusInternalServerError},
		{"practice record missing", func(context.Context) (*domain.Practice, *domain.Template, error) {
			return nil, &domain.Template{ID: "tpl-1", PracticeID: practice, Body: "Hi {childFirstName}"}, nil
		}, http.StatusNotFound},
		{"stored calendar broken", func(context.Context) (*domain.Practice, *domain.Template, error) {
			return &domain.Practice{ID: practice, TimeZone: "Nowhere/Else"}, &domain.Template{ID: "tpl-1", PracticeID: practice, Body: "Hi {childFirstName}"}, nil
		}, http.StatusInternalServerError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.TemplateWithPracticeFn = func(ctx context.Context, _, _, _ string) (*domain.Practice, *domain.Template, error) {
				return tc.read(ctx)
			}
			resp := serve(t, t.Context(), w, preview)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, resp.Body)
			}
			noPHI(t, resp)
			if len(w.appended) != 1 || w.appended[0].Outcome == audit.Success || w.appended[0].Action != audit.PreviewTemplate {
				t.Fatalf("appended %+v; want the one failed or denied attempt", w.appended)
			}
		})
	}
}

// GIVEN a practice without a nurse line WHEN a template names it THEN the
// variable stays as written for staff to fix, and the answer says so.
func TestPreviewLeavesWhatThePracticeLacks(t *testing.T) {
	w := newWorld()
	w.TemplateWithPracticeFn = func(context.Context, string, string, string) (*domain.Practice, *domain.Template, error) {
		return &domain.Practice{ID: practice, Name: "Oak"}, &domain.Template{ID: "tpl-1", PracticeID: practice, Body: "{childFirstName}: call {nurseLine}, {practiceName}, {officeHours}."}, nil
	}
	resp := serve(t, t.Context(), w, callFor("POST /staff/patients/{patientId}/templates/{templateId}/preview"))
	if want := `"text":"Robin: call {nurseLine}, Oak, Mon–Fri 8 AM–5 PM.","unresolved":["nurseLine"]`; resp.StatusCode != 200 || !strings.Contains(resp.Body, want) {
		t.Fatalf("%d %s; want %s", resp.StatusCode, resp.Body, want)
	}
}

// GIVEN a portal user WHEN they call any template route THEN 403: the
// routes are staff-only and authorization decides, not just the gateway.
func TestTemplatesAreStaffOnly(t *testing.T) {
	for _, key := range []string{"GET /staff/templates", "POST /staff/templates", "PUT /staff/templates/{templateId}", "DELETE /staff/templates/{templateId}", "POST /staff/patients/{patientId}/templates/{templateId}/preview"} {
		c := callFor(key)
		c.sub = parent
		w := newWorld()
		resp := serve(t, t.Context(), w, c)
		if resp.StatusCode != http.StatusForbidden || len(w.committed) != 0 {
			t.Errorf("%s as a portal user's sub on a staff token: %d, committed %v", key, resp.StatusCode, w.committed)
		}
	}
}
