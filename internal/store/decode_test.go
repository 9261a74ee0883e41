package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/domain"
)

// reflective is the decode decodeHeader replaces.
func reflective(t testing.TB, m map[string]types.AttributeValue) domain.Conversation {
	t.Helper()
	var it convItem
	if err := attributevalue.UnmarshalMap(m, &it); err != nil {
		t.Fatal(err)
	}
	return it.conversation()
}

// headers generates conversation headers with every optional part present
// or not, odd text and times in other zones, as stored items.
func headers(n int) []map[string]types.AttributeValue {
	r := rand.New(rand.NewPCG(1, 2))
	ny, _ := time.LoadLocation("America/New_York")
	at := func() time.Time {
		t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.Int64N(int64(400 * 24 * time.Hour))))
		if r.IntN(2) == 0 {
			t = t.In(ny)
		}
		return t
	}
	ptr := func() *time.Time {
		if r.IntN(2) == 0 {
			return nil
		}
		t := at()
		return &t
	}
	texts := []string{"", "Rash after starting amoxicillin", "Ünïcödé 👩‍👧 \"quoted\" <b>", "line\nbreak"}
	var out []map[string]types.AttributeValue
	for i := range n {
		c := domain.Conversation{
			ID: fmt.Sprintf("01KCONV%019d", i), Patient: domain.PatientRef{ID: "pt-1", DisplayName: texts[r.IntN(len(texts))]},
			PracticeID: "p1", Subject: texts[r.IntN(len(texts))], Pool: domain.PoolRef{ID: "pool", Name: texts[r.IntN(len(texts))]},
			Status:    []domain.Status{domain.StatusOpen, domain.StatusClosed}[r.IntN(2)],
			StartedBy: domain.Party{ID: "u", Name: texts[r.IntN(len(texts))], Role: "portal", Side: domain.SidePortal}, PortalUserID: "u",
			AssignedAt: ptr(), Awaiting: []domain.Awaiting{"", domain.AwaitingStaff, domain.AwaitingFamily, domain.AwaitingNone}[r.IntN(4)],
			AwaitingSince: at(), OverdueAt: ptr(), AckedWindow: ptr(), CreatedAt: at(), LastActivityAt: at(),
			MessageCount: r.IntN(10000), Preview: texts[r.IntN(len(texts))], PortalUnread: r.IntN(5), StaffUnread: r.IntN(5),
			PortalReadAt: ptr(), StaffReadAt: ptr(), Version: r.IntN(100),
		}
		if r.IntN(2) == 0 {
			c.Assignee = &domain.Party{ID: "s", Name: "Jordan Kim, RN", Role: "nurse", Side: domain.SideStaff}
		}
		m, err := marshal(newConvItem(c))
		if err != nil {
			panic(err)
		}
		out = append(out, m)
	}
	return out
}

// GIVEN generated headers WHEN decoded by hand and by attributevalue THEN
// the values are equal and encode to the same JSON, byte for byte: what
// a list answers is unchanged.
func TestDecodeHeaderIsAttributevalues(t *testing.T) {
	for i, m := range headers(500) {
		got, err := decodeHeader(m)
		if err != nil {
			t.Fatal(err)
		}
		want := reflective(t, m)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("header %d:\n got %+v\nwant %+v", i, got, want)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Fatalf("header %d encodes differently:\n%s\n%s", i, gj, wj)
		}
	}
}

func TestDecodeHeaderRefusesWrongTypes(t *testing.T) {
	m := headers(1)[0]
	m[aMessageCount] = &types.AttributeValueMemberS{Value: "many"}
	if _, err := decodeHeader(m); err == nil {
		t.Fatal("a string message count decoded")
	}
	m = headers(1)[0]
	m[aCreatedAt] = &types.AttributeValueMemberS{Value: "yesterday"}
	if _, err := decodeHeader(m); err == nil {
		t.Fatal("a malformed time decoded")
	}
}

// BenchmarkDecodeHeaders compares a page of 20 headers decoded by
// attributevalue and by hand.
func BenchmarkDecodeHeaders(b *testing.B) {
	page := headers(20)
	b.Run("attributevalue", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var items []convItem
			if err := attributevalue.UnmarshalListOfMaps(page, &items); err != nil {
				b.Fatal(err)
			}
			for _, it := range items {
				_ = it.conversation()
			}
		}
	})
	b.Run("by hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, m := range page {
				if _, err := decodeHeader(m); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
