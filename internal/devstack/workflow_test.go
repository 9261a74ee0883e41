package devstack_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pedsportal/messaging/internal/seed"
)

type queued struct {
	ID            string `json:"id"`
	Awaiting      string `json:"awaiting"`
	AwaitingSince string `json:"awaitingSince"`
	Version       int    `json:"version"`
	Pool          struct{ ID, Name string }
	Assignee      *struct{ ID, Name string }
	AssignedAt    *string `json:"assignedAt"`
}

type queue struct {
	Items      []queued `json:"items"`
	NextCursor string   `json:"nextCursor"`
}

type logEntry struct {
	Kind     string `json:"kind"`
	Text     string `json:"text"`
	By       struct{ ID string }
	ToPool   *struct{ ID, Name string } `json:"toPool"`
	Assignee *struct{ ID string }       `json:"assignee"`
	Previous *struct{ ID string }       `json:"previous"`
}

func (q queue) has(id string) *queued {
	for i := range q.Items {
		if q.Items[i].ID == id {
			return &q.Items[i]
		}
	}
	return nil
}

func (c *client) view(t *testing.T, query string) queue {
	t.Helper()
	var q queue
	c.must(200, "GET", "/staff/inbox?"+query, nil).json(t, &q)
	return q
}

func (c *client) header(t *testing.T, id string) queued {
	t.Helper()
	var ch struct{ Conversation queued }
	c.must(200, "GET", staffMateo+"/conversations/"+id, nil).json(t, &ch)
	return ch.Conversation
}

