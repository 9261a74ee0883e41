package devstack

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pedsportal/messaging/internal/escalate"
	"github.com/pedsportal/messaging/internal/lambdaapp/reactors"
	"github.com/pedsportal/messaging/internal/routes"
)

// escalation is the local stand-in for the escalator's schedule.
type escalation struct {
	e    *escalate.Escalator
	stop chan struct{}
	wg   sync.WaitGroup
}

// startEscalation builds the escalator as Lambda builds it, over its own
// IAM guard, and runs it every `every` (0: only when Escalate is called,
// which tests do with a fake clock).
func (s *Stack) startEscalation(ctx context.Context, every time.Duration, log *slog.Logger) error {
	f, _ := routes.FunctionNamed(routes.FnEscalate)
	e, err := reactors.Escalator(ctx, s.source(f, log))
	if err != nil {
		return err
	}
	s.escalation = &escalation{e: e, stop: make(chan struct{})}
	if every > 0 {
		s.escalation.wg.Go(func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-s.escalation.stop:
					return
				case <-t.C:
					if _, err := e.Run(context.Background()); err != nil {
						log.Error("escalation failed", "error", err)
					}
				}
			}
		})
	}
	return nil
}

// Escalate runs one check of response targets, as one scheduled run does.
func (s *Stack) Escalate(ctx context.Context) (escalate.Result, error) {
	return s.escalation.e.Run(ctx)
}

func (e *escalation) close() {
	if e == nil {
		return
	}
	close(e.stop)
	e.wg.Wait()
}
