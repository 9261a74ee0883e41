package devstack_test

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/httpapi"
	"github.com/pedsportal/messaging/internal/localdev/issuer"
	"github.com/pedsportal/messaging/internal/seed"
)

type conv struct {
	ID           string  `json:"id"`
	Subject      string  `json:"subject"`
	Status       string  `json:"status"`
	MessageCount int     `json:"messageCount"`
	Preview      string  `json:"preview"`
	Unread       int     `json:"unread"`
	PortalUnread int     `json:"portalUnread"`
	StaffUnread  int     `json:"staffUnread"`
	PortalReadAt *string `json:"portalReadAt"`
	Patient      struct {
		ID string `json:"id"`
	} `json:"patient"`
	Assignee *struct {
		ID string `json:"id"`
	} `json:"assignee"`
}

type message struct {
	ID     string `json:"id"`
	Body   string `json:"body"`
	Author struct {
		ID           string `json:"id"`
		Role         string `json:"role"`
		Side         string `json:"side"`
		Relationship string `json:"relationship"`
	} `json:"author"`
}

type list struct {
	Items      []conv `json:"items"`
	NextCursor string `json:"nextCursor"`
}

type chain struct {
	Conversation *conv     `json:"conversation"`
	Messages     []message `json:"messages"`
	NextCursor   string    `json:"nextCursor"`
}

type written struct {
	Conversation *conv   `json:"conversation"`
	Message      message `json:"message"`
}

func find(items []conv, id string) *conv {
	for i := range items {
		if items[i].ID == id {
			return &items[i]
		}
	}
	return nil
}

const (
	portalMateo = "/portal/patients/" + seed.Mateo
	staffMateo  = "/staff/patients/" + seed.Mateo
)

