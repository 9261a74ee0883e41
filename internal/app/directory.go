package app

import (
	"context"
	"errors"
	"sync"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
)

// PracticeCard is how the portal names the caller's practice: in its
// header, its empty states and its emergency notice.
type PracticeCard struct {
	Name        string `json:"name"`
	Phone       string `json:"phone,omitempty"`
	OfficeHours string `json:"officeHours"` // in plain words: "Mon–Fri 8 AM–5 PM, Sat 9 AM–noon"
}

// ListPatients is the portal's Current Patient list: the patients linked to
// the caller, whose account must be active, and the caller's practice (nil
// when its record cannot be read: the list still goes out). Each patient
// listed gets an audit record before the list goes out. Errors: EForbidden.
func (a *App) ListPatients(ctx context.Context, c *Call) ([]domain.Link, *PracticeCard, error) {
	c.begin(audit.ListPatients, "", "")
	facts, links, accErr, dataErr := both(ctx,
		func(ctx context.Context) (*authz.Facts, error) {
			return a.repo.LoadAccess(ctx, authz.PortalUserQuery(c.Principal))
		},
		func(ctx context.Context) ([]domain.Link, error) { return a.repo.PortalUserLinks(ctx, c.Principal.ID) })
	if accErr != nil {
		return nil, nil, accErr
	}
	u, err := authz.DecidePortalUser(c.Principal, facts)
	if err != nil {
		return nil, nil, err
	}
	if dataErr != nil {
		return nil, nil, dataErr
	}
	// The index is eventually consistent: a link removed a moment ago may
	// still be listed (name and birth date only; every route of the
	// patient reads the link itself, strongly consistent). A link of
	// another practice never is.
	var recs []audit.Record
	var mine []domain.Link
	for _, l := range links {
		if l.PracticeID != u.PracticeID {
			continue
		}
		r := c.record(audit.Success, 200)
		r.PatientID = l.PatientID
		recs, mine = append(recs, r), append(mine, l)
	}
	if err := a.release(ctx, c, recs...); err != nil {
		return nil, nil, err
	}
	// The practice's settings are cached per container (they grant
	// nothing), so this read is rare; without them the page says "the
	// office" and the list still works.
	s, err := a.settings(ctx, u.PracticeID)
	if err != nil {
		a.log.WarnContext(ctx, "practice card: settings unavailable", "practiceId", u.PracticeID, "error", err)
		return mine, nil, nil
	}
	return mine, &PracticeCard{Name: s.Practice.Name, Phone: s.Practice.NurseLine, OfficeHours: s.Calendar.Describe()}, nil
}

// ConfidentialPools are the pools in which the portal caller, linked to a
// patient by l, may start a conversation only the care team sees today:
// none unless l is the patient's own account and the practice's age and
// pools allow it. It is a hint for Write Message; StartConversation
// decides again. Without the practice's settings it offers none.
func (a *App) ConfidentialPools(ctx context.Context, c *Call, l domain.Link) []string {
	if l.Relationship != domain.RelSelf {
		return nil
	}
	s, err := a.settings(ctx, l.PracticeID)
	if err != nil {
		a.log.WarnContext(ctx, "confidential choice: practice settings unavailable", "practiceId", l.PracticeID, "error", err)
		return nil
	}
	var pools []string
	for _, id := range s.Practice.ConfidentialPools {
		if domain.ConfidentialRule(s.Practice, s.Calendar.Zone(), l.PatientDOB, id, c.At) == nil {
			pools = append(pools, id)
		}
	}
	return pools
}

// PortalPools lists the pools a portal user may write to. Errors:
// EForbidden.
func (a *App) PortalPools(ctx context.Context, c *Call) ([]domain.Pool, error) {
	facts, err := a.repo.LoadAccess(ctx, authz.PortalUserQuery(c.Principal))
	if err != nil {
		return nil, err
	}
	u, err := authz.DecidePortalUser(c.Principal, facts)
	if err != nil {
		return nil, err
	}
	return a.repo.Pools(ctx, u.PracticeID)
}

