package devstack

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/lambdaapp/reactors"
	"github.com/pedsportal/messaging/internal/lambdaapp/senders"
	"github.com/pedsportal/messaging/internal/localdev/seslocal"
	"github.com/pedsportal/messaging/internal/localdev/smslocal"
	"github.com/pedsportal/messaging/internal/localdev/streams"
	"github.com/pedsportal/messaging/internal/notify"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

// NotifyOptions turn on the notification path: the local SES and SMS
// stand-ins, the stream poller that invokes the notifier as the event
// source mapping does, and the flusher.
type NotifyOptions struct {
	// FlushEvery runs the flusher on a timer, as the schedule does in AWS;
	// 0 leaves it to the caller (Stack.Flush), which tests do with a fake
	// clock.
	FlushEvery time.Duration
}

// Notifications is the running notification path.
type Notifications struct {
	SES *seslocal.Server
	SMS *smslocal.Server
	// Bounces is the ses-events function's handler: local SES sends no
	// bounce events, so tests and developers hand it SES's event.
	Bounces func(context.Context, events.SNSEvent) error
	flusher *notify.Flusher
	poller  *streams.Poller
	stop    chan struct{}
	wg      sync.WaitGroup
}

// SESPageURL is the local SES's page, which shows every e-mail sent.
func (n *Notifications) SESPageURL() string { return n.SES.PageURL() }

// Flush sends what is due now, as one scheduled run of the flusher does.
func (n *Notifications) Flush(ctx context.Context) (notify.Result, error) {
	return n.flusher.Flush(ctx)
}

// startNotifications starts the notification path: the notifier, the
// flusher and the bounce handler built as Lambda builds them (package
// compose), each over its own IAM guard, with SES and SMS clients pointed
// at the local stand-ins. The practice's portal address is the local
// site's, so links in e-mails open it.
func (s *Stack) startNotifications(ctx context.Context, o NotifyOptions, st *store.Store, endpoint, messagesTable string, log *slog.Logger) (_ *Notifications, err error) {
	n := &Notifications{stop: make(chan struct{})}
	defer func() {
		if err != nil {
			n.Stop()
		}
	}()
	p, err := st.Practice(ctx, seed.PracticeID)
	if err != nil {
		return nil, err
	}
	if p != nil && p.PortalURL != s.SiteURL+"/portal/" {
		p.PortalURL = s.SiteURL + "/portal/"
		if err := st.PutPractice(ctx, *p); err != nil {
			return nil, err
		}
	}
	if n.SES, err = seslocal.Start(ctx, seslocal.Options{Logger: log}); err != nil {
		return nil, fmt.Errorf("local SES: %w", err)
	}
	if n.SMS, err = smslocal.Start(ctx, smslocal.Options{Logger: log}); err != nil {
		return nil, fmt.Errorf("local SMS: %w", err)
	}
	fn := func(name string) routes.Function {
		f, _ := routes.FunctionNamed(name)
		return f
	}
	if n.flusher, err = senders.Build(ctx, senders.Source{
		Source: s.source(fn(routes.FnNotifyFlush), log),
		SES:    seslocal.NewClient(n.SES.Endpoint()),
		SMS:    smslocal.NewClient(n.SMS.Endpoint()),
	}); err != nil {
		return nil, err
	}
	if n.Bounces, err = reactors.SESEvents(ctx, s.source(fn(routes.FnSESEvents), log)); err != nil {
		return nil, err
	}
	notifier, err := reactors.Notifier(ctx, s.source(fn(routes.FnNotifier), log))
	if err != nil {
		return nil, err
	}
	if n.poller, err = streams.Start(ctx, streams.Options{
		Endpoint: endpoint, Table: messagesTable, Handler: notifier, Function: routes.FnNotifier, Logger: log,
	}); err != nil {
		return nil, fmt.Errorf("stream poller: %w", err)
	}
	if o.FlushEvery > 0 {
		n.wg.Go(func() {
			t := time.NewTicker(o.FlushEvery)
			defer t.Stop()
			for {
				select {
				case <-n.stop:
					return
				case <-t.C:
					if _, err := n.flusher.Flush(context.Background()); err != nil {
						log.Error("flush failed", "error", err)
					}
				}
			}
		})
	}
	return n, nil
}

// Stop ends the flusher, the poller and the stand-ins.
func (n *Notifications) Stop() {
	if n == nil {
		return
	}
	close(n.stop)
	n.wg.Wait()
	if n.poller != nil {
		n.poller.Stop()
	}
	if n.SMS != nil {
		_ = n.SMS.Stop()
	}
	if n.SES != nil {
		_ = n.SES.Stop()
	}
}
