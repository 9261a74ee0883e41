package notify_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/notify"
	"github.com/pedsportal/messaging/internal/seed"
)

// fakeRepo is an in-memory Repository that keeps the contract of
// notify.Repository (coalescing, versions, conditional Defer and Finish,
// one application per message), so the flusher is tested against the
// behaviour the store promises. Each method first calls its Fn field when
// set, which lets a test make it fail.
type fakeRepo struct {
	mu        sync.Mutex
	convs     map[string]*domain.Conversation // patient/conversation
	practices map[string]*domain.Practice
	family    map[string][]notify.Recipient // patient → portal users
	staff     map[string]notify.Recipient   // staff ID → staff member
	pools     map[string][]string           // practice/pool → opted-in staff IDs

	pending map[string]*notify.Pending
	applied map[string]bool  // pending key + message ID
	added   []notify.Pending // every AddPending call, in order
	audit   []audit.Record   // records Finish stored
	late    []audit.Record   // records AppendAudit stored
	defers  []deferCall
	dueArgs []int // the limit of each Due call

	ConversationFn func(ctx context.Context, patientID, convID string) (*domain.Conversation, error)
	FamilyFn       func(ctx context.Context, patientID string) ([]notify.Recipient, error)
	AddPendingFn   func(ctx context.Context, p notify.Pending) error
	DeferFn        func(ctx context.Context, p notify.Pending, until time.Time) error
	FinishFn       func(ctx context.Context, p notify.Pending, recs []audit.Record) (bool, error)
}

type deferCall struct {
	Key   string
	Until time.Time
}

var (
	_ notify.Repository = (*fakeRepo)(nil)
	_ audit.Writer      = (*fakeRepo)(nil)
)

func newFakeRepo() *fakeRepo {
	return &fakeRepo{
		convs:     map[string]*domain.Conversation{},
		practices: map[string]*domain.Practice{},
		family:    map[string][]notify.Recipient{},
		staff:     map[string]notify.Recipient{},
		pools:     map[string][]string{},
		pending:   map[string]*notify.Pending{},
		applied:   map[string]bool{},
	}
}

func (f *fakeRepo) putConv(c domain.Conversation) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.convs[c.Patient.ID+"/"+c.ID] = &c
}

