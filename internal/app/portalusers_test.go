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

// GIVEN an admin's search WHEN it succeeds THEN it shows only the
// practice's accounts that still match, with masked addresses and links
// of the practice by patient ID, and leaves exactly one success record,
// filed under the actor (it names no patient).
func TestPortalUserSearchShowsOnlyCurrentMatchesOfThePractice(t *testing.T) {
	w := newWorld()
	resp := serve(t, t.Context(), w, callFor("POST /staff/portal-users/search"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, resp.Body)
	}
	want := `{"items":[{"id":"user-parent","displayName":"Parent","maskedEmail":"p•••@example.com","active":true,"links":[{"patientId":"pt-1","relationship":""}]}]}`
	if resp.Body != want {
		t.Fatalf("body\n%s\nwant\n%s", resp.Body, want)
	}
	for _, s := range []string{"parent@example.com", "user-elsewhere", "user-renamed", "pt-elsewhere", childName} {
		if strings.Contains(resp.Body, s) {
			t.Errorf("answer carries %q", s)
		}
	}
	if len(w.appended) != 1 || len(w.committed) != 0 {
		t.Fatalf("appended %+v, committed %v; want one record", w.appended, w.committed)
	}
	r := w.appended[0]
	if r.PatientID != "" || r.Action != audit.SearchPortalUsers || r.ActorID != admin || r.ActorRole != "admin" || r.Outcome != audit.Success {
		t.Fatalf("record = %+v, want a success under the admin, naming no patient", r)
	}
}

// GIVEN a staff member who is not an admin in the directory (a nurse, or an
// admin demoted since the token was issued) WHEN they search portal users
// THEN 403, nothing found is served, and the attempt is audited as denied
// with the directory's role.
func TestPortalUserSearchIsForAdminsOnly(t *testing.T) {
	for _, tc := range []struct {
		name, sub string
		role      domain.StaffRole
	}{{"nurse", nurse, domain.RoleNurse}, {"demoted admin", admin, domain.RoleFrontDesk}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			w.adminRole = domain.RoleFrontDesk
			c := callFor("POST /staff/portal-users/search")
			c.sub = tc.sub
			resp := serve(t, t.Context(), w, c)
			if resp.StatusCode != http.StatusForbidden || strings.Contains(resp.Body, "Parent") {
				t.Fatalf("status %d: %s; want 403 and no account", resp.StatusCode, resp.Body)
			}
			if len(w.appended) != 1 || w.appended[0].Outcome != audit.Denied || w.appended[0].ActorRole != string(tc.role) || w.appended[0].PatientID != "" {
				t.Fatalf("audit = %+v, want one denied record under the actor with role %s", w.appended, tc.role)
			}
		})
	}
}

// GIVEN each way the reads behind the search fail WHEN an admin searches
// THEN the answer is a problem document with no account in it, and the
// attempt is audited as failed.
func TestPortalUserSearchFailures(t *testing.T) {
	down := domain.Unavailable(errors.New("directory: throttled"))
	for _, tc := range []struct {
		name   string
		break_ func(w *world)
		status int
	}{
		{"index down", func(w *world) {
			w.SearchPortalUsersFn = func(context.Context, string, domain.SearchQuery, int) ([]string, error) { return nil, down }
		}, http.StatusServiceUnavailable},
		{"accounts down", func(w *world) {
			w.PortalUsersFn = func(context.Context, []string) ([]domain.PortalUser, error) { return nil, down }
		}, http.StatusServiceUnavailable},
		{"one user's links down", func(w *world) {
			w.PortalUserLinksFn = func(_ context.Context, id string) ([]domain.Link, error) {
				if id == "user-renamed" {
					return nil, down
				}
				return nil, nil
			}
		}, http.StatusServiceUnavailable},
		{"panic reading links", func(w *world) {
			w.PortalUserLinksFn = func(context.Context, string) ([]domain.Link, error) { panic("boom") }
		}, http.StatusInternalServerError},
		{"audit down", func(w *world) {
			w.AppendAuditFn = func(context.Context, ...audit.Record) error { return down }
		}, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld()
			tc.break_(w)
			resp := serve(t, t.Context(), w, callFor("POST /staff/portal-users/search"))
			if resp.StatusCode != tc.status || !strings.Contains(resp.Headers["Content-Type"], "problem+json") || strings.Contains(resp.Body, "Parent") {
				t.Fatalf("status %d (%s): %s; want %d, a problem, no account", resp.StatusCode, resp.Headers["Content-Type"], resp.Body, tc.status)
			}
			if tc.name == "audit down" {
				return
			}
			// A failure of the index leaves one failed record; one of the
			// reads after it, the search's success and the failure.
			last := w.appended[len(w.appended)-1]
			want := 1
			if tc.name != "index down" {
				want = 2
			}
			if len(w.appended) != want || last.Outcome != audit.Failed || last.Status != tc.status || last.PatientID != "" {
				t.Fatalf("audit = %+v, want %d record(s), the last failed with %d", w.appended, want, tc.status)
			}
		})
	}
}

// GIVEN a query the index cannot serve WHEN it is sent THEN 422 naming
// the field, before anything is read.
func TestPortalUserSearchRefusesBadQueries(t *testing.T) {
	for _, q := range []string{`{"query":"a"}`, `{"query":"a b"}`, `{"query":"x@y z@w"}`} {
		w := newWorld()
		w.SearchPortalUsersFn = nil // a read would panic
		c := callFor("POST /staff/portal-users/search")
		c.body = q
		resp := serve(t, t.Context(), w, c)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(resp.Body, `"field":"query"`) {
			t.Errorf("%s: status %d: %s", q, resp.StatusCode, resp.Body)
		}
	}
}
