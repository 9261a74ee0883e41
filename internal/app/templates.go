package app

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/hours"
)

// TemplateRepository reads quick-reply templates and keeps a staff
// member's own, each change with its audit record in the same transaction.
type TemplateRepository interface {
	Templates(ctx context.Context, practiceID, staffID string) ([]domain.Template, error)
	TemplateWithPractice(ctx context.Context, practiceID, staffID, templateID string) (*domain.Practice, *domain.Template, error)
	CreateTemplate(ctx context.Context, t domain.Template, rec audit.Record) error
	UpdateTemplate(ctx context.Context, t domain.Template, rec audit.Record) error
	DeleteTemplate(ctx context.Context, ownerID, id string, rec audit.Record) error
}

// ListTemplates lists the templates the calling staff member may pick
// from: the practice's, every pool's and their own, in that order, each
// group by title. Templates hold no patient data, so the list is not
// audited. Errors: EForbidden.
func (a *App) ListTemplates(ctx context.Context, c *Call) ([]domain.Template, error) {
	_, list, err := staffRead(ctx, a, c, func(ctx context.Context, practiceID string) ([]domain.Template, error) {
		return a.repo.Templates(ctx, practiceID, c.Principal.ID)
	})
	if err != nil {
		return nil, err
	}
	rank := map[domain.TemplateScope]int{domain.ScopePractice: 0, domain.ScopePool: 1, domain.ScopeMine: 2}
	slices.SortStableFunc(list, func(x, y domain.Template) int {
		return cmp.Or(cmp.Compare(rank[x.Scope], rank[y.Scope]), cmp.Compare(x.PoolID, y.PoolID), strings.Compare(x.Title, y.Title), strings.Compare(x.ID, y.ID))
	})
	return list, nil
}

// TemplateInput is a personal template as its owner writes it.
type TemplateInput struct {
	Title, Body string
}

