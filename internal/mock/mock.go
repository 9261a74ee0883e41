// Package mock holds function-field fakes of the application's narrow
// interfaces, for fast tests of failure paths: make a dependency fail, stall
// or panic on demand. Features are proven against DynamoDB Local; these
// prove what happens when a dependency breaks. A method whose function is
// not set panics, so a test notices any call it did not expect.
package mock

import (
	"context"
	"time"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
)

// Store fakes app.Repository and audit.Writer.
type Store struct {
	TemplateFakes        // quick-reply templates (templates.go)
	LoadAccessFn         func(ctx context.Context, q authz.Query) (*authz.Facts, error)
	ConversationsFn      func(ctx context.Context, patientID string, auds []domain.Audience, f app.ConversationFilter, limit int, start map[string]string) (app.Page[domain.Conversation], error)
	MoveConversationFn   func(ctx context.Context, before domain.Conversation, msgs []domain.Message, after domain.Conversation, e domain.Entry, rec audit.Record) error
	ChainFn              func(ctx context.Context, patientID string, auds []domain.Audience, convID string, limit int, start map[string]string) (*domain.Conversation, app.Page[domain.Message], error)
	InboxFn              func(ctx context.Context, practiceID string, f app.ConversationFilter, limit int, start map[string]string) (app.Page[domain.Conversation], error)
	OpenSummaryFn        func(ctx context.Context, practiceID, staffID string) (app.Summary, error)
	PatientNewsFn        func(ctx context.Context, patientID string, auds []domain.Audience, window int) (app.PatientNews, error)
	CreateConversationFn func(ctx context.Context, c domain.Conversation, m domain.Message, w app.Write) (app.Written, error)
	AppendMessageFn      func(ctx context.Context, m domain.Message, w app.Write) (app.Written, error)
	ReplayFn             func(ctx context.Context, patientID string, w app.Written) (*domain.Conversation, *domain.Message, error)
	MarkReadFn           func(ctx context.Context, c domain.Conversation, side domain.Side, at time.Time, rec audit.Record) error
	ChangeConversationFn func(ctx context.Context, c domain.Conversation, ch domain.Change, entries []domain.Entry, rec audit.Record) error
	AddNoteFn            func(ctx context.Context, e domain.Entry, rec audit.Record) error
	PracticeSettingsFn   func(ctx context.Context, practiceID string) (domain.Practice, []domain.Pool, error)
	WorklogFn            func(ctx context.Context, patientID, convID string, limit int, start map[string]string) (app.Page[domain.Entry], error)
	PortalUserLinksFn    func(ctx context.Context, portalUserID string) ([]domain.Link, error)
	PatientLinksFn       func(ctx context.Context, patientID string) ([]domain.Link, error)
	PoolsFn              func(ctx context.Context, practiceID string) ([]domain.Pool, error)
	StaffMembersFn       func(ctx context.Context, practiceID string) ([]domain.StaffMember, error)
	SearchPatientsFn     func(ctx context.Context, practiceID string, q domain.SearchQuery, limit int) ([]domain.Patient, error)
	SearchPortalUsersFn  func(ctx context.Context, practiceID string, q domain.SearchQuery, limit int) ([]string, error)
	PortalUsersFn        func(ctx context.Context, ids []string) ([]domain.PortalUser, error)
	PutLinkFn            func(ctx context.Context, practiceID string, l domain.Link, rec audit.Record) error
	DeleteLinkFn         func(ctx context.Context, patientID, portalUserID string, rec audit.Record) error
	SetNotifyAuditedFn   func(ctx context.Context, portalUserID string, ch domain.Channels, rec audit.Record) error
	AppendAuditFn        func(ctx context.Context, recs ...audit.Record) error
}

var (
	_ app.Repository = (*Store)(nil)
	_ audit.Writer   = (*Store)(nil)
)

// LoadAccess calls LoadAccessFn.
func (s *Store) LoadAccess(ctx context.Context, q authz.Query) (*authz.Facts, error) {
	return s.LoadAccessFn(ctx, q)
}

// Conversations calls ConversationsFn.
func (s *Store) Conversations(ctx context.Context, patientID string, auds []domain.Audience, f app.ConversationFilter, limit int, start map[string]string) (app.Page[domain.Conversation], error) {
	return s.ConversationsFn(ctx, patientID, auds, f, limit, start)
}

// ChartConversations calls ConversationsFn with no filter, as the store
// does.
func (s *Store) ChartConversations(ctx context.Context, patientID string, auds []domain.Audience, limit int, start map[string]string) (app.Page[domain.Conversation], error) {
	return s.ConversationsFn(ctx, patientID, auds, app.ConversationFilter{}, limit, start)
}

// Chain calls ChainFn.
func (s *Store) Chain(ctx context.Context, patientID string, auds []domain.Audience, convID string, limit int, start map[string]string) (*domain.Conversation, app.Page[domain.Message], error) {
	return s.ChainFn(ctx, patientID, auds, convID, limit, start)
}

// Inbox calls InboxFn.
func (s *Store) Inbox(ctx context.Context, practiceID string, f app.ConversationFilter, limit int, start map[string]string) (app.Page[domain.Conversation], error) {
	return s.InboxFn(ctx, practiceID, f, limit, start)
}