// A parent writes; it shows in the staff inbox; a nurse replies; the parent
// sees the reply unread, opens it and marks it read; staff see it was read.
func TestConversationFlow(t *testing.T) {
	e := start(t)
	parent, nurse := e.as("portal", "parent.rivera"), e.as("staff", "nurse.kim")

	var pats struct {
		Items []struct{ ID, DisplayName string } `json:"items"`
	}
	parent.must(200, "GET", "/portal/patients", nil).json(t, &pats)
	if len(pats.Items) != 2 {
		t.Fatalf("Current Patient list = %+v, want Mateo and Sofia", pats.Items)
	}

	var w written
	parent.must(201, "POST", portalMateo+"/conversations",
		map[string]string{"poolId": seed.PoolNurse, "subject": "Cough at night", "body": "Mateo coughs every night since Sunday."},
		key()...).json(t, &w)
	if w.Conversation == nil || w.Conversation.StaffUnread != 1 || w.Message.Author.Side != "portal" {
		t.Fatalf("write = %+v", w)
	}
	cid := w.Conversation.ID

	var inbox list
	nurse.must(200, "GET", "/staff/inbox?view=all&pool="+seed.PoolNurse+"&unread=true&status=open", nil).json(t, &inbox)
	got := find(inbox.Items, cid)
	if got == nil || got.Unread != 1 || got.Preview != "Mateo coughs every night since Sunday." {
		t.Fatalf("inbox item = %+v (inbox %d items)", got, len(inbox.Items))
	}
	if inbox.Items[0].ID != cid {
		t.Errorf("newest activity is not first: first = %s", inbox.Items[0].ID)
	}

	nurse.must(201, "POST", staffMateo+"/conversations/"+cid+"/messages",
		map[string]string{"body": "Please try honey and a humidifier; call if breathing is hard."}, key()...)

	var mine list
	parent.must(200, "GET", portalMateo+"/conversations", nil).json(t, &mine)
	if c := find(mine.Items, cid); c == nil || c.Unread != 1 || c.MessageCount != 2 {
		t.Fatalf("parent list item = %+v, want unread 1 and 2 messages", c)
	}

	var ch chain
	parent.must(200, "GET", portalMateo+"/conversations/"+cid, nil).json(t, &ch)
	if len(ch.Messages) != 2 || ch.Messages[0].Author.Side != "portal" || ch.Messages[1].Author.Role != "nurse" {
		t.Fatalf("chain = %+v", ch.Messages)
	}
	var read struct{ Conversation conv }
	parent.must(200, "POST", portalMateo+"/conversations/"+cid+"/read", nil).json(t, &read)
	if read.Conversation.Unread != 0 || read.Conversation.PortalReadAt == nil {
		t.Fatalf("after mark read: %+v", read.Conversation)
	}
	parent.must(200, "GET", portalMateo+"/conversations", nil).json(t, &mine)
	if c := find(mine.Items, cid); c == nil || c.Unread != 0 {
		t.Fatalf("still unread after mark read: %+v", c)
	}
	nurse.must(200, "GET", staffMateo+"/conversations/"+cid, nil).json(t, &ch)
	if ch.Conversation.PortalReadAt == nil || ch.Conversation.PortalUnread != 0 {
		t.Fatalf("staff does not see it read: %+v", ch.Conversation)
	}

	// The summary counts open conversations without any content.
	var sum struct {
		Open, Unread, AssignedToMe int
		Pools                      []struct {
			ID           string
			Open, Unread int
		}
		LatestActivityAt string
	}
	nurse.must(200, "GET", "/staff/inbox/summary", nil).json(t, &sum)
	// Seeded: 6 open (one closed), plus the new one; unread: rash,
	// billing and Noah's question for Dr. Patel.
	if sum.Open != 7 || sum.Unread != 3 || sum.AssignedToMe != 1 || sum.LatestActivityAt == "" {
		t.Fatalf("summary = %+v", sum)
	}

	// Close, then a parent reply is refused and the chart keeps it.
	nurse.must(200, "PATCH", staffMateo+"/conversations/"+cid, map[string]any{"status": "closed", "assigneeId": seed.NurseKim})
	parent.must(409, "POST", portalMateo+"/conversations/"+cid+"/messages", map[string]string{"body": "one more"}, key()...)
	nurse.must(200, "GET", "/staff/inbox/summary", nil).json(t, &sum)
	if sum.Open != 6 || sum.AssignedToMe != 1 {
		t.Fatalf("summary after closing = %+v, want 6 open", sum)
	}
	var chart list
	nurse.must(200, "GET", staffMateo+"/conversations?status=closed", nil).json(t, &chart)
	if c := find(chart.Items, cid); c == nil || c.Status != "closed" || c.Assignee == nil || c.Assignee.ID != seed.NurseKim {
		t.Fatalf("closed conversation missing from chart history: %+v", c)
	}
}

// A doctor starts a conversation with a parent, who sees it unread.
func TestStaffStartsConversation(t *testing.T) {
	e := start(t)
	doctor, parent := e.as("staff", "dr.patel"), e.as("portal", "parent.chen")
	var detail struct {
		Links []struct{ PortalUserID string } `json:"links"`
	}
	doctor.must(200, "GET", "/staff/patients/"+seed.Lily, nil).json(t, &detail)
	if len(detail.Links) != 1 || detail.Links[0].PortalUserID != seed.ParentChen {
		t.Fatalf("links = %+v", detail.Links)
	}
	var w written
	doctor.must(201, "POST", "/staff/patients/"+seed.Lily+"/conversations", map[string]string{
		"portalUserId": seed.ParentChen, "poolId": seed.PoolDrPatel, "subject": "Lab results", "body": "Lily's blood count is normal.",
	}, key()...).json(t, &w)
	var l list
	parent.must(200, "GET", "/portal/patients/"+seed.Lily+"/conversations", nil).json(t, &l)
	c := find(l.Items, w.Conversation.ID)
	if c == nil || c.Unread != 1 || c.Subject != "Lab results" {
		t.Fatalf("parent sees %+v", c)
	}
	// A portal user who is not linked cannot be addressed.
	doctor.must(422, "POST", "/staff/patients/"+seed.Lily+"/conversations", map[string]string{
		"portalUserId": seed.ParentRivera, "poolId": seed.PoolDrPatel, "subject": "x", "body": "y",
	}, key()...)
}

