package store_test

import (
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/directory"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

func searchPatients(t *testing.T, s *store.Store, practiceID, q string) []string {
	t.Helper()
	sq, err := domain.ParseSearch(q, domain.SearchPatients)
	if err != nil {
		t.Fatalf("%q: %v", q, err)
	}
	found, err := s.SearchPatients(t.Context(), practiceID, sq, 25)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range found {
		if p.PracticeID != practiceID || p.ID == "" || p.DateOfBirth == "" {
			t.Fatalf("%q found %+v", q, p)
		}
		names = append(names, p.DisplayName)
	}
	slices.Sort(names)
	return names
}

func searchUsers(t *testing.T, s *store.Store, practiceID, q string) []string {
	t.Helper()
	sq, err := domain.ParseSearch(q, domain.SearchPortalUsers)
	if err != nil {
		t.Fatalf("%q: %v", q, err)
	}
	ids, err := s.SearchPortalUsers(t.Context(), practiceID, sq, 10)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	return ids
}

// otherPractice loads a second practice whose patient and parent share the
// demo family's name.
func otherPractice(t *testing.T, s *store.Store) {
	t.Helper()
	f := &directory.File{
		Practice:    domain.Practice{ID: "prac-elm", Name: "Elm Pediatrics"},
		Patients:    []directory.Patient{{ID: "pt-elm-1", DisplayName: "Ava Rivera", DateOfBirth: "2017-03-14"}},
		PortalUsers: []directory.PortalUser{{ID: "elm-parent", DisplayName: "Ana Rivera", Email: "ana.rivera@example.com"}},
	}
	if err := directory.Load(t.Context(), s, f, "test", func(string, int) {}); err != nil {
		t.Fatal(err)
	}
}

// GIVEN the demo roster and another practice with look-alike names WHEN
// staff search by name parts, prefixes and birth dates in either form THEN
// the index finds exactly the practice's matches.
func TestSearchPatientsThroughTheIndex(t *testing.T) {
	s := newStore(t)
	otherPractice(t, s)
	for q, want := range map[string][]string{
		"riv":              {"Mateo Rivera", "Sofia Rivera"},
		"RIVERA":           {"Mateo Rivera", "Sofia Rivera"},
		"sofia riv":        {"Sofia Rivera"},
		"riv sof":          {"Sofia Rivera"},
		"ava riv":          nil, // Ava is the other practice's
		"2017-03-14":       {"Mateo Rivera"},
		"03/14/2017":       {"Mateo Rivera"},
		"3/14/2017":        {"Mateo Rivera"},
		"mateo 3/14/2017":  {"Mateo Rivera"},
		"sofia 2017-03-14": nil,
		"2017-03-1":        nil, // not a date: a name prefix, which no name has
		"chen":             {"Lily Chen"},
		"ch":               {"Lily Chen"},
		"rivas":            nil,
	} {
		if got := searchPatients(t, s, seed.PracticeID, q); !slices.Equal(got, want) {
			t.Errorf("%q found %q, want %q", q, got, want)
		}
	}
	if got := searchPatients(t, s, "prac-elm", "riv"); !slices.Equal(got, []string{"Ava Rivera"}) {
		t.Errorf("the other practice finds %q", got)
	}
}

// GIVEN a patient renamed by a reload of the directory WHEN staff search
// THEN the old name finds nothing and the new one finds the patient: its
// old tokens are gone, not just outnumbered. Accents fold both ways.
func TestRenamedPatientLosesItsOldTokens(t *testing.T) {
	client, prefix := dynamotest.New(t)
	tables := store.TablesWithPrefix(prefix)
	s := store.New(client, tables)
	if err := seed.Directory(t.Context(), s); err != nil {
		t.Fatal(err)
	}
	p := domain.Patient{ID: seed.Mateo, PracticeID: seed.PracticeID, DisplayName: "Mateo Rivera", DateOfBirth: "2017-03-14"}
	p.DisplayName, p.DateOfBirth = "Matéo Núñez-Rivas", "2017-04-01"
	if err := s.PutPatient(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][]string{
		"rivera": {"Sofia Rivera"}, "riv": {"Matéo Núñez-Rivas", "Sofia Rivera"}, "nunez": {"Matéo Núñez-Rivas"},
		"Núñ": {"Matéo Núñez-Rivas"}, "mateo rivas": {"Matéo Núñez-Rivas"}, "2017-03-14": nil, "04/01/2017": {"Matéo Núñez-Rivas"},
	} {
		if got := searchPatients(t, s, seed.PracticeID, q); !slices.Equal(got, want) {
			t.Errorf("after the rename %q found %q, want %q", q, got, want)
		}
	}
	// Exactly the new name's tokens and birth date are stored.
	out, err := client.Query(t.Context(), &dynamodb.QueryInput{
		TableName: aws.String(tables.Directory), KeyConditionExpression: aws.String("PK = :pk AND begins_with(SK, :t)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": &types.AttributeValueMemberS{Value: "PATIENT#" + seed.Mateo}, ":t": &types.AttributeValueMemberS{Value: "TOKEN#"},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	var sks []string
	for _, it := range out.Items {
		sks = append(sks, it["SK"].(*types.AttributeValueMemberS).Value)
	}
	want := []string{"TOKEN#dob#2017-04-01", "TOKEN#name#mateo", "TOKEN#name#nunez", "TOKEN#name#rivas"}
	if !slices.Equal(sks, want) {
		t.Fatalf("token items %q, want %q", sks, want)
	}
	// A reload of the same record writes nothing.
	if err := s.PutPatient(t.Context(), p); err != nil {
		t.Fatal(err)
	}
}

// GIVEN the demo portal users and a look-alike in another practice WHEN
// an admin searches by name or by e-mail address THEN the practice's own
// accounts are found; a changed address or name loses its old tokens.
func TestSearchPortalUsersThroughTheIndex(t *testing.T) {
	s := newStore(t)
	otherPractice(t, s)
	for q, want := range map[string][]string{
		"rivera":                 {seed.ParentRivera, seed.ParentLuis},
		"ana riv":                {seed.ParentRivera},
		"ana.rivera@example.com": {seed.ParentRivera},
		"ANA.RIV@":               nil, // an address is matched from its start, "@" included
		"ana.rivera@":            {seed.ParentRivera},
		"wei.chen@ex":            {seed.ParentChen},
		"jamie":                  {seed.ParentNoLinks},
		"example":                nil, // a name search never looks at addresses
	} {
		slices.Sort(want)
		if got := searchUsers(t, s, seed.PracticeID, q); !slices.Equal(got, want) {
			t.Errorf("%q found %q, want %q", q, got, want)
		}
	}
	u := domain.PortalUser{ID: seed.ParentChen, PracticeID: seed.PracticeID, DisplayName: "Wei Chen-Park", Active: true, Email: "wei@park.example"}
	if err := s.PutPortalUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][]string{"wei.chen@": nil, "wei@park": {seed.ParentChen}, "park": {seed.ParentChen}} {
		if got := searchUsers(t, s, seed.PracticeID, q); !slices.Equal(got, want) {
			t.Errorf("after the change %q found %q, want %q", q, got, want)
		}
	}
	got, err := s.PortalUsers(t.Context(), []string{seed.ParentChen, "nobody", seed.ParentChen})
	if err != nil || len(got) != 1 || got[0].Email != "wei@park.example" || got[0].DisplayName != "Wei Chen-Park" {
		t.Fatalf("PortalUsers = %+v, %v", got, err)
	}
}
