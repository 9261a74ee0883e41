// Command dev runs the whole product on localhost with demo data: `make dev`.
// Ctrl-C stops every server, DynamoDB Local included.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pedsportal/messaging/internal/devstack"
	"github.com/pedsportal/messaging/internal/seed"
)

// Fixed ports, so that bookmarks and the shell token command keep working.
// Override with DEV_API_ADDR, DEV_SITE_ADDR, DEV_ISSUER_ADDR and DEV_DATA_DIR.
const (
	apiAddr    = "127.0.0.1:8080"
	siteAddr   = "127.0.0.1:8081"
	issuerAddr = "127.0.0.1:8082"
	dataDir    = ".dev"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Println("Starting DynamoDB Local, the local S3, the development issuer, the API gateway, the pages and the notification path…")
	started := time.Now()
	st, err := devstack.Start(ctx, devstack.Options{
		DataDir:     env("DEV_DATA_DIR", dataDir),
		TablePrefix: "dev-",
		APIAddr:     env("DEV_API_ADDR", apiAddr),
		SiteAddr:    env("DEV_SITE_ADDR", siteAddr),
		IssuerAddr:  env("DEV_ISSUER_ADDR", issuerAddr),
		Log:         log,
		// As the schedule does in AWS, every minute; the window is 10.
		Notify: &devstack.NotifyOptions{FlushEvery: time.Minute},
		// As the escalator's schedule does, every five minutes.
		EscalateEvery: 5 * time.Minute,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "make dev: %v\n", err)
		os.Exit(1)
	}
	defer st.Stop()

	dir := env("DEV_DATA_DIR", dataDir)
	data := "existing data in " + dir + "/ (make dev-reset wipes it)"
	if st.Seeded {
		data = "fresh demo data, kept in " + dir + "/ across restarts"
	}
	fmt.Printf(`
Patient-portal messaging is up (%.1fs), with %s.

  Pages         %s/           (staff: %s/staff/   portal: %s/portal/)
  API           %s
  Issuer        %s            (sign-in page lists the demo users)
  E-mail sent   %s            (local SES: every notification e-mail)
  Texts sent    %s
  Local S3      %s            (versitygw: buckets uploads and chart; uploads are scanned as GuardDuty would)

Demo users (sign in by picking one; no passwords locally):
`, time.Since(started).Seconds(), data, st.SiteURL, st.SiteURL, st.SiteURL, st.APIURL, st.IssuerURL,
		st.Notifications.SESPageURL(), st.Notifications.SMS.OutboxURL(), st.Files.S3.Endpoint())
	for _, u := range seed.Users() {
		role := "portal user"
		if len(u.Groups) > 0 {
			role = "staff: " + u.Groups[0]
		}
		fmt.Printf("  %-14s %-18s %s\n", u.Username, u.Name, role)
	}
	fmt.Printf(`
Get an access token from the shell (audience portal or staff, as listed):
  make token AS=parent.rivera
  curl -s -d username=nurse.kim %s/staff/dev/token

Then, for example:
  TOKEN=$(make -s token AS=parent.rivera)
  curl -s -H "Authorization: Bearer $TOKEN" %s/portal/patients

A staff reply notifies the family's chosen channels once the 10-minute
window closes (outside 21:00–07:00 at the practice), unless they read it first.

Press Ctrl-C to stop.
`, st.IssuerURL, st.APIURL)
	<-ctx.Done()
	fmt.Println("\nStopping…")
}