// StaffProfile returns the calling staff member. Errors: EForbidden.
func (a *App) StaffProfile(ctx context.Context, c *Call) (*domain.StaffMember, error) {
	facts, err := a.repo.LoadAccess(ctx, authz.StaffQuery(c.Principal))
	if err != nil {
		return nil, err
	}
	me, err := authz.DecideStaff(c.Principal, facts)
	if err == nil {
		a.practices.Store(me.ID, me.PracticeID)
	}
	return me, err
}

// StaffPools lists the pools of the caller's practice. Errors: EForbidden.
func (a *App) StaffPools(ctx context.Context, c *Call) ([]domain.Pool, error) {
	_, pools, err := staffRead(ctx, a, c, a.repo.Pools)
	return pools, err
}

// ListStaff lists the active staff of the caller's practice. Errors:
// EForbidden.
func (a *App) ListStaff(ctx context.Context, c *Call) ([]domain.StaffMember, error) {
	_, staff, err := staffRead(ctx, a, c, a.repo.StaffMembers)
	return staff, err
}

// SearchLimit caps patient search results: enough to pick from, not a way
// to page through the roster.
const SearchLimit = 25

// SearchPatients finds the practice's patients by the start of name parts
// ("ava riv") or a date of birth (YYYY-MM-DD or MM/DD/YYYY), through the
// search index. Each patient returned gets an audit record before the
// results go out. Errors: EInvalid, EForbidden.
func (a *App) SearchPatients(ctx context.Context, c *Call, query string) ([]domain.Patient, error) {
	c.begin(audit.SearchPatients, "", "")
	q, err := domain.ParseSearch(query, domain.SearchPatients)
	if err != nil {
		return nil, err
	}
	_, found, err := staffRead(ctx, a, c, func(ctx context.Context, practiceID string) ([]domain.Patient, error) {
		return a.repo.SearchPatients(ctx, practiceID, q, SearchLimit)
	})
	if err != nil {
		return nil, err
	}
	recs := make([]audit.Record, len(found))
	for i, p := range found {
		recs[i] = c.record(audit.Success, 200)
		recs[i].PatientID = p.ID
	}
	if err := a.release(ctx, c, recs...); err != nil {
		return nil, err
	}
	return found, nil
}

// PatientView is a patient's directory entry with the portal users linked
// to it.
type PatientView struct {
	Patient domain.Patient
	Links   []domain.Link
	// Warnings tell staff what the links mean for confidentiality.
	Warnings []string
}

// linkWarnings warns when the patient's own account shares its e-mail
// address with a guardian's: replies only the care team sees are then not
// e-mailed to it (package notify), which the patient should know.
func linkWarnings(links []domain.Link) []string {
	var out []string
	for _, own := range links {
		if own.Relationship != domain.RelSelf || own.EmailKey == "" {
			continue
		}
		for _, l := range links {
			if l.Relationship != domain.RelSelf && l.EmailKey == own.EmailKey {
				out = append(out, own.PortalUserName+"'s own portal account uses the same e-mail address as "+l.PortalUserName+
					"'s: replies only the care team sees will not be e-mailed to it. Ask for an address of their own.")
			}
		}
	}
	return out
}

// ViewPatient returns a patient of the caller's practice and its linked
// portal users. Errors: ENotFound, EForbidden.
func (a *App) ViewPatient(ctx context.Context, c *Call, patientID string) (*PatientView, error) {
	c.begin(audit.ViewPatient, patientID, "")
	links, g, err := readPatient(ctx, a, c, patientID, authz.Extra{}, false, func(ctx context.Context, _ []domain.Audience) ([]domain.Link, error) {
		return a.repo.PatientLinks(ctx, patientID)
	})
	if err != nil {
		return nil, err
	}
	return &PatientView{Patient: *g.Record, Links: links, Warnings: linkWarnings(links)}, nil
}

// LinkRequest links a portal user to a patient.
type LinkRequest struct {
	PatientID, PortalUserID string
	Relationship            domain.Relationship
}