func (f *fakeRepo) Conversation(ctx context.Context, patientID, convID string) (*domain.Conversation, error) {
	if f.ConversationFn != nil {
		return f.ConversationFn(ctx, patientID, convID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.convs[patientID+"/"+convID]; c != nil {
		cp := *c
		return &cp, nil
	}
	return nil, nil
}

func (f *fakeRepo) Practice(_ context.Context, id string) (*domain.Practice, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if p := f.practices[id]; p != nil {
		cp := *p
		return &cp, nil
	}
	return nil, nil
}

func (f *fakeRepo) FamilyRecipients(ctx context.Context, patientID string) ([]notify.Recipient, error) {
	if f.FamilyFn != nil {
		return f.FamilyFn(ctx, patientID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.family[patientID]), nil
}

func (f *fakeRepo) StaffRecipients(_ context.Context, practiceID, poolID string) ([]notify.Recipient, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var rs []notify.Recipient
	for _, id := range f.pools[practiceID+"/"+poolID] {
		rs = append(rs, f.staff[id])
	}
	return rs, nil
}

func (f *fakeRepo) StaffRecipient(_ context.Context, staffID string) (*notify.Recipient, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.staff[staffID]; ok {
		return &r, nil
	}
	return nil, nil
}

// key is the repository's coalescing key: one item per recipient and
// conversation, or per staff member for a digest.
func key(p notify.Pending) string {
	return string(p.Recipient.Kind) + "\x00" + p.Recipient.ID + "\x00" + p.PatientID + "\x00" + p.ConversationID
}

func (f *fakeRepo) AddPending(ctx context.Context, p notify.Pending) error {
	if f.AddPendingFn != nil {
		if err := f.AddPendingFn(ctx, p); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.added = append(f.added, clonePending(p))
	k := key(p)
	if f.applied[k+"#"+p.MessageID] {
		return nil // this message was applied already
	}
	f.applied[k+"#"+p.MessageID] = true
	cur := f.pending[k]
	if cur == nil {
		cp := clonePending(p)
		cp.Version = 1
		f.pending[k] = &cp
		return nil
	}
	if p.FirstAt.Before(cur.FirstAt) {
		cur.FirstAt = p.FirstAt
	}
	if p.LastAt.After(cur.LastAt) {
		cur.LastAt = p.LastAt
	}
	for _, c := range p.Conversations {
		if !slices.Contains(cur.Conversations, c) {
			cur.Conversations = append(cur.Conversations, c)
		}
	}
	cur.Recipient = p.Recipient
	cur.Version++
	return nil
}

func (f *fakeRepo) Due(_ context.Context, now time.Time, limit int) ([]notify.Pending, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dueArgs = append(f.dueArgs, limit)
	var out []notify.Pending
	for _, p := range f.pending {
		if !p.DueAt.After(now) {
			out = append(out, clonePending(*p))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].DueAt.Equal(out[j].DueAt) {
			return out[i].DueAt.Before(out[j].DueAt)
		}
		return key(out[i]) < key(out[j])
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (f *fakeRepo) Defer(ctx context.Context, p notify.Pending, until time.Time) error {
	if f.DeferFn != nil {
		if err := f.DeferFn(ctx, p, until); err != nil {
			return err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.defers = append(f.defers, deferCall{key(p), until})
	if cur := f.pending[key(p)]; cur != nil && cur.Version == p.Version {
		cur.DueAt = until
		cur.Version++
	}
	return nil
}

func (f *fakeRepo) Finish(ctx context.Context, p notify.Pending, recs []audit.Record) (bool, error) {
	if f.FinishFn != nil {
		return f.FinishFn(ctx, p, recs)
	}
	return f.finish(p, recs)
}

func (f *fakeRepo) finish(p notify.Pending, recs []audit.Record) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cur := f.pending[key(p)]
	if cur == nil || cur.Version != p.Version {
		return false, nil
	}
	delete(f.pending, key(p))
	f.audit = append(f.audit, recs...)
	return true, nil
}

func (f *fakeRepo) AppendAudit(_ context.Context, recs ...audit.Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.late = append(f.late, recs...)
	return nil
}

func (f *fakeRepo) pendingItems() []notify.Pending {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []notify.Pending
	for _, p := range f.pending {
		out = append(out, clonePending(*p))
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

func (f *fakeRepo) addedCalls() []notify.Pending {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.added)
}

func clonePending(p notify.Pending) notify.Pending {
	p.Conversations = slices.Clone(p.Conversations)
	return p
}

// fakeMailer records e-mails; SendFn, when set, decides the outcome.
type fakeMailer struct {
	mu     sync.Mutex
	sent   []notify.Email
	SendFn func(e notify.Email) error
}

func (m *fakeMailer) SendEmail(_ context.Context, e notify.Email) error {
	if m.SendFn != nil {
		if err := m.SendFn(e); err != nil {
			return err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, e)
	return nil
}

func (m *fakeMailer) emails() []notify.Email {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.sent)
}

// fakeTexter records texts; SendFn, when set, decides the outcome.
type fakeTexter struct {
	mu     sync.Mutex
	sent   []notify.Text
	SendFn func(t notify.Text) error
}

func (x *fakeTexter) SendText(_ context.Context, t notify.Text) error {
	if x.SendFn != nil {
		if err := x.SendFn(t); err != nil {
			return err
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.sent = append(x.sent, t)
	return nil
}

func (x *fakeTexter) texts() []notify.Text {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.sent)
}

// clock is a fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// codeErr is a provider error with a code, like smithy's API errors; its
// message quotes an address, as SES's do, to prove logs never show it.
type codeErr struct{ code, msg string }

func (e codeErr) Error() string     { return e.msg }
func (e codeErr) ErrorCode() string { return e.code }

var errThrottled = codeErr{"TooManyRequestsException", "throttled sending to ana.rivera@example.com"}

// Test data: the demo practice, its people and patients (internal/seed).
var (
	ny, _    = time.LoadLocation("America/New_York")
	practice = domain.Practice{
		ID:        seed.PracticeID,
		Name:      "Maple Grove Pediatrics",
		TimeZone:  "America/New_York",
		PortalURL: "https://care.maplegrove.example/portal/",
	}
	rivera = notify.Recipient{Kind: notify.Family, ID: seed.ParentRivera, Email: "ana.rivera@example.com", Phone: "+15555550101", Channels: domain.Channels{Email: true}}
	// Another guardian of Mateo who chose no notifications.
	noneGuardian = notify.Recipient{Kind: notify.Family, ID: "22222222-0000-4000-8000-0000000000aa", Email: "other.guardian@example.com", Channels: domain.Channels{}}
	chen         = notify.Recipient{Kind: notify.Family, ID: seed.ParentChen, Email: "wei.chen@example.com", Phone: "+15555550102", Channels: domain.Channels{Email: true, SMS: true}}
	nurseKim     = notify.Recipient{Kind: notify.Staff, ID: seed.NurseKim, Email: "jordan.kim@maplegrove.example"}
	deskLee      = notify.Recipient{Kind: notify.Staff, ID: seed.DeskLee, Email: "sam.lee@maplegrove.example"}
	drPatel      = notify.Recipient{Kind: notify.Staff, ID: seed.DrPatel, Email: "anika.patel@maplegrove.example"}
	noEmailStaff = notify.Recipient{Kind: notify.Staff, ID: seed.AdminGarcia}
)

// env is a notifier and a flusher over one fake repository.
type env struct {
	t     *testing.T
	repo  *fakeRepo
	mail  *fakeMailer
	text  *fakeTexter
	clock *clock
	cfg   notify.Config
	n     *notify.Notifier
	f     *notify.Flusher
	logs  *strings.Builder
}

func newEnv(t *testing.T, now time.Time) *env {
	t.Helper()
	e := &env{t: t, repo: newFakeRepo(), mail: &fakeMailer{}, text: &fakeTexter{}, clock: &clock{t: now}, logs: &strings.Builder{}}
	p := practice
	e.repo.practices[p.ID] = &p
	e.repo.family[seed.Mateo] = []notify.Recipient{rivera, noneGuardian}
	e.repo.family[seed.Sofia] = []notify.Recipient{rivera}
	e.repo.family[seed.Lily] = []notify.Recipient{chen}
	for _, s := range []notify.Recipient{nurseKim, deskLee, drPatel, noEmailStaff} {
		e.repo.staff[s.ID] = s
	}
	e.repo.pools[seed.PracticeID+"/"+seed.PoolNurse] = []string{seed.NurseKim, seed.AdminGarcia}
	e.repo.pools[seed.PracticeID+"/"+seed.PoolFrontDesk] = []string{seed.DeskLee}
	e.cfg = notify.Config{
		Now: e.clock.Now,
		Unsubscribe: func(r notify.Recipient) string {
			return "https://api.maplegrove.example/unsubscribe?u=" + r.ID + "&sig=test"
		},
		Decode: decodeTest,
		Log:    slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	e.n = notify.NewNotifier(e.repo, e.cfg)
	e.f = notify.NewFlusher(e.repo, e.mail, e.text, e.cfg)
	t.Cleanup(func() { assertNoPII(t, e.logs.String()) })
	return e
}

// conv puts a conversation header about patient in pool and returns it.
func (e *env) conv(id, patient, pool string) domain.Conversation {
	c := domain.Conversation{
		ID:         id,
		Patient:    domain.PatientRef{ID: patient, DisplayName: "Mateo Rivera"},
		PracticeID: seed.PracticeID,
		Subject:    "Rash after starting amoxicillin",
		Pool:       domain.PoolRef{ID: pool, Name: "Nurse line"},
		Status:     domain.StatusOpen,
	}
	e.repo.putConv(c)
	return c
}

// markPortalRead sets the family's read time on a header.
func (e *env) markPortalRead(patient, conv string, at time.Time) {
	e.repo.mu.Lock()
	defer e.repo.mu.Unlock()
	e.repo.convs[patient+"/"+conv].PortalReadAt = &at
}

func (e *env) setStaffUnread(patient, conv string, n int) {
	e.repo.mu.Lock()
	defer e.repo.mu.Unlock()
	e.repo.convs[patient+"/"+conv].StaffUnread = n
}

func (e *env) flush() notify.Result {
	e.t.Helper()
	res, err := e.f.Flush(e.t.Context())
	if err != nil {
		e.t.Fatalf("Flush: %v", err)
	}
	return res
}

func (e *env) stream(recs ...events.DynamoDBEventRecord) events.DynamoDBEventResponse {
	e.t.Helper()
	resp, err := e.n.HandleStream(e.t.Context(), events.DynamoDBEvent{Records: recs})
	if err != nil {
		e.t.Fatalf("HandleStream: %v", err)
	}
	return resp
}

// Stream records in the shape decodeTest reads, standing in for the
// store's decoder.
var seqN int

func msgRecord(patient, conv, msgID string, side domain.Side, at time.Time) events.DynamoDBEventRecord {
	seqN++
	return events.DynamoDBEventRecord{
		EventID:   fmt.Sprintf("ev-%d", seqN),
		EventName: "INSERT",
		Change: events.DynamoDBStreamRecord{
			SequenceNumber: fmt.Sprintf("%021d", seqN),
			NewImage: map[string]events.DynamoDBAttributeValue{
				"type":    events.NewStringAttribute("message"),
				"patient": events.NewStringAttribute(patient),
				"conv":    events.NewStringAttribute(conv),
				"id":      events.NewStringAttribute(msgID),
				"side":    events.NewStringAttribute(string(side)),
				"at":      events.NewStringAttribute(at.UTC().Format(time.RFC3339Nano)),
				"body":    events.NewStringAttribute("Mateo's rash should fade; keep giving the amoxicillin."),
			},
		},
	}
}

func decodeTest(img map[string]events.DynamoDBAttributeValue) (notify.Message, bool, error) {
	if img["type"].String() != "message" {
		return notify.Message{}, false, nil
	}
	at, err := time.Parse(time.RFC3339Nano, img["at"].String())
	if err != nil {
		return notify.Message{}, false, errors.New("message item: bad at")
	}
	return notify.Message{
		PatientID:      img["patient"].String(),
		ConversationID: img["conv"].String(),
		MessageID:      img["id"].String(),
		AuthorSide:     domain.Side(img["side"].String()),
		At:             at,
	}, true, nil
}

// assertNoPII fails when logs show an address, a phone number, a name, a
// subject or a body.
func assertNoPII(t *testing.T, logs string) {
	t.Helper()
	for _, s := range []string{"@example.com", "@maplegrove.example", "+1555", "Rivera", "Chen", "Mateo", "amoxicillin", "Rash", "Maple Grove", "Nurse line"} {
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q:\n%s", s, logs)
		}
	}
}
