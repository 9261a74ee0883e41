package app_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
)

// longChart makes the world's patient a chart of len(sizes) conversations
// with sizes[i] messages each, served in pages as the store serves them
// (a page key is the index to go on from).
func longChart(w *world, sizes []int) map[string][]string {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var convs []domain.Conversation
	msgs := map[string][]domain.Message{}
	want := map[string][]string{}
	for i, n := range sizes {
		c := w.header
		c.ID = fmt.Sprintf("01K%023d", i)
		// Listed by activity, newest first; exported in creation order.
		c.CreatedAt, c.LastActivityAt = at.Add(time.Duration(i)*time.Hour), at.Add(time.Duration(len(sizes)-i)*time.Hour)
		convs = append(convs, c)
		for j := range n {
			m := domain.Message{ID: fmt.Sprintf("%s-%04d", c.ID, j), ConversationID: c.ID, PatientID: c.Patient.ID,
				Body: strings.Repeat("x", 1+j%7*300), CreatedAt: c.CreatedAt.Add(time.Duration(j) * time.Second)}
			msgs[c.ID] = append(msgs[c.ID], m)
			want[c.ID] = append(want[c.ID], m.ID)
		}
	}
	slices.Reverse(convs)
	page := func(start map[string]string, limit, n int) (int, int, map[string]string) {
		from, _ := strconv.Atoi(start["i"])
		to := min(from+limit, n)
		var next map[string]string
		if to < n {
			next = map[string]string{"i": strconv.Itoa(to)}
		}
		return from, to, next
	}
	w.ConversationsFn = func(_ context.Context, _ string, _ []domain.Audience, _ app.ConversationFilter, limit int, start map[string]string) (app.Page[domain.Conversation], error) {
		from, to, next := page(start, limit, len(convs))
		return app.Page[domain.Conversation]{Items: convs[from:to], LastKey: next}, nil
	}
	w.ChainFn = func(_ context.Context, _ string, _ []domain.Audience, convID string, limit int, start map[string]string) (*domain.Conversation, app.Page[domain.Message], error) {
		ms := msgs[convID]
		from, to, next := page(start, limit, len(ms))
		return nil, app.Page[domain.Message]{Items: ms[from:to], LastKey: next}, nil
	}
	return want
}

// GIVEN a chart with a chain of several store pages and budgets from
// "one message a part" up WHEN every part is downloaded in turn THEN the
// parts hold every message once, in its chain's order, each part within
// its budget (but for the one message a part always takes), and each
// split chain names its first message and the one before.
func TestExportPartsCoverTheChart(t *testing.T) {
	sizes := []int{3, 250, 1, 0, 17}
	for _, budget := range []int{1, 3 * app.ExportMessageOverhead, 20 * app.ExportMessageOverhead, 101 * app.ExportMessageOverhead, app.ExportBudget} {
		t.Run(strconv.Itoa(budget), func(t *testing.T) {
			w := newWorld()
			want := longChart(w, sizes)
			a := app.New(w, w, app.Options{ExportBudget: budget})
			got := map[string][]string{}
			prev := map[string]string{}
			var order []string
			var from *app.ExportPosition
			for part := 1; ; part++ {
				if part > 1000 {
					t.Fatal("no end of parts")
				}
				e, err := a.ExportChart(t.Context(), a.NewCall(authz.Principal{ID: parent, Side: domain.SidePortal}, "rid", ""), patient, "fhir", from)
				if err != nil {
					t.Fatal(err)
				}
				if e.Part != part {
					t.Fatalf("part %d says it is part %d", part, e.Part)
				}
				cost, n := 0, 0
				for _, x := range e.Conversations {
					id := x.Conversation.ID
					if x.PreviousID != prev[id] || len(x.Messages) > 0 && x.FirstID != want[id][0] {
						t.Errorf("part %d, %s: first %q previous %q; want first %q previous %q", part, id, x.FirstID, x.PreviousID, want[id][0], prev[id])
					}
					if len(got[id]) == 0 {
						order = append(order, id)
					}
					for _, m := range x.Messages {
						got[id] = append(got[id], m.ID)
						cost += app.MessageCost(x.Conversation, m)
						n++
					}
					if len(x.Messages) > 0 {
						prev[id] = x.Messages[len(x.Messages)-1].ID
					}
				}
				if n == 0 && e.Next != nil {
					t.Fatalf("part %d holds nothing yet names a next part", part)
				}
				if cost > budget && n > 1 {
					t.Errorf("part %d costs %d, over its budget %d with %d messages", part, cost, budget, n)
				}
				if from = e.Next; from == nil {
					break
				}
			}
			for id, ids := range want {
				if !slices.Equal(got[id], ids) {
					t.Errorf("%s: %d messages downloaded, want %d in order", id, len(got[id]), len(ids))
				}
			}
			if !slices.IsSorted(order) {
				t.Errorf("conversations not in creation order: %v", order)
			}
		})
	}
}