// The staff workflow end to end, through the gateway with real tokens: a
// parent writes and it needs a reply; opening it changes nothing; a reply
// hands the turn to the family; "no reply needed" makes it done; a
// reroute moves pools and the family sees only the new pool; a note stays
// staff-only; two claims give one 409 and the page can take over.
func TestStaffWorkflow(t *testing.T) {
	e := start(t)
	parent, nurse, desk := e.as("portal", "parent.rivera"), e.as("staff", "nurse.kim"), e.as("staff", "desk.lee")

	var w written
	parent.must(201, "POST", portalMateo+"/conversations",
		map[string]string{"poolId": seed.PoolNurse, "subject": "Fever", "body": "Mateo has had a fever of 39 since last night."}, key()...).json(t, &w)
	cid := w.Conversation.ID

	// The family sees where their message stands, in plain words.
	var fam struct {
		Messages []struct {
			Status *struct{ State, Text, Expected string }
		}
	}
	parent.must(200, "GET", portalMateo+"/conversations/"+cid, nil).json(t, &fam)
	if st := fam.Messages[0].Status; st == nil || st.State != "received" || st.Text != "Received by the nurse line" || st.Expected == "" {
		t.Fatalf("family status = %+v", st)
	}

	// Needs reply is the default view; it sorts oldest wait first.
	q := nurse.view(t, "")
	got := q.has(cid)
	if got == nil || got.Awaiting != "staff" {
		t.Fatalf("needs-reply view lacks the new conversation: %+v", q.Items)
	}
	if q.Items[len(q.Items)-1].ID != cid {
		t.Errorf("oldest wait is not first: the newest (%s) should be last, got %+v", cid, q.Items)
	}
	if nurse.view(t, "view=needs-reply&pool="+seed.PoolNurse).has(cid) == nil || nurse.view(t, "view=needs-reply&pool="+seed.PoolFrontDesk).has(cid) != nil {
		t.Fatal("pool queues do not hold the conversation in its pool only")
	}

	// Opening and marking read changes neither the turn nor the version.
	before := nurse.header(t, cid)
	nurse.must(200, "POST", staffMateo+"/conversations/"+cid+"/read", nil)
	after := nurse.header(t, cid)
	if after.Awaiting != "staff" || after.Version != before.Version || nurse.view(t, "view=needs-reply").has(cid) == nil {
		t.Fatalf("reading changed the turn or version: before %+v after %+v", before, after)
	}

	// A staff reply: waiting on family.
	nurse.must(201, "POST", staffMateo+"/conversations/"+cid+"/messages", map[string]string{"body": "Give fluids; call if above 40."}, key()...)
	if nurse.view(t, "view=needs-reply").has(cid) != nil || nurse.view(t, "view=waiting").has(cid) == nil {
		t.Fatal("after the staff reply the conversation is not waiting on the family")
	}
	// The family answers: it needs a reply again, since that message.
	parent.must(201, "POST", portalMateo+"/conversations/"+cid+"/messages", map[string]string{"body": "Thank you, it is 38.5 now."}, key()...)
	h := nurse.header(t, cid)
	if h.Awaiting != "staff" || h.AwaitingSince <= before.AwaitingSince {
		t.Fatalf("after the family's answer: %+v (first wait began %s)", h, before.AwaitingSince)
	}
	// No reply needed: done, still open.
	nurse.must(200, "PATCH", staffMateo+"/conversations/"+cid, map[string]any{"awaiting": "none"})
	if nurse.view(t, "view=done").has(cid) == nil || nurse.view(t, "view=needs-reply").has(cid) != nil {
		t.Fatal("no reply needed did not move the conversation to done")
	}
	nurse.must(200, "PATCH", staffMateo+"/conversations/"+cid, map[string]any{"awaiting": "staff"})

	// Reroute with a reason: the pool's queue has it, the family sees the
	// new pool's name and never the reason.
	const reason = "REASON-insurance-question-7731"
	nurse.must(422, "PATCH", staffMateo+"/conversations/"+cid, map[string]any{"poolId": seed.PoolFrontDesk})
	nurse.must(200, "PATCH", staffMateo+"/conversations/"+cid, map[string]any{"poolId": seed.PoolFrontDesk, "reason": reason})
	if desk.view(t, "view=needs-reply&pool="+seed.PoolFrontDesk).has(cid) == nil || desk.view(t, "view=needs-reply&pool="+seed.PoolNurse).has(cid) != nil {
		t.Fatal("the reroute did not move the conversation between pool queues")
	}
	var pch struct {
		Conversation struct{ Pool struct{ Name string } }
	}
	portalBody := parent.must(200, "GET", portalMateo+"/conversations/"+cid, nil)
	portalBody.json(t, &pch)
	if pch.Conversation.Pool.Name != "Front desk" {
		t.Fatalf("the family sees pool %q, want Front desk", pch.Conversation.Pool.Name)
	}
	if b := string(portalBody.body); !strings.Contains(b, `"text":"Answered"`) || !strings.Contains(b, "the front desk") {
		t.Fatalf("after the reroute the family's statuses are %s", b)
	}

	// An internal note: in the staff log, in no portal response.
	const note = "NOTE-mum-prefers-calls-after-3-5521"
	nurse.must(201, "POST", staffMateo+"/conversations/"+cid+"/notes", map[string]string{"text": note})
	// (The portal has no such route at all; that no portal function can
	// reach the notes' table is TestWorklogIsStaffOnly's and infra's
	// TestNoPortalFunctionCanReachStaffNotes's to prove.)
	parent.must(404, "POST", portalMateo+"/conversations/"+cid+"/notes", map[string]string{"text": "x"})

	// Claims: the first wins, the second is a 409 naming who and when,
	// and taking over is explicit.
	nurse.must(200, "PATCH", staffMateo+"/conversations/"+cid, map[string]any{"assigneeId": seed.NurseKim})
	var conflict struct {
		Status     int
		Detail     string
		Assignee   struct{ ID, Name string }
		AssignedAt string
	}
	desk.must(409, "PATCH", staffMateo+"/conversations/"+cid, map[string]any{"assigneeId": seed.DeskLee}).json(t, &conflict)
	if conflict.Assignee.ID != seed.NurseKim || conflict.AssignedAt == "" || !strings.Contains(conflict.Detail, "Jordan Kim") {
		t.Fatalf("claim conflict = %+v", conflict)
	}
	desk.must(200, "PATCH", staffMateo+"/conversations/"+cid, map[string]any{"assigneeId": seed.DeskLee, "takeOver": true})

	// A page holding an old version gets 409 and changes nothing.
	stale := nurse.header(t, cid).Version - 1
	nurse.must(409, "PATCH", staffMateo+"/conversations/"+cid, map[string]any{"status": "closed", "version": stale})
	if h := nurse.header(t, cid); h.Assignee == nil || h.Assignee.ID != seed.DeskLee {
		t.Fatalf("after a stale change: %+v", h)
	}

	// The staff log: every event in order, with who did it.
	var log struct{ Items []logEntry }
	nurse.must(200, "GET", staffMateo+"/conversations/"+cid+"/log", nil).json(t, &log)
	var kinds []string
	for _, it := range log.Items {
		kinds = append(kinds, it.Kind)
	}
	want := "[created no_reply_needed needs_reply rerouted note claimed took_over]"
	if fmt.Sprint(kinds) != want {
		t.Fatalf("log = %v, want %s", kinds, want)
	}
	if r := log.Items[3]; r.Text != reason || r.ToPool == nil || r.ToPool.ID != seed.PoolFrontDesk || log.Items[4].Text != note {
		t.Fatalf("reroute and note entries = %+v %+v", r, log.Items[4])
	}
	if c, to := log.Items[0], log.Items[6]; c.By.ID != seed.ParentRivera || to.Previous == nil || to.Previous.ID != seed.NurseKim {
		t.Fatalf("created and take-over entries = %+v %+v", c, to)
	}
	parent.must(404, "GET", portalMateo+"/conversations/"+cid+"/log", nil)

	// Nothing the family can read carries the note or the reason.
	for _, path := range []string{"/portal/patients", portalMateo + "/conversations", portalMateo + "/conversations/" + cid} {
		body := string(parent.must(200, "GET", path, nil).body)
		if strings.Contains(body, note) || strings.Contains(body, reason) {
			t.Errorf("%s shows staff-only text: %s", path, body)
		}
	}
	if strings.Contains(e.logs.String(), note) || strings.Contains(e.logs.String(), reason) {
		t.Error("staff-only text reached the logs")
	}
}

// A queue page is full whenever more matches exist: the view is its own
// index partition, not a filter over the whole inbox.
func TestQueuePagesAreFull(t *testing.T) {
	e := start(t)
	parent, nurse := e.as("portal", "parent.rivera"), e.as("staff", "nurse.kim")
	for i := range 5 {
		parent.must(201, "POST", portalMateo+"/conversations",
			map[string]string{"poolId": seed.PoolBilling, "subject": fmt.Sprintf("Bill %d", i), "body": "A question about a bill."}, key()...)
	}
	total := len(nurse.view(t, "view=needs-reply&limit=100").Items)
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		q := nurse.view(t, "view=needs-reply&limit=2&cursor="+cursor)
		for _, it := range q.Items {
			if seen[it.ID] || it.Awaiting != "staff" {
				t.Fatalf("page repeats or holds another turn: %+v", it)
			}
			seen[it.ID] = true
		}
		if len(seen) < total && len(q.Items) != 2 {
			t.Fatalf("page %d has %d items while %d of %d remain", pages, len(q.Items), total-len(seen), total)
		}
		if cursor = q.NextCursor; cursor == "" || pages > 10 {
			break
		}
	}
	if len(seen) != total || total < 7 {
		t.Fatalf("paged %d of %d", len(seen), total)
	}
}
