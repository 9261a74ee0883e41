// Package seed is the one demo data set, used by `make dev`, the end-to-end
// tests and the browser tests: a practice with a doctor, a nurse, a front
// desk user and an admin, a parent with two children, a parent with one,
// and conversations in several states.
package seed

import (
	"context"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/directory"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/store"
)

// PracticeID is the demo practice.
const PracticeID = "prac-maple-grove"

// User is a demo login: what the development issuer mints tokens for.
type User struct {
	Sub      string
	Username string
	Name     string
	Side     domain.Side
	Groups   []string // staff roles
}

// Demo user subs, for tests.
const (
	DrPatel      = "11111111-0000-4000-8000-000000000001"
	NurseKim     = "11111111-0000-4000-8000-000000000002"
	DeskLee      = "11111111-0000-4000-8000-000000000003"
	AdminGarcia  = "11111111-0000-4000-8000-000000000004"
	ParentRivera = "22222222-0000-4000-8000-000000000001"
	ParentChen   = "22222222-0000-4000-8000-000000000002"
	// ParentNoLinks is a portal login with no patients, to show deny by default.
	ParentNoLinks = "22222222-0000-4000-8000-000000000003"
	// ParentLuis is Mateo's second guardian, who chose no notifications.
	ParentLuis = "22222222-0000-4000-8000-000000000004"
	// ParentOkafor is Noah's mother; TeenNoah is Noah's own account
	// (relationship self), who can write to his care team confidentially.
	ParentOkafor = "22222222-0000-4000-8000-000000000005"
	TeenNoah     = "22222222-0000-4000-8000-000000000006"
)

// Demo patient IDs: opaque, as a practice-management system would assign,
// because IDs travel in URLs and logs and must not spell out a name.
const (
	Mateo = "pt-7K2M9Q4D"
	Sofia = "pt-4T8W1C6N"
	Lily  = "pt-9H3X6B2R"
	Noah  = "pt-6P5V8J3K" // 14: has his own account
)

// Demo pool IDs.
const (
	PoolFrontDesk = "pool-front-desk"
	PoolNurse     = "pool-nurse-line"
	PoolBilling   = "pool-billing"
	PoolDrPatel   = "pool-dr-patel"
)

// TemplateAfterHours is the demo practice's practice-wide quick reply.
const TemplateAfterHours = "tpl-after-hours"

// NurseLine is the demo practice's nurse line, a fictional 555 number.
const NurseLine = "+1 555-555-0142"

// Demo conversation IDs, fixed so that sample events and docs can name them.
const (
	ConvRash       = "01KSEED0000000000000000001"
	ConvEar        = "01KSEED0000000000000000002"
	ConvSchoolForm = "01KSEED0000000000000000003"
	ConvBilling    = "01KSEED0000000000000000004"
	ConvFluClinic  = "01KSEED0000000000000000005"
	ConvSportsForm = "01KSEED0000000000000000006"
	// ConvNoahPrivate is confidential: Noah and his care team only.
	ConvNoahPrivate = "01KSEED0000000000000000007"
)

// Users returns every demo login.
func Users() []User {
	return []User{
		{DrPatel, "dr.patel", "Dr. Anika Patel", domain.SideStaff, []string{"doctor"}},
		{NurseKim, "nurse.kim", "Jordan Kim, RN", domain.SideStaff, []string{"nurse"}},
		{DeskLee, "desk.lee", "Sam Lee", domain.SideStaff, []string{"frontdesk"}},
		{AdminGarcia, "admin.garcia", "Maria Garcia", domain.SideStaff, []string{"admin"}},
		{ParentRivera, "parent.rivera", "Ana Rivera", domain.SidePortal, nil},
		{ParentChen, "parent.chen", "Wei Chen", domain.SidePortal, nil},
		{ParentNoLinks, "parent.new", "Jamie Doe", domain.SidePortal, nil},
		{ParentLuis, "parent.luis", "Luis Rivera", domain.SidePortal, nil},
		{ParentOkafor, "parent.okafor", "Grace Okafor", domain.SidePortal, nil},
		{TeenNoah, "teen.noah", "Noah Okafor", domain.SidePortal, nil},
	}
}

// UserByName returns the demo user with that username.
func UserByName(username string) (User, bool) {
	for _, u := range Users() {
		if u.Username == username {
			return u, true
		}
	}
	return User{}, false
}

// Writer is what seeding needs from the store.
type Writer interface {
	directory.Writer
	authz.Loader
	app.ChartWriter
}

var _ Writer = (*store.Store)(nil)

