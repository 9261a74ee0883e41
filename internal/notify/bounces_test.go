package notify_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/notify"
)

type marks map[string]string

func (m marks) MarkEmailUnreachable(_ context.Context, id, addr string) error {
	m[id] = addr
	return nil
}

func sns(msgs ...string) events.SNSEvent {
	var ev events.SNSEvent
	for i, m := range msgs {
		ev.Records = append(ev.Records, events.SNSEventRecord{SNS: events.SNSEntity{MessageID: string(rune('a' + i)), Message: m}})
	}
	return ev
}

// Permanent bounces and complaints of a family's e-mail mark the address;
// transient bounces, deliveries, staff digests and junk change nothing.
func TestSESEventsMarkUnreachable(t *testing.T) {
	m := marks{}
	err := notify.HandleSESEvents(t.Context(), m, slog.New(slog.DiscardHandler), sns(
		`{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"ana@example.com"}]},"mail":{"tags":{"recipient":["u-ana"],"kind":["portal"]}}}`,
		`{"eventType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"wei@example.com"}]},"mail":{"tags":{"recipient":["u-wei"],"kind":["portal"]}}}`,
		`{"eventType":"Bounce","bounce":{"bounceType":"Transient","bouncedRecipients":[{"emailAddress":"luis@example.com"}]},"mail":{"tags":{"recipient":["u-luis"],"kind":["portal"]}}}`,
		`{"eventType":"Delivery","mail":{"tags":{"recipient":["u-jo"],"kind":["portal"]}}}`,
		`{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"kim@example.com"}]},"mail":{"tags":{"recipient":["u-kim"],"kind":["staff"]}}}`,
		`not json`,
	))
	if err != nil {
		t.Fatal(err)
	}
	want := marks{"u-ana": "ana@example.com", "u-wei": "wei@example.com"}
	if len(m) != len(want) || m["u-ana"] != want["u-ana"] || m["u-wei"] != want["u-wei"] {
		t.Fatalf("marked %v, want %v", m, want)
	}
}