// Lists and chains page with opaque cursors, newest activity first for
// lists and oldest first for chains, without gaps or repeats.
func TestPaging(t *testing.T) {
	e := start(t)
	parent, nurse := e.as("portal", "parent.rivera"), e.as("staff", "nurse.kim")
	var ids []string
	for i := range 7 {
		var w written
		parent.must(201, "POST", "/portal/patients/"+seed.Sofia+"/conversations",
			map[string]string{"poolId": seed.PoolFrontDesk, "subject": fmt.Sprintf("Question %d", i), "body": "b"}, key()...).json(t, &w)
		ids = append([]string{w.Conversation.ID}, ids...) // newest first
	}
	ids = append(ids, seed.ConvEar) // the seeded one is older
	var got []string
	cur, pages := "", 0
	for {
		var l list
		parent.must(200, "GET", "/portal/patients/"+seed.Sofia+"/conversations?limit=3&cursor="+cur, nil).json(t, &l)
		pages++
		for _, c := range l.Items {
			got = append(got, c.ID)
		}
		if cur = l.NextCursor; cur == "" || pages > 10 {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) || pages != 3 {
		t.Fatalf("paged list = %v in %d pages, want %v in 3", got, pages, ids)
	}

	cid := ids[0]
	var want []string
	for i := range 6 {
		var w written
		nurse.must(201, "POST", "/staff/patients/"+seed.Sofia+"/conversations/"+cid+"/messages",
			map[string]string{"body": fmt.Sprintf("reply %d", i)}, key()...).json(t, &w)
		want = append(want, w.Message.ID)
	}
	var msgs []string
	cur, pages = "", 0
	for {
		var ch chain
		parent.must(200, "GET", "/portal/patients/"+seed.Sofia+"/conversations/"+cid+"?limit=4&cursor="+cur, nil).json(t, &ch)
		if (pages == 0) != (ch.Conversation != nil) {
			t.Fatalf("page %d: header present = %v; want it on the first page only", pages, ch.Conversation != nil)
		}
		pages++
		for _, m := range ch.Messages {
			msgs = append(msgs, m.ID)
		}
		if cur = ch.NextCursor; cur == "" || pages > 10 {
			break
		}
	}
	if len(msgs) != 7 || fmt.Sprint(msgs[1:]) != fmt.Sprint(want) {
		t.Fatalf("chain pages = %v, want first message then %v", msgs, want)
	}

	// Staff inbox pages too.
	var first list
	nurse.must(200, "GET", "/staff/inbox?view=all&limit=2", nil).json(t, &first)
	if len(first.Items) != 2 || first.NextCursor == "" {
		t.Fatalf("inbox page = %d items, cursor %q", len(first.Items), first.NextCursor)
	}
	var second list
	nurse.must(200, "GET", "/staff/inbox?view=all&limit=2&cursor="+first.NextCursor, nil).json(t, &second)
	if len(second.Items) == 0 || second.Items[0].ID == first.Items[0].ID || second.Items[0].ID == first.Items[1].ID {
		t.Fatalf("inbox second page repeats the first: %+v", second.Items)
	}
}

var instanceRE = regexp.MustCompile(`"instance":"[^"]*"`)

func withoutInstance(b []byte) []byte { return instanceRE.ReplaceAll(b, []byte(`"instance":""`)) }

// Every cell of the authorization matrix is asserted.
func TestAuthorization(t *testing.T) {
	e := start(t)
	chen, rivera := e.as("portal", "parent.chen"), e.as("portal", "parent.rivera")

	t.Run("foreign patient answers exactly like a missing one", func(t *testing.T) {
		for _, tc := range []struct{ method, suffix string }{
			{"GET", "/conversations"},
			{"GET", "/conversations/" + seed.ConvRash},
			{"POST", "/conversations/" + seed.ConvRash + "/read"},
		} {
			foreign := chen.do(tc.method, "/portal/patients/"+seed.Mateo+tc.suffix, nil)
			missing := chen.do(tc.method, "/portal/patients/pat-does-not-exist"+tc.suffix, nil)
			if foreign.status != 404 || missing.status != 404 {
				t.Fatalf("%s %s: foreign %d, missing %d; want 404 both", tc.method, tc.suffix, foreign.status, missing.status)
			}
			if !bytes.Equal(withoutInstance(foreign.body), withoutInstance(missing.body)) {
				t.Fatalf("bodies differ:\n%s\n%s", foreign.body, missing.body)
			}
			if bytes.Equal(foreign.body, missing.body) {
				t.Fatalf("instance (request ID) should differ per request")
			}
			if ct := foreign.header.Get("Content-Type"); ct != "application/problem+json" || missing.header.Get("Content-Type") != ct {
				t.Fatalf("content types %q / %q", ct, missing.header.Get("Content-Type"))
			}
		}
		body := map[string]string{"poolId": seed.PoolNurse, "subject": "s", "body": "b"}
		foreign := chen.do("POST", "/portal/patients/"+seed.Mateo+"/conversations", body, key()...)
		missing := chen.do("POST", "/portal/patients/pat-nope/conversations", body, key()...)
		if foreign.status != 404 || !bytes.Equal(withoutInstance(foreign.body), withoutInstance(missing.body)) {
			t.Fatalf("write to foreign patient: %d %s vs %s", foreign.status, foreign.body, missing.body)
		}
	})

	t.Run("conversation of another patient under a linked patient", func(t *testing.T) {
		// ConvEar is Sofia's; Rivera is linked to both, so only the path
		// binding stops this.
		rivera.must(404, "GET", portalMateo+"/conversations/"+seed.ConvEar, nil)
		rivera.must(404, "POST", portalMateo+"/conversations/"+seed.ConvEar+"/messages", map[string]string{"body": "x"}, key()...)
		rivera.must(404, "POST", portalMateo+"/conversations/"+seed.ConvEar+"/read", nil)
		e.as("staff", "nurse.kim").must(404, "PATCH", staffMateo+"/conversations/"+seed.ConvEar, map[string]string{"status": "closed"})
	})

	t.Run("crafted IDs never reach other items", func(t *testing.T) {
		var ch chain
		rivera.must(200, "GET", portalMateo+"/conversations/"+seed.ConvRash, nil).json(t, &ch)
		// "#MSG#<id>" would turn a conversation key into a message key.
		msgAsConv := seed.ConvRash + "%23MSG%23" + ch.Messages[0].ID
		nurse := e.as("staff", "nurse.kim")
		for _, r := range []struct {
			c            *client
			method, path string
			body         any
		}{
			{rivera, "POST", portalMateo + "/conversations/" + msgAsConv + "/read", nil},
			{rivera, "GET", portalMateo + "/conversations/" + msgAsConv, nil},
			{rivera, "POST", portalMateo + "/conversations/" + msgAsConv + "/messages", map[string]string{"body": "x"}},
			{nurse, "PATCH", staffMateo + "/conversations/" + msgAsConv, map[string]string{"status": "open"}},
			{rivera, "GET", "/portal/patients/" + strings.Repeat("p", 3000) + "/conversations", nil},
			{rivera, "GET", "/portal/patients/pat%7Cx/conversations", nil},
		} {
			if got := r.c.do(r.method, r.path, r.body, key()...); got.status != 404 {
				t.Errorf("%s %s: %d, want 404: %s", r.method, r.path[:min(len(r.path), 120)], got.status, got.body)
			}
		}
		rivera.must(200, "GET", portalMateo+"/conversations/"+seed.ConvRash, nil).json(t, &ch)
		if len(ch.Messages) != 1 || ch.Conversation.MessageCount != 1 {
			t.Fatalf("the chain changed: %d messages, count %d", len(ch.Messages), ch.Conversation.MessageCount)
		}
		nurse.must(422, "PATCH", staffMateo+"/conversations/"+seed.ConvRash, map[string]string{"assigneeId": "STAFF#x"})
	})

	t.Run("unlinking takes effect at once", func(t *testing.T) {
		sofia := "/portal/patients/" + seed.Sofia + "/conversations"
		rivera.must(200, "GET", sofia, nil)
		admin := e.as("staff", "admin.garcia")
		admin.must(204, "DELETE", "/staff/patients/"+seed.Sofia+"/links/"+seed.ParentRivera, nil)
		rivera.must(404, "GET", sofia, nil)
		rivera.must(404, "GET", sofia+"/"+seed.ConvEar, nil)
		var pats struct{ Items []struct{ ID string } }
		rivera.must(200, "GET", "/portal/patients", nil).json(t, &pats)
		if len(pats.Items) != 1 || pats.Items[0].ID != seed.Mateo {
			t.Fatalf("Current Patient list after unlink = %+v", pats.Items)
		}
		// Relinking restores access.
		admin.must(200, "PUT", "/staff/patients/"+seed.Sofia+"/links/"+seed.ParentRivera, map[string]string{"relationship": "parent"})
		rivera.must(200, "GET", sofia, nil)
	})

	t.Run("staff-only routes refuse portal tokens", func(t *testing.T) {
		for _, r := range []struct{ method, path string }{
			{"GET", "/staff/inbox"},
			{"GET", "/staff/patients/" + seed.Mateo + "/conversations"},
			{"PATCH", staffMateo + "/conversations/" + seed.ConvRash},
			{"POST", staffMateo + "/conversations/" + seed.ConvRash + "/notes"},
			{"GET", staffMateo + "/conversations/" + seed.ConvRash + "/log"},
			{"GET", "/staff/inbox?view=done"},
		} {
			if got := rivera.do(r.method, r.path, map[string]string{"status": "closed"}); got.status != 401 && got.status != 403 {
				t.Fatalf("%s %s with a portal token: %d, want 401 or 403", r.method, r.path, got.status)
			}
		}
		if got := e.as("staff", "nurse.kim").do("GET", "/portal/patients", nil); got.status != 401 && got.status != 403 {
			t.Fatalf("portal route with a staff token: %d", got.status)
		}
		// Only admins manage links.
		e.as("staff", "nurse.kim").must(403, "DELETE", "/staff/patients/"+seed.Mateo+"/links/"+seed.ParentRivera, nil)
		// A portal user with no links sees no patients and gets 404s.
		newbie := e.as("portal", "parent.new")
		var pats struct{ Items []struct{ ID string } }
		newbie.must(200, "GET", "/portal/patients", nil).json(t, &pats)
		if len(pats.Items) != 0 {
			t.Fatalf("unlinked user sees %+v", pats.Items)
		}
		newbie.must(404, "GET", portalMateo+"/conversations", nil)
	})

	t.Run("bad tokens get 401", func(t *testing.T) {
		iss := e.st.Issuer
		claims, err := iss.Claims("portal", "parent.rivera")
		if err != nil {
			t.Fatal(err)
		}
		expired, _ := iss.Mint("portal", "parent.rivera", issuer.WithExpiresIn(-time.Minute))
		forged, _ := iss.SignWithForeignKey("portal", claims)
		none, _ := iss.UnsignedAlgNone("portal", claims)
		wrongIss := claims
		wrongIss["iss"] = "https://evil.example/portal"
		wrongIssTok, _ := iss.SignWithForeignKey("portal", wrongIss)
		otherPool, _ := iss.Mint("staff", "nurse.kim") // valid token, other issuer
		for name, tok := range map[string]string{
			"expired": expired, "forged": forged, "alg none": none, "wrong issuer": wrongIssTok,
			"other pool's issuer": otherPool, "missing": "", "garbage": "not.a.jwt",
		} {
			c := &client{e: e, token: tok}
			if got := c.do("GET", portalMateo+"/conversations", nil); got.status != 401 {
				t.Errorf("%s token: status %d, want 401: %s", name, got.status, got.body)
			}
		}
	})

	t.Run("tampered or foreign cursors are refused", func(t *testing.T) {
		for range 3 {
			rivera.must(201, "POST", portalMateo+"/conversations", map[string]string{"poolId": seed.PoolNurse, "subject": "s", "body": "b"}, key()...)
		}
		var l list
		rivera.must(200, "GET", portalMateo+"/conversations?limit=1", nil).json(t, &l)
		if l.NextCursor == "" {
			t.Fatal("no cursor")
		}
		b := []byte(l.NextCursor)
		b[2] ^= 1
		rivera.must(422, "GET", portalMateo+"/conversations?limit=1&cursor="+string(b), nil)
		// The same cursor for another patient, or another caller.
		rivera.must(422, "GET", "/portal/patients/"+seed.Sofia+"/conversations?limit=1&cursor="+l.NextCursor, nil)
		e.as("staff", "nurse.kim").must(422, "GET", staffMateo+"/conversations?limit=1&cursor="+l.NextCursor, nil)
		// A raw key is never taken as a cursor.
		rivera.must(422, "GET", portalMateo+`/conversations?cursor={"PK":"pt-9H3X6B2R"}`, nil)
		rivera.must(200, "GET", portalMateo+"/conversations?limit=1&cursor="+l.NextCursor, nil)
	})
}

// Bad input gets a problem document and stores nothing.
func TestBadInput(t *testing.T) {
	e := start(t)
	parent := e.as("portal", "parent.rivera")
	path := portalMateo + "/conversations"
	var before list
	parent.must(200, "GET", path+"?limit=100", nil).json(t, &before)

	for _, tc := range []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"malformed JSON", `{"poolId": "pool-nurse-line", "subject": `, 400, ""},
		{"unknown field", `{"poolId":"pool-nurse-line","subject":"s","body":"b","author":"someone else"}`, 400, "author"},
		{"two objects", `{"poolId":"pool-nurse-line","subject":"s","body":"b"} {}`, 400, ""},
		{"wrong type", `{"poolId":"pool-nurse-line","subject":5,"body":"b"}`, 400, "subject"},
		{"empty subject", map[string]string{"poolId": seed.PoolNurse, "subject": "", "body": "b"}, 422, "subject"},
		{"over-long subject", map[string]string{"poolId": seed.PoolNurse, "subject": strings.Repeat("s", 201), "body": "b"}, 422, "subject"},
		{"empty body", map[string]string{"poolId": seed.PoolNurse, "subject": "s", "body": "   "}, 422, "body"},
		{"over-long body", map[string]string{"poolId": seed.PoolNurse, "subject": "s", "body": strings.Repeat("b", 5001)}, 422, "body"},
		{"invalid UTF-8", []byte("{\"poolId\":\"pool-nurse-line\",\"subject\":\"s\",\"body\":\"bad \xff\xfe bytes\"}"), 422, "body"},
		{"unknown pool", map[string]string{"poolId": "pool-nope", "subject": "s", "body": "b"}, 422, "poolId"},
		{"over-large body", `{"poolId":"pool-nurse-line","subject":"s","body":"` + strings.Repeat("x", httpapi.MaxBody) + `"}`, 413, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := parent.do("POST", path, tc.body, key()...)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("Content-Type %q", ct)
			}
			var p struct {
				Type, Title, Detail, Instance, Field string
				Status                               int
			}
			r.json(t, &p)
			if p.Status != tc.status || p.Type == "" || p.Detail == "" || p.Instance == "" || p.Field != tc.field {
				t.Fatalf("problem = %+v, want status %d field %q", p, tc.status, tc.field)
			}
		})
	}
	t.Run("missing Idempotency-Key", func(t *testing.T) {
		parent.must(422, "POST", path, map[string]string{"poolId": seed.PoolNurse, "subject": "s", "body": "b"})
	})
	var after list
	parent.must(200, "GET", path+"?limit=100", nil).json(t, &after)
	if len(after.Items) != len(before.Items) {
		t.Fatalf("bad input stored something: %d conversations before, %d after", len(before.Items), len(after.Items))
	}
	var ch chain
	parent.must(200, "GET", path+"/"+seed.ConvRash, nil).json(t, &ch)
	n := len(ch.Messages)
	parent.must(422, "POST", path+"/"+seed.ConvRash+"/messages", map[string]string{"body": ""}, key()...)
	parent.must(400, "POST", path+"/"+seed.ConvRash+"/messages", `{"body":"x","conversationId":"other"}`, key()...)
	parent.must(200, "GET", path+"/"+seed.ConvRash, nil).json(t, &ch)
	if len(ch.Messages) != n {
		t.Fatalf("bad reply stored something: %d → %d messages", n, len(ch.Messages))
	}
}

