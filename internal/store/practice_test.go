package store_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/grants"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

// GIVEN the demo directory WHEN its settings are read THEN the practice's
// calendar and nurse line and every pool's response target come back from
// one Query, and patients and staff in the same partition do not.
func TestPracticeSettings(t *testing.T) {
	s := newStore(t)
	p, pools, err := s.PracticeSettings(t.Context(), seed.PracticeID)
	if err != nil {
		t.Fatal(err)
	}
	want := seed.DirectoryFile().Practice
	if p.ID != want.ID || p.Name != want.Name || p.TimeZone != want.TimeZone || p.NurseLine != seed.NurseLine || p.ShowStaffNames != want.ShowStaffNames {
		t.Errorf("practice = %+v, want %+v", p, want)
	}
	if !slices.Equal(p.Holidays, want.Holidays) {
		t.Errorf("holidays = %q, want %q", p.Holidays, want.Holidays)
	}
	for day, spans := range want.OfficeHours {
		if !slices.Equal(p.OfficeHours[day], spans) {
			t.Errorf("officeHours.%s = %q, want %q", day, p.OfficeHours[day], spans)
		}
	}
	targets := map[string]string{}
	for _, pl := range pools {
		targets[pl.ID] = pl.ResponseTarget
	}
	wantTargets := map[string]string{seed.PoolFrontDesk: "1d", seed.PoolNurse: "4h", seed.PoolBilling: "2d", seed.PoolDrPatel: "1d"}
	if len(pools) != len(wantTargets) {
		t.Fatalf("pools = %+v, want the %d demo pools only", pools, len(wantTargets))
	}
	for id, tg := range wantTargets {
		if targets[id] != tg {
			t.Errorf("pool %s target = %q, want %q", id, targets[id], tg)
		}
	}
	// Pools read on their own carry the target too.
	all, err := s.Pools(t.Context(), seed.PracticeID)
	if err != nil || len(all) != 4 || all[0].ResponseTarget == "" {
		t.Errorf("Pools = %+v, %v", all, err)
	}
	if _, _, err := s.PracticeSettings(t.Context(), "prac-nobody"); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("settings of no practice: %v, want ErrNotFound", err)
	}
}

// The templates function's grant and the store's key of personal
// templates name the same partitions.
func TestStaffTemplatePartitionIsTheGrants(t *testing.T) {
	if store.StaffTemplatePartition != grants.StaffTemplatePartition {
		t.Fatalf("store writes personal templates under %q, grants allow %q", store.StaffTemplatePartition, grants.StaffTemplatePartition)
	}
}
