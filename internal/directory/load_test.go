package directory_test

import (
	"os"
	"slices"
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
	// The calendar, the nurse line and the response targets come back as
	// the file gave them, in one read.
	pr, pools, err := st.PracticeSettings(t.Context(), "prac-oak")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pr.OfficeHours["fri"], []string{"08:00-12:00", "13:00-16:00"}; !slices.Equal(got, want) {
		t.Errorf("officeHours.fri = %q, want %q", got, want)
	}
	if !slices.Equal(pr.Holidays, []string{"2026-11-26", "2026-12-25"}) || pr.NurseLine != "(555) 555-0100" || !pr.ShowStaffNames || pr.TimeZone != "America/Chicago" {
		t.Errorf("practice = %+v", pr)
	}
	if len(pools) != 1 || pools[0].ResponseTarget != "1d" {
		t.Errorf("pools = %+v", pools)
	}
	// The file's templates are stored; one the file drops is removed.
	if ts, err := st.PracticeTemplates(t.Context(), "prac-oak"); err != nil || len(ts) != 2 {
		t.Fatalf("templates after load = %+v, %v", ts, err)
	}
	f.Templates = f.Templates[:1]
	if err := directory.Load(t.Context(), st, f, "test", func(string, int) {}); err != nil {
		t.Fatal(err)
	}
	if ts, err := st.PracticeTemplates(t.Context(), "prac-oak"); err != nil || len(ts) != 1 || ts[0].ID != "tpl-hours" || ts[0].Scope != "practice" {
		t.Fatalf("templates after a load without tpl-forms = %+v, %v", ts, err)
	}
	if sections != 12 {
		t.Fatalf("progress reported %d sections, want 12", sections)
	}
}

func TestParseRefusesBadFiles(t *testing.T) {
	for name, edit := range map[string][3]string{
		"unknown field":   {`"name": "Oak Street Pediatrics"`, `"name": "Oak", "extra": 1`, "unknown field"},
		"bad role":        {`"role": "admin"`, `"role": "superuser"`, "role"},
		"bad date":        {`"2018-04-01"`, `"04/01/2018"`, "dateOfBirth"},
		"dangling link":   {`"portalUserId": "sub-parent"`, `"portalUserId": "sub-nobody"`, "link"},
		"bad relation":    {`"relationship": "parent"`, `"relationship": "neighbour"`, "relationship"},
		"missing name":    {`"displayName": "Robin Oak"`, `"displayName": ""`, "name is required"},
		"id with a slash": {`"id": "pat-1"`, `"id": "pat/1"`, "id must be"},
		// The calendar and the response targets, each error naming the
		// field and showing an example.
		"unknown day":           {`"sat": []`, `"saturday": []`, `officeHours: "saturday" is not a day`},
		"12-hour span":          {`"13:00-16:00"`, `"1pm-4pm"`, `officeHours.fri: "1pm-4pm" is not a span of the 24-hour clock such as "08:00-12:00"`},
		"backwards span":        {`"13:00-16:00"`, `"16:00-13:00"`, `officeHours.fri: "16:00-13:00" must end after it starts`},
		"overlapping spans":     {`"fri": ["08:00-12:00", "13:00-16:00"]`, `"fri": ["08:00-12:00", "11:00-16:00"]`, `officeHours.fri: "11:00-16:00" must start after the span before it ends`},
		"unordered spans":       {`"fri": ["08:00-12:00", "13:00-16:00"]`, `"fri": ["13:00-16:00", "08:00-12:00"]`, `officeHours.fri`},
		"past midnight":         {`"13:00-16:00"`, `"13:00-24:30"`, `officeHours.fri`},
		"bad holiday":           {`"2026-12-25"`, `"12/25/2026"`, `holidays: "12/25/2026" is not a date as YYYY-MM-DD, e.g. "2026-12-25"`},
		"impossible holiday":    {`"2026-12-25"`, `"2026-02-30"`, `holidays: "2026-02-30"`},
		"letters in nurse line": {`"(555) 555-0100"`, `"call us"`, `nurseLine "call us" is not a phone number`},
		"short nurse line":      {`"(555) 555-0100"`, `"555-01"`, `e.g. "+1 555-555-0100"`},
		"bad target":            {`"responseTarget": "1d"`, `"responseTarget": "4 hours"`, `pool pool-desk: responseTarget "4 hours" is not a number with m, h or d, e.g. "4h"`},
		"zero target":           {`"responseTarget": "1d"`, `"responseTarget": "0h"`, `responseTarget "0h"`},
		"huge target":           {`"responseTarget": "1d"`, `"responseTarget": "30d"`, `responseTarget "30d" is longer than`},
		"bad zone":              {`"America/Chicago"`, `"Central"`, `timeZone "Central"`},
		"unknown variable":      {`{officeHours}`, `{hours}`, `template tpl-hours: unknown variable {hours} in body; the variables are {childFirstName}, {officeHours}, {nurseLine}, {practiceName}`},
		"template of no pool":   {`"poolId": "pool-desk"`, `"poolId": "pool-gone"`, `template tpl-forms: poolId "pool-gone" is not a pool in the file`},
		"personal template id":  {`"id": "tpl-forms"`, `"id": "mine-forms"`, `template "mine-forms": id must`},
		"template id twice":     {`"id": "tpl-forms"`, `"id": "tpl-hours"`, `template tpl-hours: the id is used twice`},
		"empty template":        {`"title": "Forms"`, `"title": ""`, `template tpl-forms: title must not be empty`},
		"own account twice":     {`"relationship": "parent"`, `"relationship": "self"}, {"patientId": "pat-1", "portalUserId": "sub-parent", "relationship": "self"`, `listed twice`},
		"confidential age":      {`"confidentialFromAge": 12`, `"confidentialFromAge": 7`, `confidentialFromAge 7 must be between 10 and 18`},
		"confidential pool":     {`"confidentialPools": ["pool-desk"]`, `"confidentialPools": ["pool-gone"]`, `confidentialPools names "pool-gone", which is not a pool`},
	} {
		t.Run(name, func(t *testing.T) {
			bad := strings.Replace(sample, edit[0], edit[1], 1)
			if bad == sample {
				t.Fatalf("edit %q did not apply", edit[0])
			}
			_, err := directory.Parse(strings.NewReader(bad))
			if err == nil {
				t.Fatal("Parse accepted a bad file")
			}
			if !strings.Contains(err.Error(), edit[2]) {
				t.Fatalf("error %q does not say %q", err, edit[2])
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

// GIVEN office hours with no open span WHEN parsed THEN refused: a
// calendar that never opens would make every message due never.
func TestParseRefusesAnOfficeThatNeverOpens(t *testing.T) {
	start := strings.Index(sample, `"officeHours": {`)
	end := start + strings.Index(sample[start:], "}")
	bad := sample[:start] + `"officeHours": {"mon": [], "sun": []` + sample[end:]
	_, err := directory.Parse(strings.NewReader(bad))
	if err == nil || !strings.Contains(err.Error(), "officeHours: the office is never open") {
		t.Fatalf("Parse of a never-open office: %v", err)
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