// DirectoryFile is the demo practice as a directory file, the same format
// DevOps loads into a deployed stack.
func DirectoryFile() *directory.File {
	f := &directory.File{
		Practice: domain.Practice{
			ID: PracticeID, Name: "Maple Grove Pediatrics", TimeZone: "America/New_York",
			OfficeHours: map[string][]string{
				"mon": {"08:00-17:00"}, "tue": {"08:00-17:00"}, "wed": {"08:00-17:00"}, "thu": {"08:00-17:00"},
				"fri": {"08:00-17:00"}, "sat": {"09:00-12:00"}, "sun": {},
			},
			Holidays:  []string{"2026-12-24", "2026-12-25", "2027-01-01"},
			NurseLine: NurseLine,
			// From 12, a patient's own account may write to the doctor
			// or the nurse line so that only the care team reads it.
			ConfidentialFromAge: 12,
			ConfidentialPools:   []string{PoolDrPatel, PoolNurse},
		},
		Pools: []directory.Pool{
			{ID: PoolFrontDesk, Name: "Front desk", ResponseTarget: "1d"},
			{ID: PoolNurse, Name: "Nurse line", ResponseTarget: "4h"},
			{ID: PoolBilling, Name: "Billing", ResponseTarget: "2d"},
			{ID: PoolDrPatel, Name: "Dr. Patel", DoctorID: DrPatel, ResponseTarget: "1d"},
		},
		Patients: []directory.Patient{
			{ID: Mateo, DisplayName: "Mateo Rivera", DateOfBirth: "2017-03-14"},
			{ID: Sofia, DisplayName: "Sofia Rivera", DateOfBirth: "2020-08-02"},
			{ID: Lily, DisplayName: "Lily Chen", DateOfBirth: "2019-11-30"},
			{ID: Noah, DisplayName: "Noah Okafor", DateOfBirth: "2012-04-18"},
		},
		Links: []directory.Link{
			{PatientID: Mateo, PortalUserID: ParentRivera, Relationship: domain.RelParent},
			{PatientID: Sofia, PortalUserID: ParentRivera, Relationship: domain.RelParent},
			{PatientID: Lily, PortalUserID: ParentChen, Relationship: domain.RelParent},
			{PatientID: Mateo, PortalUserID: ParentLuis, Relationship: domain.RelGuardian},
			{PatientID: Noah, PortalUserID: ParentOkafor, Relationship: domain.RelParent},
			{PatientID: Noah, PortalUserID: TeenNoah, Relationship: domain.RelSelf},
		},
		Templates: []directory.Template{
			{ID: TemplateAfterHours, Title: "Office hours and nurse line",
				Body: "Thank you for writing about {childFirstName}. Our office hours are {officeHours}. If it can't wait, call our nurse line at {nurseLine}; in an emergency, call 911."},
			{ID: "tpl-fever", PoolID: PoolNurse, Title: "Fever advice",
				Body: "Thanks for letting us know about {childFirstName}'s fever. Keep {childFirstName} drinking fluids and check the temperature every 4 hours. Call {nurseLine} if it goes above 104°F or lasts more than 3 days."},
			{ID: "tpl-billing", PoolID: PoolBilling, Title: "Billing question",
				Body: "Thank you for your billing question about {childFirstName}. Our billing team will look into it and reply within 2 business days."},
		},
	}
	// Where the demo users want to be told of new messages: Ana by e-mail,
	// Wei by e-mail and text, Luis not at all; staff get digests of the
	// pools they work.
	contact := map[string]directory.PortalUser{
		ParentRivera: {Email: "ana.rivera@example.com", Notify: "email"},
		ParentChen:   {Email: "wei.chen@example.com", Phone: "+15555550102", Notify: "both"},
		ParentLuis:   {Email: "luis.rivera@example.com", Notify: "none"},
		ParentOkafor: {Email: "grace.okafor@example.com", Notify: "email"},
		TeenNoah:     {Email: "noah.okafor@example.com", Notify: "email"},
	}
	pools := map[string][]string{NurseKim: {PoolNurse}, DeskLee: {PoolFrontDesk, PoolBilling}, DrPatel: {PoolDrPatel}}
	for _, u := range Users() {
		if u.Side == domain.SideStaff {
			st := directory.Staff{ID: u.Sub, DisplayName: u.Name, Role: domain.StaffRole(u.Groups[0])}
			if p := pools[u.Sub]; p != nil {
				st.Email, st.NotifyPools = u.Username+"@maplegrove.example", p
			}
			f.Staff = append(f.Staff, st)
		} else {
			c := contact[u.Sub]
			f.PortalUsers = append(f.PortalUsers, directory.PortalUser{ID: u.Sub, DisplayName: u.Name, Email: c.Email, Phone: c.Phone, Notify: c.Notify})
		}
	}
	return f
}