// CreateTemplate stores a new template of the calling staff member's own;
// it and its audit record (filed under the caller: it names no patient)
// commit together. Errors: EForbidden; EInvalid naming "title" or "body";
// EMalformed naming "body" for an unknown variable; EConflict when the
// caller already has domain.PersonalTemplateMax templates.
func (a *App) CreateTemplate(ctx context.Context, c *Call, in TemplateInput) (*domain.Template, error) {
	c.begin(audit.CreateTemplate, "", "")
	me, err := a.staffCaller(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := domain.ValidateTemplate(in.Title, in.Body); err != nil {
		return nil, err
	}
	at := c.At
	t := domain.Template{
		ID: domain.PersonalTemplatePrefix + a.newID(at), Scope: domain.ScopeMine, PracticeID: me.PracticeID, OwnerID: me.ID,
		Title: in.Title, Body: in.Body, UpdatedAt: &at,
	}
	rec := c.record(audit.Success, 201)
	rec.TargetID = t.ID
	err = a.repo.CreateTemplate(ctx, t, rec)
	a.committed(ctx, c, rec, err)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// UpdateTemplate replaces the title and body of one of the calling staff
// member's own templates; the change and its audit record commit
// together. Another staff member's template, a practice or pool template
// and a missing one all answer ENotFound. Errors: EForbidden, ENotFound,
// EInvalid, EMalformed (as CreateTemplate).
func (a *App) UpdateTemplate(ctx context.Context, c *Call, id string, in TemplateInput) (*domain.Template, error) {
	c.begin(audit.UpdateTemplate, "", "")
	me, err := a.staffCaller(ctx, c)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(id, domain.PersonalTemplatePrefix) {
		return nil, domain.ErrNotFound
	}
	if err := domain.ValidateTemplate(in.Title, in.Body); err != nil {
		return nil, err
	}
	at := c.At
	t := domain.Template{ID: id, Scope: domain.ScopeMine, PracticeID: me.PracticeID, OwnerID: me.ID, Title: in.Title, Body: in.Body, UpdatedAt: &at}
	rec := c.record(audit.Success, 200)
	rec.TargetID = id
	err = a.repo.UpdateTemplate(ctx, t, rec)
	a.committed(ctx, c, rec, err)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteTemplate removes one of the calling staff member's own templates;
// the removal and its audit record commit together. Errors: EForbidden,
// ENotFound (as UpdateTemplate).
func (a *App) DeleteTemplate(ctx context.Context, c *Call, id string) error {
	c.begin(audit.DeleteTemplate, "", "")
	me, err := a.staffCaller(ctx, c)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(id, domain.PersonalTemplatePrefix) {
		return domain.ErrNotFound
	}
	rec := c.record(audit.Success, 204)
	rec.TargetID = id
	err = a.repo.DeleteTemplate(ctx, me.ID, id, rec)
	a.committed(ctx, c, rec, err)
	return err
}

// Preview is a template resolved for one patient, for staff to edit
// before they send it through the ordinary reply or new-conversation
// route.
type Preview struct {
	Template domain.Template
	Text     string
	// Unresolved lists the variables left as written because the
	// practice has no value for them (no nurse line, say).
	Unresolved []string
}

// PreviewTemplate resolves a template the caller may use (the practice's,
// a pool's, or their own) for a patient of their practice. The text holds
// the patient's first name, so access is decided as for every staff read
// of a patient, and the text goes out only after its audit record, filed
// under the patient, is stored. A foreign or missing patient and a
// template the caller may not use answer the same ENotFound. It sends
// nothing. Errors: ENotFound, EForbidden.
func (a *App) PreviewTemplate(ctx context.Context, c *Call, patientID, templateID string) (*Preview, error) {
	c.begin(audit.PreviewTemplate, patientID, "")
	if !domain.ValidID(templateID) {
		return nil, domain.ErrNotFound
	}
	q, err := authz.PatientQuery(c.Principal, patientID, authz.Extra{})
	if err != nil {
		return nil, err
	}
	type found struct {
		p *domain.Practice
		t *domain.Template
	}
	data := func(ctx context.Context, practiceID string) (found, error) {
		p, t, err := a.repo.TemplateWithPractice(ctx, practiceID, c.Principal.ID, templateID)
		return found{p, t}, err
	}
	access := func(ctx context.Context) (*authz.Facts, error) { return a.repo.LoadAccess(ctx, q) }
	// As staffRead: with the caller's practice known from an earlier
	// request, the access read and the template read run at once.
	var (
		facts          *authz.Facts
		got            found
		accErr, getErr error
	)
	known, cached := a.practices.Load(c.Principal.ID)
	if cached {
		facts, got, accErr, getErr = both(ctx, access, func(ctx context.Context) (found, error) { return data(ctx, known.(string)) })
	} else {
		facts, accErr = access(ctx)
	}
	if accErr != nil {
		return nil, accErr
	}
	c.read(facts)
	g, err := authz.DecidePatient(c.Principal, patientID, authz.Extra{}, facts)
	if err != nil {
		return nil, err
	}
	c.granted(g)
	a.practices.Store(c.Principal.ID, g.PracticeID)
	if !cached || known.(string) != g.PracticeID {
		got, getErr = data(ctx, g.PracticeID)
	}
	if getErr != nil {
		return nil, getErr
	}
	if got.t == nil || got.p == nil {
		return nil, domain.ErrNotFound
	}
	cal, err := hours.ForPractice(*got.p)
	if err != nil {
		// The directory loader refuses such a practice: a stored one is a bug.
		return nil, &domain.Error{Code: domain.EInternal, Err: fmt.Errorf("practice %s: %w", got.p.ID, err)}
	}
	text, unresolved := domain.ResolveTemplate(got.t.Body, func(name string) string {
		switch name {
		case domain.VarChildFirstName:
			return domain.FirstName(g.Record.DisplayName)
		case domain.VarOfficeHours:
			return cal.Describe()
		case domain.VarNurseLine:
			return got.p.NurseLine
		case domain.VarPracticeName:
			return got.p.Name
		}
		return ""
	})
	rec := c.record(audit.Success, 200)
	rec.TargetID = templateID
	if err := a.release(ctx, c, rec); err != nil {
		return nil, err
	}
	return &Preview{Template: *got.t, Text: text, Unresolved: unresolved}, nil
}

// staffCaller reads and decides the calling staff member, who must be
// active. Errors: EForbidden.
func (a *App) staffCaller(ctx context.Context, c *Call) (*domain.StaffMember, error) {
	facts, err := a.repo.LoadAccess(ctx, authz.StaffQuery(c.Principal))
	if err != nil {
		return nil, err
	}
	c.read(facts)
	me, err := authz.DecideStaff(c.Principal, facts)
	if err != nil {
		return nil, err
	}
	c.rec.ActorRole = string(me.Role)
	a.practices.Store(me.ID, me.PracticeID)
	return me, nil
}
