// Command devtoken prints an access token for a demo user from the running
// `make dev` issuer: go run ./internal/cmd/devtoken parent.rivera
package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/pedsportal/messaging/internal/seed"
)

func main() {
	if len(os.Args) != 2 {
		fail("usage: make token AS=<username>   (e.g. parent.rivera, nurse.kim)")
	}
	u, ok := seed.UserByName(os.Args[1])
	if !ok {
		var names []string
		for _, u := range seed.Users() {
			names = append(names, u.Username)
		}
		fail(fmt.Sprintf("unknown demo user %q; known: %v", os.Args[1], names))
	}
	base := "http://127.0.0.1:8082"
	if v := os.Getenv("DEV_ISSUER_ADDR"); v != "" {
		base = "http://" + v
	}
	resp, err := http.PostForm(base+"/"+string(u.Side)+"/dev/token", url.Values{"username": {u.Username}})
	if err != nil {
		fail("cannot reach the development issuer; is `make dev` running? (" + err.Error() + ")")
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		fail(fmt.Sprintf("the issuer answered %s %s", resp.Status, out.Error))
	}
	fmt.Println(out.AccessToken)
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}
