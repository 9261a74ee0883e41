package devstack_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/directory"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/seed"
)

type foundUsers struct {
	Items []struct {
		ID, DisplayName, MaskedEmail string
		Active                       bool
		Links                        []struct{ PatientID, Relationship string }
	}
}

type patientView struct {
	Links []struct{ PortalUserID, PortalUserName, Relationship string }
}

// An admin links a family from the admin page's calls: finds the parent by
// name or e-mail, links as guardian, sees the link on the patient, unlinks
// it; every change is audited in the patient's trail.
func TestAdminLinksAFamilyFoundBySearch(t *testing.T) {
	e := start(t)
	admin := e.as("staff", "admin.garcia")
	lily := "/staff/patients/" + seed.Lily

	for _, q := range []string{"jamie", "Jamie D", "jam"} {
		var found foundUsers
		admin.must(200, "POST", "/staff/portal-users/search", map[string]string{"query": q}).json(t, &found)
		if len(found.Items) != 1 || found.Items[0].ID != seed.ParentNoLinks || found.Items[0].DisplayName != "Jamie Doe" || len(found.Items[0].Links) != 0 {
			t.Fatalf("%q found %+v, want Jamie Doe with no links", q, found.Items)
		}
	}
	var found foundUsers
	r := admin.must(200, "POST", "/staff/portal-users/search", map[string]string{"query": "ana.rivera@example.com"})
	r.json(t, &found)
	if len(found.Items) != 1 || found.Items[0].MaskedEmail != "a•••@example.com" || !found.Items[0].Active || len(found.Items[0].Links) != 2 {
		t.Fatalf("by address: %+v", found.Items)
	}
	if bytes.Contains(r.body, []byte("ana.rivera@example.com")) || bytes.Contains(r.body, []byte("Mateo")) {
		t.Fatalf("the answer carries the full address or a patient's name: %s", r.body)
	}

	admin.must(200, "PUT", lily+"/links/"+seed.ParentNoLinks, map[string]string{"relationship": "guardian"})
	var v patientView
	admin.must(200, "GET", lily, nil).json(t, &v)
	if !slices.ContainsFunc(v.Links, func(l struct{ PortalUserID, PortalUserName, Relationship string }) bool {
		return l.PortalUserID == seed.ParentNoLinks && l.PortalUserName == "Jamie Doe" && l.Relationship == "guardian"
	}) {
		t.Fatalf("links after linking: %+v", v.Links)
	}
	e.as("portal", "parent.new").must(200, "GET", "/portal/patients/"+seed.Lily+"/conversations", nil)
	admin.must(204, "DELETE", lily+"/links/"+seed.ParentNoLinks, nil)
	e.as("portal", "parent.new").must(404, "GET", "/portal/patients/"+seed.Lily+"/conversations", nil)

	trail, err := e.st.Store.AuditTrail(t.Context(), seed.Lily)
	if err != nil {
		t.Fatal(err)
	}
	var changes []audit.Action
	for _, rec := range trail {
		if rec.TargetID == seed.ParentNoLinks && rec.Outcome == audit.Success {
			changes = append(changes, rec.Action)
		}
	}
	if len(changes) != 2 || changes[0] != audit.Link || changes[1] != audit.Unlink {
		t.Fatalf("Lily's trail holds %v for Jamie, want link then unlink", changes)
	}
	mine, err := e.st.Store.ActorTrail(t.Context(), seed.AdminGarcia)
	if err != nil {
		t.Fatal(err)
	}
	searches := 0
	for _, rec := range mine {
		if rec.Action == audit.SearchPortalUsers && rec.Outcome == audit.Success && rec.ActorRole == "admin" {
			searches++
		}
	}
	if searches != 4 {
		t.Fatalf("the admin's trail holds %d searches, want 4, one per search", searches)
	}
}

