package app

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
)

// PortalUserSearchLimit caps the portal users one search returns: enough
// to pick a family member from, not a way to list the practice's parents.
const PortalUserSearchLimit = 10

// PortalUserMatch is a portal user an admin found, with the user's links
// in the practice.
type PortalUserMatch struct {
	User  domain.PortalUser
	Links []domain.Link
}

// SearchPortalUsers lets a practice admin find the practice's portal users
// by the start of name parts ("ana riv") or of an e-mail address (a word
// with "@"), to link one to a patient. It reads the search index, then
// each account found (strongly consistent: a disabled or renamed account
// shows as it is now, and one that no longer matches is left out) and its
// links. The answer names each account's patients by ID only, so it
// releases no patient data and leaves one audit record, filed under the
// actor (a failure after it was stored adds a failed one). The role is the
// directory record's. Errors: EInvalid, EForbidden (not an admin).
func (a *App) SearchPortalUsers(ctx context.Context, c *Call, query string) ([]PortalUserMatch, error) {
	c.begin(audit.SearchPortalUsers, "", "")
	q, err := domain.ParseSearch(query, domain.SearchPortalUsers)
	if err != nil {
		return nil, err
	}
	me, ids, err := staffRead(ctx, a, c, func(ctx context.Context, practiceID string) ([]string, error) {
		return a.repo.SearchPortalUsers(ctx, practiceID, q, PortalUserSearchLimit)
	})
	if err != nil {
		return nil, err
	}
	if !authz.IsAdmin(me) {
		// Whatever the search found is discarded.
		return nil, errNotAdminSearch
	}
	// The search itself is done: its record is stored while the accounts
	// and their links are read, so the whole answer takes two round trips,
	// and nothing goes out before the record is stored.
	var relErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer recovered(&relErr)
		relErr = a.release(ctx, c, c.record(audit.Success, 200))
	})
	users, links, err := a.accountsAndLinks(ctx, ids)
	wg.Wait()
	if relErr != nil {
		return nil, relErr
	}
	if err != nil {
		// The request fails after its success record was stored: Finish
		// adds the failure, so the trail shows that nothing was served.
		c.recorded = false
		return nil, err
	}
	out := []PortalUserMatch{}
	for _, id := range ids {
		u, ok := users[id]
		// Another practice's account is never shown, and an index entry
		// the account no longer matches (renamed a moment ago) is dropped.
		if !ok || u.PracticeID != me.PracticeID || !stillMatches(q, u) {
			continue
		}
		m := PortalUserMatch{User: u}
		for _, l := range links[id] {
			if l.PracticeID == me.PracticeID {
				m.Links = append(m.Links, l)
			}
		}
		out = append(out, m)
	}
	return out, nil
}

var errNotAdminSearch = domain.Errorf(domain.EForbidden, "only a practice admin may search portal users")

// stillMatches checks q against the account as read now.
func stillMatches(q domain.SearchQuery, u domain.PortalUser) bool {
	if q.Email != "" && !strings.HasPrefix(domain.EmailToken(u.Email), q.Email) {
		return false
	}
	return q.MatchesNames(domain.NameTokens(u.DisplayName))
}

// accountsAndLinks reads the accounts ids name and each one's links, all
// at once: one round trip.
func (a *App) accountsAndLinks(ctx context.Context, ids []string) (map[string]domain.PortalUser, map[string][]domain.Link, error) {
	users := map[string]domain.PortalUser{}
	links := make(map[string][]domain.Link, len(ids))
	if len(ids) == 0 {
		return users, links, nil
	}
	var (
		mu   sync.Mutex
		errs = make([]error, len(ids)+1)
		wg   sync.WaitGroup
	)
	wg.Go(func() {
		defer recovered(&errs[0])
		found, err := a.repo.PortalUsers(ctx, ids)
		for _, u := range found {
			users[u.ID] = u
		}
		errs[0] = err
	})
	for i, id := range ids {
		wg.Go(func() {
			defer recovered(&errs[i+1])
			l, err := a.repo.PortalUserLinks(ctx, id)
			mu.Lock()
			links[id] = l
			mu.Unlock()
			errs[i+1] = err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	return users, links, nil
}
