package devstack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/devstack"
	"github.com/pedsportal/messaging/internal/seed"
)

// A family message while the office is closed gets one clearly labelled
// automatic acknowledgement in the chain per off-hours window: when the
// office reopens, the nurse line and 911. A second message that night gets
// none; the next night's does. It changes neither whose turn it is nor
// the family's unread count, and nobody is notified of it.
func TestAfterHoursAcknowledgement(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	clock := &fakeClock{t: time.Date(2026, 12, 2, 21, 30, 0, 0, ny)} // a Wednesday night
	e := startWith(t, devstack.Options{Now: clock.Now, Notify: &devstack.NotifyOptions{}})
	ana := e.as("portal", "parent.rivera")

	var w struct {
		Conversation    *conv
		Acknowledgement *struct {
			Body      string
			Automatic bool
			Author    struct{ Name, Side string }
		}
	}
	ana.must(201, "POST", portalMateo+"/conversations",
		map[string]string{"poolId": seed.PoolNurse, "subject": "Earache", "body": "Mateo says his ear hurts."}, key()...).json(t, &w)
	ack := w.Acknowledgement
	if ack == nil || !ack.Automatic || ack.Author.Name != "Automatic reply" ||
		!strings.Contains(ack.Body, "We reopen tomorrow at 8 AM") || !strings.Contains(ack.Body, "911") || !strings.Contains(ack.Body, "nurse line at") {
		t.Fatalf("acknowledgement = %+v", ack)
	}
	cid := w.Conversation.ID
	chainOf := func() []struct {
		Body      string
		Automatic bool
	} {
		var ch struct {
			Conversation struct {
				Awaiting     string
				Unread       int
				MessageCount int
			}
			Messages []struct {
				Body      string
				Automatic bool
			}
		}
		ana.must(200, "GET", portalMateo+"/conversations/"+cid, nil).json(t, &ch)
		if ch.Conversation.Awaiting != "staff" || ch.Conversation.Unread != 0 || ch.Conversation.MessageCount != len(ch.Messages) {
			t.Fatalf("after the acknowledgement: %+v with %d messages", ch.Conversation, len(ch.Messages))
		}
		return ch.Messages
	}
	if msgs := chainOf(); len(msgs) != 2 || !msgs[1].Automatic {
		t.Fatalf("chain = %+v, want the message and its acknowledgement", msgs)
	}

	clock.set(time.Date(2026, 12, 2, 23, 0, 0, 0, ny))
	ana.must(201, "POST", portalMateo+"/conversations/"+cid+"/messages", map[string]string{"body": "Now he has a fever too."}, key()...)
	if msgs := chainOf(); len(msgs) != 3 || msgs[2].Automatic {
		t.Fatalf("a second message in the same night got another acknowledgement: %+v", msgs)
	}

	clock.set(time.Date(2026, 12, 3, 9, 0, 0, 0, ny)) // open
	ana.must(201, "POST", portalMateo+"/conversations/"+cid+"/messages", map[string]string{"body": "Still warm this morning."}, key()...)
	clock.set(time.Date(2026, 12, 3, 19, 0, 0, 0, ny)) // the next night
	ana.must(201, "POST", portalMateo+"/conversations/"+cid+"/messages", map[string]string{"body": "Better tonight."}, key()...)
	msgs := chainOf()
	autos := 0
	for _, m := range msgs {
		if m.Automatic {
			autos++
		}
	}
	if len(msgs) != 6 || autos != 2 || !msgs[5].Automatic {
		t.Fatalf("chain over two nights = %+v, want one acknowledgement each night", msgs)
	}

	// Nobody is notified of an acknowledgement: not the family, who read
	// it as they wrote, and the staff digest counts the conversation once.
	settle()
	clock.set(time.Date(2026, 12, 4, 9, 0, 0, 0, ny))
	if got := e.flushAndRead(t, "ana.rivera@example.com"); len(got) != 0 {
		t.Fatalf("the family was e-mailed about the acknowledgement: %d e-mails", len(got))
	}
}
