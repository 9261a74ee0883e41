package authz

import (
	"context"
	"slices"

	"github.com/pedsportal/messaging/internal/domain"
)

// Query names the directory (and chart) items one access decision needs.
// Empty fields are not loaded. The repository reads them all in one
// strongly consistent round trip.
type Query struct {
	StaffID   string // the calling staff member
	PatientID string
	// PortalUserID loads that portal user's profile and, with PatientID,
	// the link between the two.
	PortalUserID string
	PoolID       string
	AssigneeID   string // a second staff member, e.g. a new assignee
	// ConversationID loads the conversation header under PatientID: from
	// the family's partition, and from the confidential one only when
	// Confidential is set, which PatientQuery does for staff alone. A
	// guardian's access read therefore never yields a confidential header.
	ConversationID string
	Confidential   bool
}

// Facts are what a Query found. Missing items are nil; what that means is
// decided here, never by the repository.
type Facts struct {
	Staff      *domain.StaffMember
	Patient    *domain.Patient
	PortalUser *domain.PortalUser
	Link       *domain.Link
	// LinkPracticeID is the practice the link belongs to.
	LinkPracticeID string
	Pool           *domain.Pool
	Assignee       *domain.StaffMember
	Conversation   *domain.Conversation
}

// Loader reads the facts of a query.
type Loader interface {
	LoadAccess(ctx context.Context, q Query) (*Facts, error)
}

// Grant is a decided access to one patient.
type Grant struct {
	Patient    domain.PatientRef
	PracticeID string
	// Actor is the caller as the chart records them; a staff member's role
	// is the directory's, not the token's.
	Actor        domain.Party
	Staff        *domain.StaffMember // staff callers
	Record       *domain.Patient     // staff callers: the patient's directory entry
	Link         *domain.Link        // the portal caller's link, or the staff-chosen portal user's
	PortalUser   *domain.PortalUser  // the portal caller, or the staff-chosen portal user
	Pool         *domain.Pool
	Assignee     *domain.StaffMember
	Conversation *domain.Conversation // when Extra.ConversationID was given
	// Audiences are the conversations the caller may see: every one for
	// staff and for the patient's own account, the family's for a
	// guardian. Reads name partitions from it, so a guardian's read never
	// names the confidential one.
	Audiences []domain.Audience
	// ConversationPending says that the conversation named in Extra must
	// still be read from the confidential partition (ConfidentialQuery)
	// and admitted before the grant covers it.
	ConversationPending bool
}

// Sees reports whether the grant reaches conversations of audience a.
func (g *Grant) Sees(a domain.Audience) bool { return slices.Contains(g.Audiences, a.OrFamily()) }

// PreAudiences are the audiences a principal's reads may name before the
// access decision, concurrently with it: staff see every audience of
// their practice, while a portal caller's relationship to the patient is
// not known until the link is read, so only the family's partition is
// read before it, unless this caller was decided to be the patient
// (wasPatient: remembered from an earlier decision in this container,
// which the fresh decision confirms or undoes).
func PreAudiences(p Principal, wasPatient bool) []domain.Audience {
	if p.Side == domain.SideStaff || wasPatient {
		return allAudiences
	}
	return familyOnly
}

// LinkAudiences are the conversations a portal user linked by l may see:
// every one for the patient's own account, the family's for a guardian.
func LinkAudiences(l domain.Link) []domain.Audience {
	if l.Relationship == domain.RelSelf {
		return allAudiences
	}
	return familyOnly
}

// Reach makes the query load the named conversation's confidential
// header too when auds (PreAudiences) include that audience.
func (q *Query) Reach(auds []domain.Audience) {
	q.Confidential = q.ConversationID != "" && slices.Contains(auds, domain.AudienceConfidential)
}

var (
	allAudiences = []domain.Audience{domain.AudienceFamily, domain.AudienceConfidential}
	familyOnly   = []domain.Audience{domain.AudienceFamily}
)

