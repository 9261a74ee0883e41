package app

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
)

// NewsWindow is how many of a patient's most recently active
// conversations the portal summary looks at. A conversation with a message
// the family has not read had activity when that message came, so it is
// among them unless the family has this many newer conversations.
const NewsWindow = 50

// PortalSummary tells a family where news is, with no message content: for
// each linked patient, how many conversations hold messages they have not
// read and when that patient's conversations last changed.
type PortalSummary struct {
	Patients []PatientNews `json:"patients"`
	// Unread is the number of conversations with unread messages, over
	// every linked patient.
	Unread int `json:"unread"`
}

// PatientNews is one patient's line of the portal summary.
type PatientNews struct {
	PatientID string `json:"patientId"`
	// Unread counts conversations with messages the family has not read;
	// UnreadMessages counts those messages.
	Unread         int `json:"unread"`
	UnreadMessages int `json:"unreadMessages"`
	// LatestActivityAt is the newest message; LatestReadAt the office's
	// newest read (a read receipt the family's open page shows).
	LatestActivityAt *time.Time `json:"latestActivityAt"`
	LatestReadAt     *time.Time `json:"latestReadAt"`
}

// NewsReader reads one patient's news for the portal summary.
type NewsReader interface {
	PatientNews(ctx context.Context, patientID string, auds []domain.Audience, window int) (PatientNews, error)
}

// PortalNews is the portal's polled summary. It reads the caller's links
// and, alongside, the news of the patients linked to them on the last call
// to this container (so a warm poll costs the access read and one audit
// put); news of a patient the fresh links do not name is discarded, and a
// patient newly linked is read after. Each patient summarised gets an audit
// record before the summary goes out. Errors: EForbidden.
func (a *App) PortalNews(ctx context.Context, c *Call) (PortalSummary, error) {
	c.begin(audit.ReadSummary, "", "")
	var known []reach
	if v, ok := a.linkedPatients.Load(c.Principal.ID); ok {
		known = v.([]reach)
	}
	var links []domain.Link
	var linksErr error
	facts, news, accErr, _ := both(ctx,
		func(ctx context.Context) (*authz.Facts, error) {
			var wg sync.WaitGroup
			wg.Go(func() {
				defer recovered(&linksErr)
				links, linksErr = a.repo.PortalUserLinks(ctx, c.Principal.ID)
			})
			f, err := a.repo.LoadAccess(ctx, authz.PortalUserQuery(c.Principal))
			wg.Wait()
			return f, err
		},
		func(ctx context.Context) (map[string]PatientNews, error) { return a.patientsNews(ctx, known), nil })
	if accErr != nil {
		return PortalSummary{}, accErr
	}
	u, err := authz.DecidePortalUser(c.Principal, facts)
	if err != nil {
		return PortalSummary{}, err
	}
	if linksErr != nil {
		return PortalSummary{}, linksErr
	}
	// As for the Current Patient list, the links come from an eventually
	// consistent index; only the caller's practice counts.
	// Each link says what its news may count: a guardian's, the family's
	// conversations only (the same rule as every read of the chart).
	var fresh []reach
	for _, l := range links {
		if l.PracticeID == u.PracticeID && !slices.ContainsFunc(fresh, func(r reach) bool { return r.id == l.PatientID }) {
			fresh = append(fresh, reach{l.PatientID, authz.LinkAudiences(l)})
		}
	}
	a.linkedPatients.Store(c.Principal.ID, fresh)
	// News read beside the links for other audiences than they now give
	// is read again, and so is news of a patient newly linked.
	var missing []reach
	for _, r := range fresh {
		if i := slices.IndexFunc(known, func(k reach) bool { return k.id == r.id }); i < 0 || !slices.Equal(known[i].auds, r.auds) {
			delete(news, r.id)
			missing = append(missing, r)
		}
	}
	for id, n := range a.patientsNews(ctx, missing) {
		news[id] = n
	}
	sum := PortalSummary{Patients: []PatientNews{}}
	var recs []audit.Record
	for _, r := range fresh {
		id := r.id
		n, ok := news[id]
		if !ok {
			return PortalSummary{}, domain.Unavailable(errors.New("a patient's news could not be read"))
		}
		sum.Patients = append(sum.Patients, n)
		sum.Unread += n.Unread
		r := c.record(audit.Success, 200)
		r.PatientID = id
		recs = append(recs, r)
	}
	if err := a.release(ctx, c, recs...); err != nil {
		return PortalSummary{}, err
	}
	return sum, nil
}

// reach is a linked patient and the audiences its news may count.
type reach struct {
	id   string
	auds []domain.Audience
}

// patientsNews reads the news of each reach concurrently; a patient whose
// read failed is left out (and logged), so the caller can read it again or
// fail.
func (a *App) patientsNews(ctx context.Context, rs []reach) map[string]PatientNews {
	out := make(map[string]PatientNews, len(rs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, r := range rs {
		id := r.id
		wg.Go(func() {
			var err error
			defer func() {
				if err != nil {
					a.log.WarnContext(ctx, "portal summary: news unavailable", "patientId", id, "error", err)
				}
			}()
			defer recovered(&err)
			n, err := a.repo.PatientNews(ctx, id, r.auds, NewsWindow)
			if err == nil {
				mu.Lock()
				out[id] = n
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out
}