// A retried key creates one message; a key reused with another body is 422.
func TestIdempotency(t *testing.T) {
	e := start(t)
	parent := e.as("portal", "parent.rivera")
	path := portalMateo + "/conversations"
	body := map[string]string{"poolId": seed.PoolNurse, "subject": "Refill", "body": "Inhaler refill please."}
	k := key()
	var a, b written
	parent.must(201, "POST", path, body, k...).json(t, &a)
	parent.must(201, "POST", path, body, k...).json(t, &b)
	if a.Conversation.ID != b.Conversation.ID || a.Message.ID != b.Message.ID {
		t.Fatalf("retry created a second conversation: %s/%s vs %s/%s", a.Conversation.ID, a.Message.ID, b.Conversation.ID, b.Message.ID)
	}
	body["body"] = "Something else entirely."
	r := parent.must(422, "POST", path, body, k...)
	if !strings.Contains(string(r.body), "idempotency") {
		t.Fatalf("422 body does not name idempotency: %s", r.body)
	}
	var l list
	parent.must(200, "GET", path+"?limit=100", nil).json(t, &l)
	n := 0
	for _, c := range l.Items {
		if c.Subject == "Refill" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("conversations with the retried subject = %d, want 1", n)
	}
	// Replies too.
	rk := key()
	parent.must(201, "POST", path+"/"+a.Conversation.ID+"/messages", map[string]string{"body": "also the spacer"}, rk...)
	parent.must(201, "POST", path+"/"+a.Conversation.ID+"/messages", map[string]string{"body": "also the spacer"}, rk...)
	var ch chain
	parent.must(200, "GET", path+"/"+a.Conversation.ID, nil).json(t, &ch)
	if len(ch.Messages) != 2 || ch.Conversation.MessageCount != 2 {
		t.Fatalf("after a retried reply: %d messages, count %d; want 2 and 2", len(ch.Messages), ch.Conversation.MessageCount)
	}
}