// Extra names further items to check with the patient in the same round trip.
type Extra struct {
	PoolID         string // must be a pool of the patient's practice
	PortalUserID   string // staff only: must be linked to the patient
	AssigneeID     string // staff only: must be active staff of the practice
	ConversationID string // must be a conversation of the patient
	// AnyPortalUser, for staff, loads PortalUserID's profile without
	// requiring a link (linking a new portal user).
	AnyPortalUser bool
}

var errNotEnrolled = domain.Errorf(domain.EForbidden, "your account is not enrolled with a practice")

// PatientQuery is the query for p acting on patientID with extra. Errors:
// ENotFound for a malformed patient or conversation ID; EInvalid naming the
// field for a malformed extra ID.
func PatientQuery(p Principal, patientID string, extra Extra) (Query, error) {
	if !domain.ValidID(patientID) {
		return Query{}, domain.ErrNotFound
	}
	if extra.ConversationID != "" && !domain.ValidConversationID(extra.ConversationID) {
		return Query{}, domain.ErrNotFound
	}
	for _, f := range []struct{ field, id string }{{"poolId", extra.PoolID}, {"portalUserId", extra.PortalUserID}, {"assigneeId", extra.AssigneeID}} {
		if f.id != "" && !domain.ValidID(f.id) {
			return Query{}, domain.Invalid(f.field, "%s is not a valid ID", f.field)
		}
	}
	q := Query{PatientID: patientID, PoolID: extra.PoolID, ConversationID: extra.ConversationID}
	if p.Side == domain.SidePortal {
		q.PortalUserID = p.ID
	} else {
		q.StaffID, q.PortalUserID, q.AssigneeID = p.ID, extra.PortalUserID, extra.AssigneeID
	}
	q.Reach(PreAudiences(p, false))
	return q, nil
}

// ConfidentialQuery is the second access read of the patient's own
// account naming a conversation the first did not find in the family's
// partition: it loads the header from the confidential partition, and is
// issued only after DecidePatient granted g that audience.
func ConfidentialQuery(g *Grant, conversationID string) (Query, error) {
	if !g.Sees(domain.AudienceConfidential) || !domain.ValidConversationID(conversationID) {
		return Query{}, domain.ErrNotFound
	}
	q := Query{PatientID: g.Patient.ID, ConversationID: conversationID, Confidential: true}
	return q, nil
}

