package domain

import (
	"testing"
	"time"
)

func TestAgeOnFlipsOnTheBirthdayInThePracticeZone(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dob  string
		at   string // UTC
		want int
	}{
		{"2014-06-15", "2026-06-14T12:00:00Z", 11},
		{"2014-06-15", "2026-06-15T12:00:00Z", 12},
		// 04:00 UTC on the 15th is still the 14th in Chicago.
		{"2014-06-15", "2026-06-15T04:00:00Z", 11},
		{"2014-06-15", "2026-06-15T05:00:00Z", 12},
		{"2012-02-29", "2026-02-28T18:00:00Z", 13},
		{"2012-02-29", "2026-03-01T18:00:00Z", 14},
		{"2012-02-29", "2028-02-29T18:00:00Z", 16},
	} {
		at, _ := time.Parse(time.RFC3339, c.at)
		got, ok := AgeOn(c.dob, at, chicago)
		if !ok || got != c.want {
			t.Errorf("AgeOn(%s, %s) = %d, %v; want %d", c.dob, c.at, got, ok, c.want)
		}
	}
	if _, ok := AgeOn("15/06/2014", time.Now(), chicago); ok {
		t.Error("a malformed birth date gave an age")
	}
	if _, ok := AgeOn("2099-01-01", time.Now(), chicago); ok {
		t.Error("a birth date in the future gave an age")
	}
}

func TestConfidentialRule(t *testing.T) {
	p := Practice{ConfidentialPools: []string{"doctor"}}
	at, _ := time.Parse(time.RFC3339, "2026-06-15T18:00:00Z")
	if err := ConfidentialRule(p, time.UTC, "2014-06-15", "doctor", at); err != nil {
		t.Errorf("12th birthday, doctor: %v", err)
	}
	for _, c := range []struct{ dob, pool string }{{"2014-06-16", "doctor"}, {"2014-06-15", "billing"}, {"", "doctor"}} {
		if err := ConfidentialRule(p, time.UTC, c.dob, c.pool, at); ErrorCode(err) != EInvalid {
			t.Errorf("%+v: %v, want EInvalid", c, err)
		}
	}
	p.ConfidentialFromAge = 14
	if err := ConfidentialRule(p, time.UTC, "2013-01-01", "doctor", at); ErrorCode(err) != EInvalid {
		t.Errorf("13 with a practice age of 14: %v", err)
	}
}
