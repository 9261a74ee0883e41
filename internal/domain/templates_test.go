package domain_test

import (
	"slices"
	"testing"

	"github.com/pedsportal/messaging/internal/domain"
)

func TestValidateTemplate(t *testing.T) {
	for _, tc := range []struct {
		title, body string
		code        domain.Code
	}{
		{"Hours", "Open {officeHours}; call {nurseLine}. {practiceName} for {childFirstName}", ""},
		{"Braces", "A { brace } and {1} and {} stay text", ""},
		{"Unknown", "Hi {childName}", domain.EMalformed},
		{"Case", "Hi {ChildFirstName}", domain.EMalformed},
		{"", "x", domain.EInvalid},
		{"Two\nlines", "x", domain.EInvalid},
		{"Empty", "  ", domain.EInvalid},
	} {
		err := domain.ValidateTemplate(tc.title, tc.body)
		if got := domain.ErrorCode(err); (err == nil) != (tc.code == "") || (err != nil && got != tc.code) {
			t.Errorf("ValidateTemplate(%q, %q) = %v, want code %q", tc.title, tc.body, err, tc.code)
		}
	}
}

func TestResolveTemplate(t *testing.T) {
	vals := map[string]string{"childFirstName": "Mateo", "practiceName": "Maple Grove"}
	text, unresolved := domain.ResolveTemplate("{childFirstName} at {practiceName}: {nurseLine} {nurseLine} {x", func(n string) string { return vals[n] })
	if text != "Mateo at Maple Grove: {nurseLine} {nurseLine} {x" || !slices.Equal(unresolved, []string{"nurseLine"}) {
		t.Errorf("ResolveTemplate = %q, %q", text, unresolved)
	}
	if got := domain.FirstName("  Mateo  Rivera "); got != "Mateo" {
		t.Errorf("FirstName = %q", got)
	}
}