// The authorization matrix of the family-access routes: portal tokens and
// non-admin staff are refused, another practice's patient answers exactly
// as a missing one, and another practice's families are never found.
func TestFamilyAccessAuthorization(t *testing.T) {
	e := start(t)
	other := &directory.File{
		Practice:    domain.Practice{ID: "prac-elm", Name: "Elm Pediatrics"},
		Staff:       []directory.Staff{{ID: "sub-elm-admin", DisplayName: "Elm Admin", Role: domain.RoleAdmin}},
		Patients:    []directory.Patient{{ID: "pt-elm-1", DisplayName: "Ava Rivera", DateOfBirth: "2017-03-14"}},
		PortalUsers: []directory.PortalUser{{ID: "sub-elm-parent", DisplayName: "Ana Rivera", Email: "ana.rivera@example.com"}},
	}
	if err := directory.Load(t.Context(), e.st.Store, other, "test", func(string, int) {}); err != nil {
		t.Fatal(err)
	}
	admin, search := e.as("staff", "admin.garcia"), map[string]string{"query": "rivera"}
	link := map[string]string{"relationship": "parent"}

	t.Run("portal tokens on the staff routes", func(t *testing.T) {
		parent := e.as("portal", "parent.rivera")
		for _, r := range []struct{ method, path string }{
			{"POST", "/staff/portal-users/search"},
			{"POST", "/staff/patients/search"},
			{"PUT", "/staff/patients/" + seed.Lily + "/links/" + seed.ParentRivera},
			{"DELETE", "/staff/patients/" + seed.Mateo + "/links/" + seed.ParentRivera},
		} {
			if got := parent.do(r.method, r.path, search); got.status != 401 && got.status != 403 {
				t.Errorf("%s %s with a portal token: %d, want 401 or 403", r.method, r.path, got.status)
			}
		}
	})

	t.Run("non-admin staff", func(t *testing.T) {
		for _, who := range []string{"nurse.kim", "desk.lee", "dr.patel"} {
			c := e.as("staff", who)
			got := c.must(403, "POST", "/staff/portal-users/search", search)
			if bytes.Contains(got.body, []byte("Rivera")) {
				t.Fatalf("%s's refusal names an account: %s", who, got.body)
			}
			c.must(403, "PUT", "/staff/patients/"+seed.Lily+"/links/"+seed.ParentRivera, link)
			c.must(403, "DELETE", "/staff/patients/"+seed.Mateo+"/links/"+seed.ParentRivera, nil)
			// Foreign and missing patients are 404 before the role matters.
			c.must(404, "PUT", "/staff/patients/pt-elm-1/links/"+seed.ParentRivera, link)
			// Patient search is every staff member's, through the index.
			var pats struct{ Items []struct{ ID string } }
			c.must(200, "POST", "/staff/patients/search", map[string]string{"query": "riv mat"}).json(t, &pats)
			if len(pats.Items) != 1 || pats.Items[0].ID != seed.Mateo {
				t.Fatalf("%s: patient search = %+v", who, pats.Items)
			}
		}
		var v patientView
		admin.must(200, "GET", "/staff/patients/"+seed.Mateo, nil).json(t, &v)
		if len(v.Links) != 2 {
			t.Fatalf("a refused unlink changed Mateo's links: %+v", v.Links)
		}
	})

	t.Run("own, foreign and missing patient", func(t *testing.T) {
		admin.must(200, "PUT", "/staff/patients/"+seed.Lily+"/links/"+seed.ParentNoLinks, link)
		admin.must(204, "DELETE", "/staff/patients/"+seed.Lily+"/links/"+seed.ParentNoLinks, nil)
		for _, tc := range []struct{ method, suffix string }{{"PUT", "/links/" + seed.ParentNoLinks}, {"DELETE", "/links/" + seed.ParentNoLinks}} {
			foreign := admin.do(tc.method, "/staff/patients/pt-elm-1"+tc.suffix, link)
			missing := admin.do(tc.method, "/staff/patients/pt-nope"+tc.suffix, link)
			if foreign.status != 404 || missing.status != 404 || !bytes.Equal(withoutInstance(foreign.body), withoutInstance(missing.body)) {
				t.Fatalf("%s: foreign %d %s, missing %d %s", tc.method, foreign.status, foreign.body, missing.status, missing.body)
			}
		}
		// Another practice's portal user is as unknown as a missing one.
		foreign := admin.do("PUT", "/staff/patients/"+seed.Lily+"/links/sub-elm-parent", link)
		missing := admin.do("PUT", "/staff/patients/"+seed.Lily+"/links/sub-nobody", link)
		if foreign.status != 404 || !bytes.Equal(withoutInstance(foreign.body), withoutInstance(missing.body)) {
			t.Fatalf("foreign portal user: %d %s vs %s", foreign.status, foreign.body, missing.body)
		}
	})

	t.Run("searches stay in the practice", func(t *testing.T) {
		var found foundUsers
		admin.must(200, "POST", "/staff/portal-users/search", map[string]string{"query": "ana.rivera@"}).json(t, &found)
		if len(found.Items) != 1 || found.Items[0].ID != seed.ParentRivera {
			t.Fatalf("found %+v, want only this practice's Ana", found.Items)
		}
		var pats struct{ Items []struct{ ID string } }
		admin.must(200, "POST", "/staff/patients/search", map[string]string{"query": "ava"}).json(t, &pats)
		if len(pats.Items) != 0 {
			t.Fatalf("another practice's patient found: %+v", pats.Items)
		}
		admin.must(422, "POST", "/staff/portal-users/search", map[string]string{"query": "a"})
		admin.must(400, "POST", "/staff/portal-users/search", map[string]any{"query": "rivera", "all": true})
	})
}