// Directory writes the demo practice, staff, pools, patients, portal users
// and links.
func Directory(ctx context.Context, w Writer) error {
	return directory.Load(ctx, w, DirectoryFile(), AdminGarcia, func(string, int) {})
}

// Conversations writes demo conversations in several states, dated relative
// to now: an open question waiting for staff, an answered one the parent
// has not read, a closed one, and one a staff member started.
func Conversations(ctx context.Context, w Writer, now time.Time) error {
	staff := func(sub string) domain.Party {
		u := mustUser(sub)
		return domain.Party{ID: u.Sub, Name: u.Name, Role: u.Groups[0], Side: domain.SideStaff}
	}
	portal := func(sub string, rel domain.Relationship) domain.Party {
		u := mustUser(sub)
		return domain.Party{ID: u.Sub, Name: u.Name, Role: "portal", Side: domain.SidePortal, Relationship: rel}
	}
	parent := func(sub string) domain.Party { return portal(sub, domain.RelParent) }
	type msg struct {
		from domain.Party
		ago  time.Duration
		body string
	}
	type conv struct {
		id      string
		patient domain.PatientRef
		pool    domain.PoolRef
		subject string
		msgs    []msg
		closed  bool
		read    domain.Side // side that has read everything, "" for none
		aud     domain.Audience
	}
	mateo := domain.PatientRef{ID: Mateo, DisplayName: "Mateo Rivera"}
	sofia := domain.PatientRef{ID: Sofia, DisplayName: "Sofia Rivera"}
	lily := domain.PatientRef{ID: Lily, DisplayName: "Lily Chen"}
	nurse := domain.PoolRef{ID: PoolNurse, Name: "Nurse line"}
	desk := domain.PoolRef{ID: PoolFrontDesk, Name: "Front desk"}
	billing := domain.PoolRef{ID: PoolBilling, Name: "Billing"}
	drPatel := domain.PoolRef{ID: PoolDrPatel, Name: "Dr. Patel"}
	noah := domain.PatientRef{ID: Noah, DisplayName: "Noah Okafor"}
	convs := []conv{
		{ConvRash, mateo, nurse, "Rash after starting amoxicillin", []msg{
			{parent(ParentRivera), 50 * time.Minute, "Mateo started amoxicillin on Monday and now has a red, blotchy rash on his chest. No fever, no trouble breathing. Should we stop the medicine?"},
		}, false, "", ""},
		{ConvEar, sofia, drPatel, "Follow-up on ear infection", []msg{
			{parent(ParentRivera), 26 * time.Hour, "Sofia finished her antibiotics yesterday. She still tugs at her left ear at night. Does she need a recheck?"},
			{staff(DrPatel), 20 * time.Hour, "Thanks for the update. Some ear tugging can last a few days. If it continues past Friday or she gets a fever, please book a recheck."},
		}, false, domain.SideStaff, ""},
		{ConvSchoolForm, mateo, desk, "School physical form", []msg{
			{parent(ParentRivera), 9 * 24 * time.Hour, "Can you fill out Mateo's school physical form? I uploaded it at the front desk."},
			{staff(DeskLee), 8 * 24 * time.Hour, "Done: the signed form is ready for pickup at the front desk."},
			{parent(ParentRivera), 8*24*time.Hour - time.Hour, "Picked it up, thank you!"},
		}, true, domain.SidePortal, ""},
		{ConvBilling, lily, billing, "Question about last statement", []msg{
			{parent(ParentChen), 3 * 24 * time.Hour, "The statement from the last visit shows a balance, but I thought the visit was covered. Can you check?"},
		}, false, "", ""},
		{ConvFluClinic, lily, nurse, "Flu vaccine clinic reminder", []msg{
			{staff(NurseKim), 5 * time.Hour, "Hi! Lily is due for her flu vaccine. We have walk-in clinic hours Saturday 9–12. Reply here if you have any questions."},
		}, false, "", ""},
		{ConvSportsForm, noah, desk, "Sports physical for soccer", []msg{
			{parent(ParentOkafor), 2 * 24 * time.Hour, "Noah needs a sports physical before soccer tryouts next month. Which days do you have openings?"},
			{staff(DeskLee), 47 * time.Hour, "We have openings Tuesday at 3:30 and Thursday at 4:00. Reply with the one that works and we'll book it."},
		}, false, domain.SideStaff, ""},
		{ConvNoahPrivate, noah, drPatel, "Question for Dr. Patel", []msg{
			{portal(TeenNoah, domain.RelSelf), 3 * time.Hour, "I've been feeling really anxious before school most mornings. Can I talk to Dr. Patel about it at my next visit without my parents in the room?"},
		}, false, "", domain.AudienceConfidential},
	}
	for i, c := range convs {
		first := c.msgs[0]
		at := now.Add(-first.ago).UTC()
		portalUser := map[string]string{Lily: ParentChen, Noah: ParentOkafor}[c.patient.ID]
		if portalUser == "" {
			portalUser = ParentRivera
		}
		if c.aud == domain.AudienceConfidential {
			portalUser = TeenNoah
		}
		// The same rule the API uses decides who starts unread and who is
		// the assignee.
		h, m := app.NewConversation(c.id, msgID(at), c.patient, PracticeID, c.pool, c.aud, c.subject, first.body, first.from, portalUser, at)
		if _, err := w.CreateConversation(ctx, h, m, write(first.from, i, 0, m, at)); err != nil {
			return fmt.Errorf("seed conversation %d: %w", i, err)
		}
		for j, r := range c.msgs[1:] {
			at := now.Add(-r.ago).UTC()
			h, err := header(ctx, w, c.patient.ID, c.id)
			if err != nil {
				return err
			}
			m := app.NewMessage(msgID(at), h, r.body, r.from, at)
			wr := write(r.from, i, j+1, m, at)
			wr.Before = &h
			if _, err := w.AppendMessage(ctx, m, wr); err != nil {
				return fmt.Errorf("seed reply %d/%d: %w", i, j, err)
			}
		}
		if c.read != "" {
			last := now.Add(-c.msgs[len(c.msgs)-1].ago + 10*time.Minute).UTC()
			h, err := header(ctx, w, c.patient.ID, c.id)
			if err != nil {
				return err
			}
			if err := w.MarkRead(ctx, h, c.read, last, seedRecord(audit.MarkRead, c.patient.ID, c.id, "", domain.Party{ID: "seed", Side: c.read}, last)); err != nil {
				return err
			}
		}
		if c.closed {
			closed := domain.StatusClosed
			h, err := header(ctx, w, c.patient.ID, c.id)
			if err != nil {
				return err
			}
			by := staff(DeskLee)
			if err := w.ChangeConversation(ctx, h, domain.Change{Status: &closed, At: now}, nil, seedRecord(audit.UpdateConversation, c.patient.ID, c.id, "", by, now)); err != nil {
				return err
			}
		}
	}
	return nil
}

