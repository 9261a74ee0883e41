package authz

import (
	"context"

	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/store"
)

// Loader reads everything an access decision needs in one round trip.
type Loader interface {
	LoadAccess(ctx context.Context, q store.AccessQuery) (*store.Access, error)
}

var _ Loader = (*store.Store)(nil)

// Grant is a decided access to one patient.
type Grant struct {
	Patient    domain.PatientRef
	PracticeID string
	Actor      domain.Party
	Staff      *domain.StaffMember // staff callers
	Record     *domain.Patient     // staff callers: the patient's directory entry
	Link       *domain.Link        // the portal caller's link, or the staff-chosen portal user's
	Pool       *domain.Pool
	Assignee   *domain.StaffMember
}

// Extra names further items to check with the patient in the same round trip.
type Extra struct {
	PoolID       string // must be a pool of the patient's practice
	PortalUserID string // staff only: must be linked to the patient
	AssigneeID   string // staff only: must be active staff of the practice
}

var errNotEnrolled = domain.Errorf(domain.EForbidden, "your account is not enrolled with a practice")

// Patient decides whether p may act on patientID. A patient that does not
// exist and one that is not the caller's give the same ENotFound. A pool,
// portal user or assignee named in extra that is not valid for the practice
// gives EInvalid naming the field.
func Patient(ctx context.Context, l Loader, p Principal, patientID string, extra Extra) (*Grant, error) {
	if !domain.ValidID(patientID) {
		return nil, domain.ErrNotFound
	}
	for field, id := range map[string]string{"poolId": extra.PoolID, "portalUserId": extra.PortalUserID, "assigneeId": extra.AssigneeID} {
		if id != "" && !domain.ValidID(id) {
			return nil, domain.Invalid(field, "%s is not a valid ID", field)
		}
	}
	q := store.AccessQuery{PatientID: patientID, PoolID: extra.PoolID}
	if p.Side == domain.SidePortal {
		q.PortalUserID = p.ID
	} else {
		q.StaffID, q.PortalUserID, q.AssigneeID = p.ID, extra.PortalUserID, extra.AssigneeID
	}
	acc, err := l.LoadAccess(ctx, q)
	if err != nil {
		return nil, err
	}
	g := &Grant{Actor: domain.Party{ID: p.ID, Role: p.Role(), Side: p.Side}}
	if p.Side == domain.SidePortal {
		if acc.Link == nil {
			return nil, domain.ErrNotFound
		}
		g.Link, g.PracticeID = acc.Link, acc.LinkPracticeID
		g.Patient = domain.PatientRef{ID: patientID, DisplayName: acc.Link.PatientName}
		g.Actor.Name = acc.Link.PortalUserName
	} else {
		if acc.Staff == nil || !acc.Staff.Active {
			return nil, errNotEnrolled
		}
		if acc.Patient == nil || acc.Patient.PracticeID != acc.Staff.PracticeID {
			return nil, domain.ErrNotFound
		}
		g.Staff, g.Record, g.PracticeID = acc.Staff, acc.Patient, acc.Staff.PracticeID
		g.Patient = domain.PatientRef{ID: patientID, DisplayName: acc.Patient.DisplayName}
		g.Actor.Name = acc.Staff.DisplayName
		if extra.PortalUserID != "" {
			if acc.Link == nil {
				return nil, domain.Invalid("portalUserId", "that portal user is not linked to this patient")
			}
			g.Link = acc.Link
		}
		if extra.AssigneeID != "" {
			a := acc.Assignee
			if extra.AssigneeID == p.ID {
				a = acc.Staff
			}
			if a == nil || !a.Active || a.PracticeID != g.PracticeID {
				return nil, domain.Invalid("assigneeId", "no such staff member in this practice")
			}
			g.Assignee = a
		}
	}
	if extra.PoolID != "" {
		if acc.Pool == nil || acc.Pool.PracticeID != g.PracticeID {
			return nil, domain.Invalid("poolId", "no such recipient pool")
		}
		g.Pool = acc.Pool
	}
	return g, nil
}

// Staff loads the calling staff member, who must be active. Errors:
// EForbidden.
func Staff(ctx context.Context, l Loader, p Principal) (*domain.StaffMember, error) {
	if p.Side != domain.SideStaff {
		return nil, domain.Errorf(domain.EForbidden, "staff only")
	}
	acc, err := l.LoadAccess(ctx, store.AccessQuery{StaffID: p.ID})
	if err != nil {
		return nil, err
	}
	if acc.Staff == nil || !acc.Staff.Active {
		return nil, errNotEnrolled
	}
	return acc.Staff, nil
}
