package store

import (
	"slices"
	"testing"

	"github.com/pedsportal/messaging/internal/schema"
)

// The table schema names the key and index attributes the tables are
// created with; the item structs' tags are what the store writes. They
// must be the same names, or an index would silently stay empty.
func TestSchemaKeysAreTheItemsTags(t *testing.T) {
	tags := map[string]string{
		schema.AttrPK: aPK, schema.AttrSK: aSK, schema.AttrGSI1PK: aGSI1PK, schema.AttrGSI1SK: attr(linkItem{}, "GSI1SK"),
		schema.AttrActivitySK: aActivitySK, schema.AttrInboxPK: aInboxPK, schema.AttrInboxSK: aInboxSK,
		schema.AttrOpenPK: aOpenPK, schema.AttrExpiresAt: aExpiresAt,
		schema.AttrDuePK: aDuePK, schema.AttrDueSK: aDueSK,
		schema.AttrQueuePK: aQueuePK, schema.AttrPoolQPK: aPoolQueuePK, schema.AttrQueueSK: aQueueSK,
		schema.AttrSearchPK: aSearchPK, schema.AttrSearchSK: aSearchSK,
	}
	for _, ttl := range []string{attr(idemItem{}, "ExpiresAt"), attr(pendingItem{}, "ExpiresAt"), attr(seenItem{}, "ExpiresAt"), attr(counterItem{}, "ExpiresAt")} {
		if ttl != schema.AttrExpiresAt {
			t.Errorf("an item's expiry is %q, not the schema's TTL attribute", ttl)
		}
	}
	for want, got := range tags {
		if got != want {
			t.Errorf("schema attribute %q is stored as %q", want, got)
		}
	}
	for _, tbl := range schema.Tables() {
		keys := []string{tbl.PartitionKey.Name}
		if tbl.SortKey != nil {
			keys = append(keys, tbl.SortKey.Name)
		}
		for _, i := range slices.Concat(tbl.GSIs, tbl.LSIs) {
			keys = append(keys, i.PartitionKey.Name, i.SortKey.Name)
		}
		if tbl.TTLAttribute != "" {
			keys = append(keys, tbl.TTLAttribute)
		}
		for _, k := range keys {
			if _, ok := tags[k]; !ok {
				t.Errorf("table %s: attribute %s has no item tag checked here", tbl.Name, k)
			}
		}
	}
}

// HeaderAttributes is what infra lets header updates touch: every update
// expression the store builds must stay inside it.
func TestHeaderAttributesCoverEveryHeaderUpdate(t *testing.T) {
	got := HeaderAttributes()
	for _, a := range []string{aPK, aSK, aMessageCount, aVersion, aStatus, aOpenPK, aInboxPK, aAssignee, aPortalUnread, aStaffUnread,
		aPortalReadAt, aStaffReadAt, aLastActivityAt, aActivitySK, aInboxSK, aPreview} {
		if !slices.Contains(got, a) {
			t.Errorf("HeaderAttributes lacks %s, which header updates write or test", a)
		}
	}
	for _, never := range []string{aExpiresAt, attr(msgItem{}, "Body"), attr(msgItem{}, "CreatedAt"), attr(convItem{}, "Subject"),
		attr(convItem{}, "Patient"), attr(convItem{}, "PracticeID"), attr(convItem{}, "StartedBy")} {
		if slices.Contains(got, never) {
			t.Errorf("HeaderAttributes includes %s: no update may touch it", never)
		}
	}
}