// DecidePatient decides whether p may act on patientID from the facts of
// PatientQuery. A patient that does not exist and one that is not the
// caller's give the same ENotFound, and so does a conversation that is not
// the patient's. A pool, portal user or assignee named in extra that is not
// valid for the practice gives EInvalid naming the field.
func DecidePatient(p Principal, patientID string, extra Extra, f *Facts) (*Grant, error) {
	g := &Grant{Actor: domain.Party{ID: p.ID, Side: p.Side}}
	if p.Side == domain.SidePortal {
		u, err := activePortalUser(f)
		if err != nil {
			return nil, err
		}
		if f.Link == nil || f.LinkPracticeID != u.PracticeID {
			return nil, domain.ErrNotFound
		}
		g.Link, g.PortalUser, g.PracticeID = f.Link, u, f.LinkPracticeID
		g.Patient = domain.PatientRef{ID: patientID, DisplayName: f.Link.PatientName}
		g.Actor.Name, g.Actor.Role = u.DisplayName, string(domain.SidePortal)
		g.Actor.Relationship = f.Link.Relationship
		g.Audiences = LinkAudiences(*f.Link)
	} else {
		s, err := activeStaff(f)
		if err != nil {
			return nil, err
		}
		if f.Patient == nil || f.Patient.PracticeID != s.PracticeID {
			return nil, domain.ErrNotFound
		}
		g.Staff, g.Record, g.PracticeID = s, f.Patient, s.PracticeID
		g.Patient = domain.PatientRef{ID: patientID, DisplayName: f.Patient.DisplayName}
		g.Actor.Name, g.Actor.Role = s.DisplayName, string(s.Role)
		g.Audiences = allAudiences
		if extra.PortalUserID != "" {
			u := f.PortalUser
			switch {
			case extra.AnyPortalUser:
				if u == nil || u.PracticeID != g.PracticeID {
					return nil, domain.ErrNotFound
				}
			case f.Link == nil || f.LinkPracticeID != g.PracticeID:
				return nil, domain.Invalid("portalUserId", "that portal user is not linked to this patient")
			case u == nil || !u.Active:
				return nil, domain.Invalid("portalUserId", "that portal account is disabled; the family cannot read messages")
			}
			g.Link, g.PortalUser = f.Link, u
		}
		if extra.AssigneeID != "" {
			a := f.Assignee
			if extra.AssigneeID == p.ID {
				a = s
			}
			if a == nil || !a.Active || a.PracticeID != g.PracticeID {
				return nil, domain.Invalid("assigneeId", "no such staff member in this practice")
			}
			g.Assignee = a
		}
	}
	if extra.PoolID != "" {
		if f.Pool == nil || f.Pool.PracticeID != g.PracticeID {
			return nil, domain.Invalid("poolId", "no such recipient pool")
		}
		g.Pool = f.Pool
	}
	if extra.ConversationID != "" {
		if f.Conversation == nil && p.Side == domain.SidePortal && g.Sees(domain.AudienceConfidential) {
			// The patient's own account: the header may be in the
			// confidential partition, which the first read never names.
			g.ConversationPending = true
			return g, nil
		}
		if err := g.Admit(f.Conversation); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// Admit checks that c, read for the grant's patient, is a conversation
// the grant reaches, and records it. Errors: ENotFound, the same for a
// missing conversation, another patient's and one of an audience the
// caller does not reach.
func (g *Grant) Admit(c *domain.Conversation) error {
	if c == nil || c.Patient.ID != g.Patient.ID || c.PracticeID != g.PracticeID || !g.Sees(c.Audience) {
		return domain.ErrNotFound
	}
	g.Conversation, g.ConversationPending = c, false
	return nil
}

// StaffQuery is the query for a staff-only decision.
func StaffQuery(p Principal) Query { return Query{StaffID: p.ID} }

// DecideStaff returns the calling staff member, who must be active.
// Errors: EForbidden.
func DecideStaff(p Principal, f *Facts) (*domain.StaffMember, error) {
	if p.Side != domain.SideStaff {
		return nil, domain.Errorf(domain.EForbidden, "staff only")
	}
	return activeStaff(f)
}

// PortalUserQuery is the query for a portal caller's own account.
func PortalUserQuery(p Principal) Query { return Query{PortalUserID: p.ID} }

// DecidePortalUser returns the calling portal user, whose account must
// exist and be active. Errors: EForbidden.
func DecidePortalUser(p Principal, f *Facts) (*domain.PortalUser, error) {
	if p.Side != domain.SidePortal {
		return nil, domain.Errorf(domain.EForbidden, "portal users only")
	}
	return activePortalUser(f)
}

func activeStaff(f *Facts) (*domain.StaffMember, error) {
	if f.Staff == nil || !f.Staff.Active {
		return nil, errNotEnrolled
	}
	return f.Staff, nil
}

// activePortalUser lets a practice cut off a compromised parent account at
// once: the flag is read with the link, in the same round trip.
func activePortalUser(f *Facts) (*domain.PortalUser, error) {
	if f.PortalUser == nil || !f.PortalUser.Active {
		return nil, errNotEnrolled
	}
	return f.PortalUser, nil
}

// IsAdmin reports whether the staff member may change links. The right
// comes from the directory record, so a demotion takes effect at the next
// request whatever the token still says.
func IsAdmin(s *domain.StaffMember) bool { return s != nil && s.Role == domain.RoleAdmin }
