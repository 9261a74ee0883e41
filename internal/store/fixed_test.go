package store

import (
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/domain"
)

// sameRequest fails unless the fixed expression's parts are exactly those
// the builder gives for the same values on this call.
func sameRequest(t *testing.T, name string, b expression.Builder, update, cond *string, names map[string]string, values map[string]types.AttributeValue) {
	t.Helper()
	want, err := b.Build()
	if err != nil {
		t.Errorf("%s: build: %v", name, err) // not Fatal: it runs on other goroutines too
		return
	}
	if got, w := deref(update), deref(want.Update()); got != w {
		t.Errorf("%s: update\n got %s\nwant %s", name, got, w)
	}
	if got, w := deref(cond), deref(want.Condition()); got != w {
		t.Errorf("%s: condition\n got %s\nwant %s", name, got, w)
	}
	if !reflect.DeepEqual(names, want.Names()) {
		t.Errorf("%s: names\n got %v\nwant %v", name, names, want.Names())
	}
	if !reflect.DeepEqual(values, want.Values()) {
		t.Errorf("%s: values\n got %v\nwant %v", name, avText(values), avText(want.Values()))
	}
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func avText(m map[string]types.AttributeValue) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		switch x := v.(type) {
		case *types.AttributeValueMemberS:
			out[k] = "S:" + x.Value
		case *types.AttributeValueMemberN:
			out[k] = "N:" + x.Value
		default:
			out[k] = reflect.TypeOf(v).String()
		}
	}
	return out
}

// TestReplyUpdateIsTheBuildersOnEveryShape builds every shape of a reply's
// header update twice, with different values each time, and compares the
// fixed expression with what the builder gives for the same values: a
// slot left out of a shape, or a value kept from an earlier call, fails.
func TestReplyUpdateIsTheBuildersOnEveryShape(t *testing.T) {
	base := time.Date(2026, 12, 1, 14, 3, 4, 500_000_000, time.UTC)
	window := base.Add(-2 * time.Hour)
	shapes := map[replyShape]bool{}
	n := 0
	for _, side := range []domain.Side{domain.SidePortal, domain.SideStaff} {
		for _, activity := range []bool{true, false} {
			for _, turn := range []domain.Awaiting{"unknown", "", domain.AwaitingStaff, domain.AwaitingFamily, domain.AwaitingNone} {
				for _, ack := range []int{0, 1, 2} { // none, a first window, a window after an earlier one
					for round := range 2 {
						n++
						at := base.Add(time.Duration(n) * time.Minute)
						m := domain.Message{
							ID: "m" + strconv.Itoa(n), ConversationID: "c" + strconv.Itoa(n), PatientID: "pt-" + strconv.Itoa(round),
							Author: domain.Party{Side: side}, Body: "Body <b>&\"" + strconv.Itoa(n), CreatedAt: at,
						}
						var w app.Write
						if turn != "unknown" {
							w.Before = &domain.Conversation{
								ID: m.ConversationID, PracticeID: "pr-" + strconv.Itoa(round), Patient: domain.PatientRef{ID: m.PatientID},
								Pool: domain.PoolRef{ID: "pool-" + strconv.Itoa(n)}, Awaiting: turn, AwaitingSince: at.Add(-time.Hour),
							}
							if ack == 2 {
								prev := window.Add(-24 * time.Hour)
								w.Before.AckedWindow = &prev
							}
						}
						if ack > 0 {
							w.Ack, w.AckWindow = &domain.Message{ID: "ack"}, window.Add(time.Duration(n)*time.Second)
						}
						got := appendUpdate("Messages", m, w, activity).Update
						sh, b := replyUpdate(m, w, activity, plain{})
						shapes[sh] = true
						sameRequest(t, "reply "+strconv.Itoa(n), b, got.UpdateExpression, got.ConditionExpression, got.ExpressionAttributeNames, got.ExpressionAttributeValues)
					}
				}
			}
		}
	}
	if len(shapes) < 20 {
		t.Errorf("only %d shapes were built: the table no longer covers the reply's choices", len(shapes))
	}
}

func TestMarkReadAndCounterAreTheBuilders(t *testing.T) {
	at := time.Date(2026, 12, 1, 14, 3, 4, 0, time.UTC)
	for i, side := range []domain.Side{domain.SidePortal, domain.SideStaff, domain.SidePortal, domain.SideStaff} {
		c := domain.Conversation{MessageCount: 3 + i}
		fill := newFilling(markSlots)
		x, err := markExprs.get(side, markUpdate(c, side, at.Add(time.Duration(i)*time.Second), fill))
		if err != nil {
			t.Fatal(err)
		}
		r := x.with(fill)
		sameRequest(t, "mark read "+string(side), markUpdate(c, side, at.Add(time.Duration(i)*time.Second), plain{}), r.update, r.cond, r.names, r.values)
	}
	s := &Store{}
	for i := range 2 {
		c := app.DailyCap{CallerID: "u", Day: "2026-12-0" + strconv.Itoa(i+1), Limit: 10 + i, ResetAt: at.Add(time.Duration(i) * 24 * time.Hour)}
		got, err := s.capUpdate("pt", c)
		if err != nil {
			t.Fatal(err)
		}
		u := got.Update
		sameRequest(t, "counter", capCount(c, plain{}), u.UpdateExpression, u.ConditionExpression, u.ExpressionAttributeNames, u.ExpressionAttributeValues)
	}
}

// A value the fixed expression does not take from a slot is refused, not
// frozen into the text.
func TestFixedRefusesAnUnboundValue(t *testing.T) {
	var c shapes
	b := expression.NewBuilder().WithCondition(expression.Name("a").Equal(expression.Value("kept")))
	if _, err := c.get(1, b); err == nil {
		t.Fatal("a value outside the slots was accepted")
	}
}

// Many requests at once share the cache and its maps; each keeps its own
// values (run with -race).
func TestFixedExpressionsAtOnce(t *testing.T) {
	base := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			side := []domain.Side{domain.SidePortal, domain.SideStaff}[i%2]
			m := domain.Message{ID: "m" + strconv.Itoa(i), ConversationID: "c" + strconv.Itoa(i), PatientID: "pt", Author: domain.Party{Side: side}, Body: strconv.Itoa(i), CreatedAt: base.Add(time.Duration(i) * time.Second)}
			got := appendUpdate("Messages", m, app.Write{}, i%3 != 0).Update
			_, b := replyUpdate(m, app.Write{}, i%3 != 0, plain{})
			sameRequest(t, "reply at once "+strconv.Itoa(i), b, got.UpdateExpression, got.ConditionExpression, got.ExpressionAttributeNames, got.ExpressionAttributeValues)
		})
	}
	wg.Wait()
}
