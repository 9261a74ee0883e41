package envvar

import (
	"maps"
	"slices"
	"testing"
)

func TestFunctionGetsOnlyItsOwnSettings(t *testing.T) {
	s := Settings{
		PortalIssuer: "https://p", StaffIssuer: "https://s", PortalClientID: "pc", StaffClientID: "sc",
		CursorSecretARN: "arn:cursor",
		TableName:       func(logical string) string { return "env-" + logical },
	}
	env := Function([]string{"Directory", "Audit"}, false, false, s)
	want := map[string]string{
		"PORTAL_ISSUER": "https://p", "STAFF_ISSUER": "https://s", "PORTAL_CLIENT_ID": "pc", "STAFF_CLIENT_ID": "sc",
		"TABLE_DIRECTORY": "env-Directory", "TABLE_AUDIT": "env-Audit",
	}
	if !maps.Equal(env, want) {
		t.Errorf("env = %v, want %v", env, want)
	}
	env = Function([]string{"Messages"}, true, false, s)
	if env[CursorSecret] != "arn:cursor" || env["TABLE_MESSAGES"] != "env-Messages" {
		t.Errorf("paging env = %v", env)
	}
	if got := slices.Sorted(maps.Keys(env)); len(got) != 6 {
		t.Errorf("paging env has %v", got)
	}
}

// Only a function that sends is told the sender identities and the API's
// address; unset settings stay unset.
func TestSenderSettingsOnlyForSenders(t *testing.T) {
	s := Settings{TableName: func(l string) string { return l }, MailFrom: "m@example.com", APIURL: "https://api.example.com"}
	if env := Function(nil, false, false, s); env[MailFrom] != "" || env[APIURL] != "" {
		t.Fatalf("a function that sends nothing got %v", env)
	}
	env := Function(nil, true, true, s)
	if env[MailFrom] != "m@example.com" || env[APIURL] != "https://api.example.com" {
		t.Fatalf("sender env = %v", env)
	}
	if _, ok := env[SMSOrigin]; ok {
		t.Fatalf("an unset SMS identity was set: %v", env)
	}
}
