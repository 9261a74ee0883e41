package devstack_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/devstack"
	"github.com/pedsportal/messaging/internal/seed"
)

// BenchmarkNotificationDelay measures, on the local stack, how long a
// nurse's reply takes to become a pending notification (API, DynamoDB
// Local's stream, the poller and the notifier) and how long the flush that
// finds it due takes to put the e-mail in the local SES. The window (10
// minutes by design) and the schedule (every minute) come on top in AWS.
func BenchmarkNotificationDelay(b *testing.B) {
	ny, _ := time.LoadLocation("America/New_York")
	clock := &fakeClock{t: time.Date(2026, 12, 2, 10, 0, 0, 0, ny)}
	e := startWith(b, devstack.Options{Now: clock.Now, Notify: &devstack.NotifyOptions{}})
	nurse := e.as("staff", "nurse.kim")
	var toPending, toMail []time.Duration
	for i := 0; b.Loop(); i++ {
		day := time.Date(2026, 12, 2+i, 10, 0, 0, 0, ny)
		clock.set(day)
		t0 := time.Now()
		nurse.must(201, "POST", "/staff/patients/"+seed.Mateo+"/conversations/"+seed.ConvRash+"/messages", map[string]string{"body": "Checking in."}, key()...)
		for {
			due, err := e.st.Store.Due(b.Context(), day.Add(time.Hour), 10)
			if err != nil {
				b.Fatal(err)
			}
			if len(due) > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		toPending = append(toPending, time.Since(t0))
		clock.set(day.Add(11 * time.Minute))
		before, _ := e.st.Notifications.SES.Emails(b.Context())
		t1 := time.Now()
		if _, err := e.st.Notifications.Flush(b.Context()); err != nil {
			b.Fatal(err)
		}
		for {
			got, _ := e.st.Notifications.SES.Emails(b.Context())
			if len(got) > len(before) {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		toMail = append(toMail, time.Since(t1))
	}
	p50 := func(ds []time.Duration) time.Duration {
		s := slices.Clone(ds)
		slices.Sort(s)
		return s[len(s)/2].Round(time.Millisecond)
	}
	fmt.Printf("notification delay (local stack, %d replies): reply→pending p50 %s; flush→e-mail p50 %s; plus the 10-minute window and the 1-minute schedule\n",
		len(toPending), p50(toPending), p50(toMail))
}
