package domain_test

import (
	"slices"
	"testing"

	"github.com/pedsportal/messaging/internal/domain"
)

func TestNameTokens(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"Ava Rivera", []string{"ava", "rivera"}},
		{"  Zoë   Núñez-García ", []string{"zoe", "nunez", "garcia"}},
		{"Søren Łukasz Straße", []string{"soren", "lukasz", "strasse"}},
		{"José", []string{"jose"}},
		{"Jose\u0301", []string{"jose"}}, // decomposed accent
		{"Siobhán O'Brien", []string{"siobhan", "obrien", "brien"}},
		{"D’Angelo", []string{"dangelo", "angelo"}},
		{"Ana Ana", []string{"ana"}},
		{"Dr. Anika Patel, Jr.", []string{"dr", "anika", "patel", "jr"}},
		{"陈伟", []string{"陈伟"}},
		{"a b c d e f g h i j k l m n", []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}},
		{"", nil},
	} {
		if got := domain.NameTokens(tc.name); !slices.Equal(got, tc.want) {
			t.Errorf("NameTokens(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseDate(t *testing.T) {
	for in, want := range map[string]string{
		"2019-03-02": "2019-03-02", "03/02/2019": "2019-03-02", "3/2/2019": "2019-03-02",
		"2019-02-30": "", "13/02/2019": "", "2019": "", "riv": "",
	} {
		got, ok := domain.ParseDate(in)
		if got != want || ok != (want != "") {
			t.Errorf("ParseDate(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestParseSearch(t *testing.T) {
	for _, tc := range []struct {
		q          string
		kind       domain.SearchKind
		want       domain.SearchQuery
		driver     string
		field, bad string
	}{
		{q: "riv", want: domain.SearchQuery{Names: []string{"riv"}}, driver: "riv"},
		{q: "Ava RIV", want: domain.SearchQuery{Names: []string{"ava", "riv"}}, driver: "ava"},
		{q: "ava rivera", want: domain.SearchQuery{Names: []string{"ava", "rivera"}}, driver: "rivera"},
		{q: "2019-03-02", want: domain.SearchQuery{DOB: "2019-03-02"}, driver: "2019-03-02"},
		{q: "03/02/2019", want: domain.SearchQuery{DOB: "2019-03-02"}, driver: "2019-03-02"},
		{q: "ava 3/2/2019", want: domain.SearchQuery{Names: []string{"ava"}, DOB: "2019-03-02"}, driver: "2019-03-02"},
		{q: "Núñez", want: domain.SearchQuery{Names: []string{"nunez"}}, driver: "nunez"},
		{q: "rivera-smith", want: domain.SearchQuery{Names: []string{"rivera", "smith"}}, driver: "rivera"},
		{q: "Ana.Rivera@Example.com", kind: domain.SearchPortalUsers, want: domain.SearchQuery{Email: "ana.rivera@example.com"}, driver: "ana.rivera@example.com"},
		{q: "ana@", kind: domain.SearchPortalUsers, want: domain.SearchQuery{Email: "ana@"}, driver: "ana@"},
		// A date is a name-ish term for portal users: they have no birth date here.
		{q: "ana 2019-03-02", kind: domain.SearchPortalUsers, want: domain.SearchQuery{Names: []string{"ana", "2019", "03", "02"}}, driver: "2019"},
		{q: "r", bad: "too short"},
		{q: "a b", bad: "no word of two letters"},
		{q: "--", bad: "no name at all"},
		{q: "ana@example.com", bad: "e-mail for a patient"},
		{q: "a@x b@y", kind: domain.SearchPortalUsers, bad: "two addresses"},
		{q: "2019-03-02 2018-01-01", bad: "two dates"},
		{q: "a b c d e f g", bad: "too many words"},
		{q: "riv\u202e", bad: "direction override"},
	} {
		got, err := domain.ParseSearch(tc.q, tc.kind)
		if tc.bad != "" {
			if domain.ErrorCode(err) != domain.EInvalid {
				t.Errorf("ParseSearch(%q) (%s) = %+v, %v; want EInvalid", tc.q, tc.bad, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseSearch(%q): %v", tc.q, err)
			continue
		}
		if !slices.Equal(got.Names, tc.want.Names) || got.Email != tc.want.Email || got.DOB != tc.want.DOB {
			t.Errorf("ParseSearch(%q) = %+v, want %+v", tc.q, got, tc.want)
		}
		if _, d := got.Driver(); d != tc.driver {
			t.Errorf("ParseSearch(%q).Driver() = %q, want %q", tc.q, d, tc.driver)
		}
	}
}

func TestMatchesNames(t *testing.T) {
	tokens := domain.NameTokens("Ava Rivera")
	for q, want := range map[string]bool{"ava riv": true, "riv ava": true, "rivera": true, "ava rivas": false, "mateo": false} {
		sq, err := domain.ParseSearch(q, domain.SearchPatients)
		if err != nil {
			t.Fatal(err)
		}
		if got := sq.MatchesNames(tokens); got != want {
			t.Errorf("%q matches Ava Rivera = %v, want %v", q, got, want)
		}
	}
}

func TestMaskEmail(t *testing.T) {
	for in, want := range map[string]string{
		"ana.rivera@example.com": "a•••@example.com", "é@x.org": "é•••@x.org", "": "", "broken": "•••", "@x": "•••",
	} {
		if got := domain.MaskEmail(in); got != want {
			t.Errorf("MaskEmail(%q) = %q, want %q", in, got, want)
		}
	}
}