// Link lets a practice admin link a portal user to a patient, or change
// the relationship; the link and its audit record commit together.
// Errors: EForbidden (not an admin in the directory), ENotFound, EInvalid.
func (a *App) Link(ctx context.Context, c *Call, in LinkRequest) (*domain.Link, error) {
	c.begin(audit.Link, in.PatientID, "")
	if !in.Relationship.Valid() {
		return nil, domain.Invalid("relationship", "relationship must be parent, guardian or self")
	}
	if !domain.ValidID(in.PortalUserID) {
		return nil, domain.ErrNotFound
	}
	// A link as the patient's own account opens the confidential
	// conversations, so the links it would join are read beside the access
	// read and checked first.
	g, links, err, linksErr := grantAlongside(ctx, a, c, in.PatientID, authz.Extra{PortalUserID: in.PortalUserID, AnyPortalUser: true},
		func(ctx context.Context, _ []domain.Audience) (linkSets, error) {
			if in.Relationship != domain.RelSelf {
				return linkSets{}, nil
			}
			var s linkSets
			var pe, ue error
			var wg sync.WaitGroup
			wg.Go(func() { defer recovered(&pe); s.patient, pe = a.repo.PatientLinks(ctx, in.PatientID) })
			wg.Go(func() { defer recovered(&ue); s.user, ue = a.repo.PortalUserLinks(ctx, in.PortalUserID) })
			wg.Wait()
			return s, errors.Join(pe, ue)
		})
	if err != nil {
		return nil, err
	}
	if !authz.IsAdmin(g.Staff) {
		return nil, errNotAdmin
	}
	if linksErr != nil {
		return nil, linksErr
	}
	if err := ownAccountRule(in, g.Record.DisplayName, links); err != nil {
		return nil, err
	}
	l := domain.Link{
		PatientID: in.PatientID, PortalUserID: in.PortalUserID, Relationship: in.Relationship,
		PatientName: g.Record.DisplayName, PatientDOB: g.Record.DateOfBirth, PortalUserName: g.PortalUser.DisplayName,
		EmailKey: domain.EmailKey(g.PortalUser.Email), LinkedAt: c.At, LinkedBy: c.Principal.ID,
	}
	rec := c.record(audit.Success, 200)
	rec.TargetID = in.PortalUserID
	err = a.repo.PutLink(ctx, g.PracticeID, l, rec)
	a.committed(ctx, c, rec, err)
	if err != nil {
		return nil, err
	}
	return &l, nil
}

// linkSets are the links a "self" link joins: the patient's and the
// portal user's.
type linkSets struct{ patient, user []domain.Link }

// ownAccountRule keeps "self" to one account per patient and one patient
// per account, and never turns a guardian's link into the patient's own:
// that would open the patient's confidential conversations to the
// guardian. Such a change takes two deliberate steps (unlink, then link).
// Errors: EConflict naming what to do.
func ownAccountRule(in LinkRequest, patientName string, s linkSets) error {
	if in.Relationship != domain.RelSelf {
		return nil
	}
	for _, l := range s.patient {
		switch {
		case l.PortalUserID != in.PortalUserID && l.Relationship == domain.RelSelf:
			return domain.Errorf(domain.EConflict, "%s is already linked as %s's own account; unlink it first", l.PortalUserName, patientName)
		case l.PortalUserID == in.PortalUserID && l.Relationship != domain.RelSelf:
			return domain.Errorf(domain.EConflict, "this account is linked as %s's %s; a patient's own account must be a login of their own. If it really is, unlink it first, then link it again", patientName, l.Relationship)
		}
	}
	for _, l := range s.user {
		if l.PatientID != in.PatientID && l.Relationship == domain.RelSelf {
			return domain.Errorf(domain.EConflict, "this account is already another patient's own account")
		}
	}
	return nil
}

// Unlink lets a practice admin remove a portal user's link; it takes
// effect on that user's next request. Errors: EForbidden, ENotFound.
func (a *App) Unlink(ctx context.Context, c *Call, patientID, portalUserID string) error {
	c.begin(audit.Unlink, patientID, "")
	if !domain.ValidID(portalUserID) {
		return domain.ErrNotFound
	}
	g, err := a.grant(ctx, c, patientID, authz.Extra{})
	if err != nil {
		return err
	}
	if !authz.IsAdmin(g.Staff) {
		return errNotAdmin
	}
	rec := c.record(audit.Success, 204)
	rec.TargetID = portalUserID
	err = a.repo.DeleteLink(ctx, patientID, portalUserID, rec)
	a.committed(ctx, c, rec, err)
	return err
}

var errNotAdmin = domain.Errorf(domain.EForbidden, "only a practice admin may change links")
