package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

// A change of channels and its audit record commit together, under the
// actor's partition; an account that does not exist gets ENotFound and
// nothing is written.
func TestSetNotifyAudited(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	record := func() audit.Record {
		return audit.Record{At: time.Now().UTC(), ActorID: seed.ParentChen, ActorSide: "portal", ActorRole: "portal",
			Action: audit.NotifyPreferences, Outcome: audit.Success, Status: 200, RequestID: ulid.Make().String()}
	}
	rec := record()
	if err := s.SetNotifyAudited(ctx, seed.ParentChen, domain.Channels{Email: false, SMS: true}, rec); err != nil {
		t.Fatal(err)
	}
	f, err := s.LoadAccess(ctx, authz.Query{PortalUserID: seed.ParentChen})
	if err != nil || f.PortalUser == nil {
		t.Fatalf("load: %+v, %v", f, err)
	}
	if got := f.PortalUser.Notify; got != (domain.Channels{SMS: true}) {
		t.Errorf("channels = %+v, want sms only", got)
	}
	// Nothing else of the account changed.
	if u := f.PortalUser; !u.Active || u.Email != "wei.chen@example.com" || u.Phone != "+15555550102" {
		t.Errorf("account = %+v", u)
	}
	trail, err := s.ActorTrail(ctx, seed.ParentChen)
	if err != nil {
		t.Fatal(err)
	}
	if len(trail) != 1 || trail[0].RequestID != rec.RequestID || trail[0].Action != audit.NotifyPreferences {
		t.Fatalf("actor trail = %+v, want the one record", trail)
	}

	missing := record()
	missing.ActorID = "nobody"
	if err := s.SetNotifyAudited(ctx, "nobody", domain.Channels{}, missing); domain.ErrorCode(err) != domain.ENotFound {
		t.Fatalf("SetNotifyAudited of a missing account: %v, want not found", err)
	}
	if trail, _ := s.ActorTrail(ctx, "nobody"); len(trail) != 0 {
		t.Errorf("a refused change left records %+v", trail)
	}
	if f, _ := s.LoadAccess(ctx, authz.Query{PortalUserID: "nobody"}); f.PortalUser != nil {
		t.Errorf("a refused change created an account: %+v", f.PortalUser)
	}
}

func TestPreferenceAttributes(t *testing.T) {
	got := store.PreferenceAttributes()
	slices.Sort(got)
	if want := []string{"PK", "SK", "notify"}; !slices.Equal(got, want) {
		t.Errorf("PreferenceAttributes = %v, want %v", got, want)
	}
}