// PatientNews calls PatientNewsFn.
func (s *Store) PatientNews(ctx context.Context, patientID string, auds []domain.Audience, window int) (app.PatientNews, error) {
	return s.PatientNewsFn(ctx, patientID, auds, window)
}

// OpenSummary calls OpenSummaryFn.
func (s *Store) OpenSummary(ctx context.Context, practiceID, staffID string) (app.Summary, error) {
	return s.OpenSummaryFn(ctx, practiceID, staffID)
}

// CreateConversation calls CreateConversationFn.
func (s *Store) CreateConversation(ctx context.Context, c domain.Conversation, m domain.Message, w app.Write) (app.Written, error) {
	return s.CreateConversationFn(ctx, c, m, w)
}

// AppendMessage calls AppendMessageFn.
func (s *Store) AppendMessage(ctx context.Context, m domain.Message, w app.Write) (app.Written, error) {
	return s.AppendMessageFn(ctx, m, w)
}

// Replay calls ReplayFn.
func (s *Store) Replay(ctx context.Context, patientID string, w app.Written) (*domain.Conversation, *domain.Message, error) {
	return s.ReplayFn(ctx, patientID, w)
}

// MarkRead calls MarkReadFn.
func (s *Store) MarkRead(ctx context.Context, c domain.Conversation, side domain.Side, at time.Time, rec audit.Record) error {
	return s.MarkReadFn(ctx, c, side, at, rec)
}

// ChangeConversation calls ChangeConversationFn.
func (s *Store) ChangeConversation(ctx context.Context, c domain.Conversation, ch domain.Change, entries []domain.Entry, rec audit.Record) error {
	return s.ChangeConversationFn(ctx, c, ch, entries, rec)
}

// PracticeSettings calls PracticeSettingsFn.
func (s *Store) PracticeSettings(ctx context.Context, practiceID string) (domain.Practice, []domain.Pool, error) {
	return s.PracticeSettingsFn(ctx, practiceID)
}

// MoveConversation calls MoveConversationFn.
func (s *Store) MoveConversation(ctx context.Context, before domain.Conversation, msgs []domain.Message, after domain.Conversation, e domain.Entry, rec audit.Record) error {
	return s.MoveConversationFn(ctx, before, msgs, after, e, rec)
}

// AddNote calls AddNoteFn.
func (s *Store) AddNote(ctx context.Context, e domain.Entry, rec audit.Record) error {
	return s.AddNoteFn(ctx, e, rec)
}

// Worklog calls WorklogFn.
func (s *Store) Worklog(ctx context.Context, patientID, convID string, limit int, start map[string]string) (app.Page[domain.Entry], error) {
	return s.WorklogFn(ctx, patientID, convID, limit, start)
}

// PortalUserLinks calls PortalUserLinksFn.
func (s *Store) PortalUserLinks(ctx context.Context, portalUserID string) ([]domain.Link, error) {
	return s.PortalUserLinksFn(ctx, portalUserID)
}

// PatientLinks calls PatientLinksFn.
func (s *Store) PatientLinks(ctx context.Context, patientID string) ([]domain.Link, error) {
	return s.PatientLinksFn(ctx, patientID)
}

// Pools calls PoolsFn.
func (s *Store) Pools(ctx context.Context, practiceID string) ([]domain.Pool, error) {
	return s.PoolsFn(ctx, practiceID)
}

// StaffMembers calls StaffMembersFn.
func (s *Store) StaffMembers(ctx context.Context, practiceID string) ([]domain.StaffMember, error) {
	return s.StaffMembersFn(ctx, practiceID)
}

// SearchPatients calls SearchPatientsFn.
func (s *Store) SearchPatients(ctx context.Context, practiceID string, q domain.SearchQuery, limit int) ([]domain.Patient, error) {
	return s.SearchPatientsFn(ctx, practiceID, q, limit)
}

// SearchPortalUsers calls SearchPortalUsersFn.
func (s *Store) SearchPortalUsers(ctx context.Context, practiceID string, q domain.SearchQuery, limit int) ([]string, error) {
	return s.SearchPortalUsersFn(ctx, practiceID, q, limit)
}

// PortalUsers calls PortalUsersFn.
func (s *Store) PortalUsers(ctx context.Context, ids []string) ([]domain.PortalUser, error) {
	return s.PortalUsersFn(ctx, ids)
}

// PutLink calls PutLinkFn.
func (s *Store) PutLink(ctx context.Context, practiceID string, l domain.Link, rec audit.Record) error {
	return s.PutLinkFn(ctx, practiceID, l, rec)
}

// DeleteLink calls DeleteLinkFn.
func (s *Store) DeleteLink(ctx context.Context, patientID, portalUserID string, rec audit.Record) error {
	return s.DeleteLinkFn(ctx, patientID, portalUserID, rec)
}

// SetNotifyAudited calls SetNotifyAuditedFn.
func (s *Store) SetNotifyAudited(ctx context.Context, portalUserID string, ch domain.Channels, rec audit.Record) error {
	return s.SetNotifyAuditedFn(ctx, portalUserID, ch, rec)
}

// AppendAudit calls AppendAuditFn.
func (s *Store) AppendAudit(ctx context.Context, recs ...audit.Record) error {
	return s.AppendAuditFn(ctx, recs...)
}
