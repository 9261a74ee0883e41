package mock

import (
	"context"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
)

// TemplateFakes fakes app.TemplateRepository; Store embeds it.
type TemplateFakes struct {
	TemplatesFn            func(ctx context.Context, practiceID, staffID string) ([]domain.Template, error)
	TemplateWithPracticeFn func(ctx context.Context, practiceID, staffID, templateID string) (*domain.Practice, *domain.Template, error)
	CreateTemplateFn       func(ctx context.Context, t domain.Template, rec audit.Record) error
	UpdateTemplateFn       func(ctx context.Context, t domain.Template, rec audit.Record) error
	DeleteTemplateFn       func(ctx context.Context, ownerID, id string, rec audit.Record) error
}

var _ app.TemplateRepository = (*TemplateFakes)(nil)

// Templates calls TemplatesFn.
func (s *TemplateFakes) Templates(ctx context.Context, practiceID, staffID string) ([]domain.Template, error) {
	return s.TemplatesFn(ctx, practiceID, staffID)
}

// TemplateWithPractice calls TemplateWithPracticeFn.
func (s *TemplateFakes) TemplateWithPractice(ctx context.Context, practiceID, staffID, templateID string) (*domain.Practice, *domain.Template, error) {
	return s.TemplateWithPracticeFn(ctx, practiceID, staffID, templateID)
}

// CreateTemplate calls CreateTemplateFn.
func (s *TemplateFakes) CreateTemplate(ctx context.Context, t domain.Template, rec audit.Record) error {
	return s.CreateTemplateFn(ctx, t, rec)
}

// UpdateTemplate calls UpdateTemplateFn.
func (s *TemplateFakes) UpdateTemplate(ctx context.Context, t domain.Template, rec audit.Record) error {
	return s.UpdateTemplateFn(ctx, t, rec)
}

// DeleteTemplate calls DeleteTemplateFn.
func (s *TemplateFakes) DeleteTemplate(ctx context.Context, ownerID, id string, rec audit.Record) error {
	return s.DeleteTemplateFn(ctx, ownerID, id, rec)
}
