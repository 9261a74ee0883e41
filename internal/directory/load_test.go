package directory_test

import (
	"os"
	"strings"
	"testing"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/directory"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/store"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// sample is the example DevOps copies (README, Deploying).
var sample = func() string {
	b, err := os.ReadFile("testdata/practice.example.json")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

func TestLoadIntoDynamoDBLocal(t *testing.T) {
	client, prefix := dynamotest.New(t)
	st := store.New(client, store.TablesWithPrefix(prefix))
	f, err := directory.Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	sections := 0
	for range 2 { // loading twice is harmless
		if err := directory.Load(t.Context(), st, f, "test", func(string, int) { sections++ }); err != nil {
			t.Fatal(err)
		}
	}
	acc, err := st.LoadAccess(t.Context(), authz.Query{StaffID: "sub-admin", PatientID: "pat-1", PoolID: "pool-desk"})
	if err != nil {
		t.Fatal(err)
	}
	if acc.Staff == nil || !acc.Staff.Active || acc.Staff.PracticeID != "prac-oak" || acc.Patient == nil || acc.Pool == nil {
		t.Fatalf("access after load = %+v", acc)
	}
	// Loaded portal users are active unless the file says otherwise, and a
	// loaded link leaves its audit record.
	parent, err := st.LoadAccess(t.Context(), authz.Query{PortalUserID: "sub-parent"})
	if err != nil || parent.PortalUser == nil || !parent.PortalUser.Active {
		t.Fatalf("portal user after load = %+v, %v", parent.PortalUser, err)
	}
	trail, err := st.AuditTrail(t.Context(), "pat-1")
	if err != nil || len(trail) != 2 || trail[0].Action != audit.Link || trail[0].ActorID != "test" {
		t.Fatalf("audit trail of pat-1 after two loads = %+v, %v; want two link records by test", trail, err)
	}
	gone, _ := st.LoadAccess(t.Context(), authz.Query{StaffID: "sub-gone"})
	if gone.Staff == nil || gone.Staff.Active {
		t.Fatalf("inactive staff loaded as %+v", gone.Staff)
	}
	links, err := st.PortalUserLinks(t.Context(), "sub-parent")
	if err != nil || len(links) != 1 || links[0].PatientName != "Robin Oak" {
		t.Fatalf("links = %+v, %v", links, err)
	}
	if members, _ := st.StaffMembers(t.Context(), "prac-oak"); len(members) != 1 {
		t.Fatalf("active members = %+v, want only the admin", members)
	}
	if sections != 10 {
		t.Fatalf("progress reported %d sections, want 10", sections)
	}
}

func TestParseRefusesBadFiles(t *testing.T) {
	for name, edit := range map[string][2]string{
		"unknown field":   {`"name": "Oak Street Pediatrics"`, `"name": "Oak", "extra": 1`},
		"bad role":        {`"role": "admin"`, `"role": "superuser"`},
		"bad date":        {`"2018-04-01"`, `"04/01/2018"`},
		"dangling link":   {`"portalUserId": "sub-parent"`, `"portalUserId": "sub-nobody"`},
		"bad relation":    {`"relationship": "parent"`, `"relationship": "neighbour"`},
		"missing name":    {`"displayName": "Robin Oak"`, `"displayName": ""`},
		"id with a slash": {`"id": "pat-1"`, `"id": "pat/1"`},
	} {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(sample, edit[0], edit[1], 1)
			if bad == sample {
				t.Fatalf("edit %q did not apply", edit[0])
			}
			if _, err := directory.Parse(strings.NewReader(bad)); err == nil {
				t.Fatal("Parse accepted a bad file")
			}
		})
	}
}

// GIVEN practice A loaded WHEN practice B's file reuses A's patient ID THEN
// the load fails and A's patient stays A's.
func TestAnotherPracticeCannotTakeAPatient(t *testing.T) {
	client, prefix := dynamotest.New(t)
	st := store.New(client, store.TablesWithPrefix(prefix))
	a, err := directory.Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if err := directory.Load(t.Context(), st, a, "test", func(string, int) {}); err != nil {
		t.Fatal(err)
	}
	b, err := directory.Parse(strings.NewReader(strings.NewReplacer(
		`"prac-oak"`, `"prac-elm"`, `"pool-desk"`, `"pool-elm"`, `"sub-admin"`, `"sub-elm-admin"`,
		`"sub-gone"`, `"sub-elm-gone"`, `"sub-parent"`, `"sub-elm-parent"`).Replace(sample)))
	if err != nil {
		t.Fatal(err)
	}
	err = directory.Load(t.Context(), st, b, "test", func(string, int) {})
	if err == nil || !strings.Contains(err.Error(), "patient pat-1 belongs to another practice") {
		t.Fatalf("load of a colliding patient ID: %v", err)
	}
	acc, err := st.LoadAccess(t.Context(), authz.Query{StaffID: "sub-elm-admin", PatientID: "pat-1"})
	if err != nil {
		t.Fatal(err)
	}
	if acc.Patient == nil || acc.Patient.PracticeID != "prac-oak" {
		t.Fatalf("patient after the refused load: %+v", acc.Patient)
	}
}

// GIVEN a loaded directory WHEN the file is edited (a patient renamed, a
// parent's address changed) and loaded again THEN search finds the new
// names and addresses and nothing by the old ones: the loader keeps the
// search tokens in step through the store's writes.
func TestReloadKeepsSearchInStep(t *testing.T) {
	client, prefix := dynamotest.New(t)
	st := store.New(client, store.TablesWithPrefix(prefix))
	f, err := directory.Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	f.PortalUsers[0].Email = "casey@oak.example"
	if err := directory.Load(t.Context(), st, f, "test", func(string, int) {}); err != nil {
		t.Fatal(err)
	}
	patients := func(q string) int {
		t.Helper()
		sq, err := domain.ParseSearch(q, domain.SearchPatients)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.SearchPatients(t.Context(), f.Practice.ID, sq, 25)
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	users := func(q string) int {
		t.Helper()
		sq, err := domain.ParseSearch(q, domain.SearchPortalUsers)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.SearchPortalUsers(t.Context(), f.Practice.ID, sq, 10)
		if err != nil {
			t.Fatal(err)
		}
		return len(got)
	}
	oldName := strings.Fields(f.Patients[0].DisplayName)[0]
	if patients(oldName) != 1 || users(f.PortalUsers[0].Email) != 1 {
		t.Fatalf("after the first load: %q finds %d patients, %q %d users", oldName, patients(oldName), f.PortalUsers[0].Email, users(f.PortalUsers[0].Email))
	}
	oldEmail := f.PortalUsers[0].Email
	f.Patients[0].DisplayName = "Quentin Renamed"
	f.PortalUsers[0].Email = "new.address@example.org"
	if err := directory.Load(t.Context(), st, f, "test", func(string, int) {}); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]int{oldName: 0, "quentin": 1, "renamed": 1} {
		if got := patients(q); got != want {
			t.Errorf("after the reload %q finds %d patients, want %d", q, got, want)
		}
	}
	if users(oldEmail) != 0 || users("new.address@") != 1 {
		t.Errorf("after the reload the old address finds %d users, the new one %d", users(oldEmail), users("new.address@"))
	}
}
