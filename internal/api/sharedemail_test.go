package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pedsportal/messaging/internal/directory"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

// GIVEN Noah's own account using his mother's e-mail address WHEN staff
// open his page THEN it warns that replies only his care team sees will
// not be e-mailed to it; with an address of his own it warns of nothing.
func TestPatientPageWarnsOfASharedAddress(t *testing.T) {
	for _, shared := range []bool{false, true} {
		client, prefix := dynamotest.New(t)
		st := store.New(client, store.TablesWithPrefix(prefix))
		f := seed.DirectoryFile()
		if shared {
			for i, u := range f.PortalUsers {
				if u.ID == seed.TeenNoah {
					f.PortalUsers[i].Email = " Grace.Okafor@example.com"
				}
			}
		}
		if err := directory.Load(t.Context(), st, f, seed.AdminGarcia, func(string, int) {}); err != nil {
			t.Fatal(err)
		}
		h := handlersOver(t, st)[routes.FnDirectory]
		path := "/staff/patients/" + seed.Noah
		resp, err := h(t.Context(), staffEvent(seed.DrPatel, "GET", "/staff/patients/{patientId}", path, map[string]string{"patientId": seed.Noah}, ""))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("view: %v %d %s", err, resp.StatusCode, resp.Body)
		}
		warned := strings.Contains(resp.Body, "Noah Okafor's own portal account uses the same e-mail address as Grace Okafor's")
		if warned != shared || (!shared && !strings.Contains(resp.Body, `"warnings":[]`)) {
			t.Errorf("shared address %v: %s", shared, resp.Body)
		}
	}
}
