package main

import (
	"os"
	"strings"
	"testing"
)

// The clients an exception names are checked against what its function
// really links, so that no function can be allowed more for a client it
// does not use, nor keep an allowance after dropping one.
func TestExceptionsNameTheirFunctionsOwnClients(t *testing.T) {
	if err := os.Chdir("../../.."); err != nil {
		t.Fatal(err)
	}
	for fn, clients := range over {
		if err := ownClients(fn, clients); err != nil {
			t.Error(err)
		}
	}
	for _, c := range []struct {
		fn      string
		clients []string
		want    string
	}{
		{"write-message", []string{"s3"}, "links the clients []"},
		{"notify-flush", []string{"sesv2", "sms"}, "but over gives it"},
		{"attach-process", []string{"s3", "sesv2"}, "but over gives it"},
		{"attachments", []string{"s3", "sqs"}, `unknown client "sqs"`},
	} {
		err := ownClients(c.fn, c.clients)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s with %v: %v, want an error containing %q", c.fn, c.clients, err, c.want)
		}
	}
}