// 50 parallel replies through the gateway: all stored, counted exactly.
func TestConcurrentReplies(t *testing.T) {
	e := start(t)
	nurse := e.as("staff", "nurse.kim")
	path := staffMateo + "/conversations/" + seed.ConvRash
	var before chain
	nurse.must(200, "GET", path+"?limit=100", nil).json(t, &before)
	const n = 50
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			statuses[i] = nurse.do("POST", path+"/messages", map[string]string{"body": fmt.Sprintf("parallel reply %d", i)}, key()...).status
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 201 {
			t.Errorf("reply %d: status %d", i, s)
		}
	}
	var after chain
	nurse.must(200, "GET", path+"?limit=100", nil).json(t, &after)
	added := len(after.Messages) - len(before.Messages)
	if added != n {
		t.Fatalf("stored %d new messages, want %d", added, n)
	}
	if got, want := after.Conversation.MessageCount-before.Conversation.MessageCount, n; got != want {
		t.Fatalf("messageCount grew by %d, want %d", got, want)
	}
	if got, want := after.Conversation.PortalUnread-before.Conversation.PortalUnread, n; got != want {
		t.Fatalf("portalUnread grew by %d, want %d", got, want)
	}
}

// Every operation on messages leaves exactly one audit record, with the
// request ID the client saw; logs carry no message text, subject or name.
func TestAuditAndLogs(t *testing.T) {
	e := start(t)
	parent, nurse := e.as("portal", "parent.chen"), e.as("staff", "nurse.kim")
	lily := "/portal/patients/" + seed.Lily
	var w written
	steps := []struct {
		c      *client
		method string
		path   func() string
		body   any
		status int
		action audit.Action
	}{
		{parent, "GET", func() string { return lily + "/conversations" }, nil, 200, audit.ListConversations},
		{parent, "POST", func() string { return lily + "/conversations" }, map[string]string{"poolId": seed.PoolNurse, "subject": "Secret subject Zebra", "body": "Secret body Quokka"}, 201, audit.CreateConversation},
		{parent, "GET", func() string { return lily + "/conversations/" + w.Conversation.ID }, nil, 200, audit.ReadConversation},
		{nurse, "POST", func() string {
			return "/staff/patients/" + seed.Lily + "/conversations/" + w.Conversation.ID + "/messages"
		}, map[string]string{"body": "Secret reply Narwhal"}, 201, audit.Reply},
		{parent, "POST", func() string { return lily + "/conversations/" + w.Conversation.ID + "/read" }, nil, 200, audit.MarkRead},
		{nurse, "PATCH", func() string { return "/staff/patients/" + seed.Lily + "/conversations/" + w.Conversation.ID }, map[string]string{"status": "closed"}, 200, audit.UpdateConversation},
	}
	// A denied attempt on a patient the caller was never granted is filed
	// under the caller, naming what it asked for, never in that child's
	// trail (asking must not write into a chart).
	denied := e.as("portal", "parent.rivera").must(404, "GET", lily+"/conversations", nil).header.Get("apigw-requestid")
	var ids []string
	for i, s := range steps {
		var hdr []string
		if s.method == "POST" && s.body != nil {
			hdr = key()
		}
		r := s.c.must(s.status, s.method, s.path(), s.body, hdr...)
		if i == 1 {
			r.json(t, &w)
		}
		ids = append(ids, r.header.Get("apigw-requestid"))
	}
	trail, err := e.st.Store.AuditTrail(t.Context(), seed.Lily)
	if err != nil {
		t.Fatal(err)
	}
	// The demo data left records of its own (seeded conversations, the
	// directory load); count those of these requests.
	byReq := map[string]audit.Record{}
	mine := 0
	for _, r := range trail {
		if slices.Contains(ids, r.RequestID) {
			byReq[r.RequestID] = r
			mine++
		}
	}
	if mine != len(steps) {
		t.Fatalf("audit records of these requests = %d, want %d (one per operation)", mine, len(steps))
	}
	for i, s := range steps {
		r, ok := byReq[ids[i]]
		if !ok || r.Action != s.action || r.Status != s.status || r.PatientID != seed.Lily {
			t.Errorf("step %d (%s): record %+v", i, s.action, r)
		}
	}
	if _, ok := byReq[denied]; ok {
		t.Errorf("a denied attempt was filed in the child's trail")
	}
	own, err := e.st.Store.ActorTrail(t.Context(), seed.ParentRivera)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(own, func(r audit.Record) bool {
		return r.RequestID == denied && r.Outcome == audit.Denied && r.RequestedPatientID == seed.Lily && r.PatientID == "" && r.Status == 404
	}) {
		t.Errorf("denied access not recorded under the actor: %+v", own)
	}
	logs := e.logs.String()
	if !strings.Contains(logs, w.Conversation.ID) {
		t.Fatalf("logs lack the conversation ID; is logging wired? %d bytes", len(logs))
	}
	for _, secret := range []string{"Zebra", "Quokka", "Narwhal", "Lily Chen", "Wei Chen", "lily", "chen", "2019-11-30"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain PHI %q", secret)
		}
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	e := start(t)
	parent := e.as("portal", "parent.rivera")
	if r := parent.do("GET", "/portal/nothing-here", nil); r.status != http.StatusNotFound {
		t.Fatalf("unknown route: %d", r.status)
	}
	if r := parent.do("DELETE", portalMateo+"/conversations/"+seed.ConvRash, nil); r.status != http.StatusNotFound {
		t.Fatalf("messages cannot be deleted: DELETE answered %d", r.status)
	}
}