func msgID(at time.Time) string {
	return ulid.MustNew(ulid.Timestamp(at), ulid.DefaultEntropy()).String()
}

// write is what commits with a seeded message: an idempotency record and
// the audit record the API would leave.
func write(by domain.Party, conv, n int, m domain.Message, at time.Time) app.Write {
	action := audit.Reply
	if n == 0 {
		action = audit.CreateConversation
	}
	return app.Write{
		Idem:  app.Idempotency{CallerID: by.ID, Key: fmt.Sprintf("seed-%d-%d", conv, n), Hash: "seed"},
		Audit: seedRecord(action, m.PatientID, m.ConversationID, m.ID, by, at),
	}
}

func seedRecord(action audit.Action, patientID, convID, msgID string, by domain.Party, at time.Time) audit.Record {
	return audit.Record{
		PatientID: patientID, At: at, ActorID: by.ID, ActorSide: string(by.Side), ActorRole: by.Role, Action: action,
		ConversationID: convID, MessageID: msgID, Outcome: audit.Success, Status: 201, RequestID: "seed",
	}
}

// header reads a conversation's current header, as a change needs it.
func header(ctx context.Context, l authz.Loader, patientID, convID string) (domain.Conversation, error) {
	f, err := l.LoadAccess(ctx, authz.Query{PatientID: patientID, ConversationID: convID, Confidential: true})
	if err != nil {
		return domain.Conversation{}, err
	}
	if f.Conversation == nil {
		return domain.Conversation{}, fmt.Errorf("seed: conversation %s missing", convID)
	}
	return *f.Conversation, nil
}

func mustUser(sub string) User {
	for _, u := range Users() {
		if u.Sub == sub {
			return u
		}
	}
	panic("seed: unknown user " + sub)
}
