package app

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
)

// Export is one part of a patient's conversations as the caller may see
// them, oldest conversation first, each with its messages oldest first: the
// family's copy of its record (45 CFR 164.524) and the staff's chart export.
type Export struct {
	Patient domain.PatientRef
	// Practice is the practice's name, and Zone its clock, which the
	// readable copy tells times in; "" and UTC when its settings could not
	// be read (the copy does not depend on them).
	Practice string
	Zone     *time.Location
	// By is who downloaded it, At when.
	By domain.Party
	At time.Time
	// Part counts the parts from 1; Next is where the next part starts,
	// nil on the last part.
	Part          int
	Conversations []ExportedConversation
	Next          *ExportPosition
}

// ExportedConversation is a conversation with the messages of it in this
// part: all of them, unless it began in the previous part or goes on in
// the next.
type ExportedConversation struct {
	Conversation domain.Conversation
	Messages     []domain.Message
	// FirstID is the chain's first message, which every message of it is
	// part of; PreviousID is the message before Messages[0], "" when that
	// is the first (so it is set on a conversation continued from the
	// previous part).
	FirstID, PreviousID string
}

// ExportPosition is where a part starts: at conversation ID (created at
// CreatedAt), from its first message or, when Chain is set, from that page
// key of its chain, after message PreviousID of a chain that began with
// FirstID. The listing is re-read for each part, and a position names a
// conversation by its place in creation order, which never changes: a part
// never skips or repeats a conversation, whatever changed since the
// previous part.
type ExportPosition struct {
	Part                int
	ID                  string
	CreatedAt           time.Time
	Chain               map[string]string
	FirstID, PreviousID string
}

// ExportBudget bounds one part by ExportCost: each format encodes a
// message in at most its cost, and a Lambda response carries at most 6 MB,
// of which this leaves room for headers and the file's frame. A chart past
// it is downloaded in parts, each pointing to the next.
const ExportBudget = 4 << 20

// ExportMessageOverhead is counted per message for what a format adds
// around the text (names, times, references, identifiers).
const ExportMessageOverhead = 2 << 10

// maxExportConversations bounds the header listing one part reads (100 a
// Query). A pediatric chart is far below it; past it the export refuses
// with 503 rather than time out half-way.
const maxExportConversations = 10000

// exportPage is the number of messages one chain Query reads.
const exportPage = 100

// ExportCost is an upper bound of the bytes s takes once escaped for HTML
// and then for JSON inside the Lambda response ("<" is "&lt;", then
// "\u0026lt;"); FHIR JSON escapes less. A part is budgeted in it, so that no
// message text, however hostile, makes a response too large to send.
func ExportCost(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '&' || c == '"' || c == '\'':
			n += 10 // &amp; &#34; &#39; → \u0026amp;
		case c == '<' || c == '>':
			n += 9 // &lt; → \u0026lt;
		case c < 0x20 || c == '\\':
			n += 6 // \u001f
		case c >= 0x80:
			n += 2 // U+2028 and U+2029 become \u2028: 6 bytes for 3
		default:
			n++
		}
	}
	return n
}

// MessageCost is what m costs of a part's budget: its text, and the names
// a format may write with it (FHIR repeats the subject, the patient and
// the pool or family member on every message; HTML names the pool and the
// starter above a conversation's first).
func MessageCost(c domain.Conversation, m domain.Message) int {
	return ExportMessageOverhead + ExportCost(m.Body) + ExportCost(m.Author.Name) +
		ExportCost(c.Subject) + ExportCost(c.Patient.DisplayName) + ExportCost(c.Pool.Name) + ExportCost(c.StartedBy.Name)
}

// ExportChart returns one part of patientID's conversations that the
// caller may see, starting at from (nil: the first part), up to
// ExportBudget. Access is decided before anything of the chart is read,
// and the part is released only after its audit record (a disclosure) is
// stored: 3 + ⌈conversations/16⌉ sequential round trips for a chart of up to
// 100 conversations whose chains have at most 100 messages each. It reads
// through the same store paths as the conversation list and the chain, so
// the rules of what a caller may see there hold here too. Errors:
// ENotFound (also for a patient that is not the caller's), EForbidden,
// EUnavailable.
//
// format names the file's format for the record only.
func (a *App) ExportChart(ctx context.Context, c *Call, patientID, format string, from *ExportPosition) (Export, error) {
	c.begin(audit.ExportChart, patientID, "")
	q, err := authz.PatientQuery(c.Principal, patientID, authz.Extra{})
	if err != nil {
		return Export{}, err
	}
	// Access is decided before anything of the chart is read, and every
	// read after it is the grant's: the same listing and chain reads as
	// the list and the conversation routes.
	facts, err := a.repo.LoadAccess(ctx, q)
	if err != nil {
		return Export{}, err
	}
	g, err := a.decide(ctx, c, patientID, authz.Extra{}, facts)
	if err != nil {
		return Export{}, err
	}
	// The practice's name and clock are read with the listing; the copy
	// does not depend on them.
	var settings Settings
	var settingsErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		defer recovered(&settingsErr)
		settings, settingsErr = a.settings(ctx, g.PracticeID)
	})
	e := Export{Patient: g.Patient, By: g.Actor, At: c.At, Part: 1}
	err = a.exportConversations(ctx, patientID, g.Audiences, from, &e)
	wg.Wait()
	if err != nil {
		return Export{}, err
	}
	e.Zone = time.UTC
	if settingsErr == nil {
		e.Practice, e.Zone = settings.Practice.Name, settings.Calendar.Zone()
	}
	rec := c.record(audit.Success, 200)
	rec.Disclosed = e.disclosed(format)
	if err := a.release(ctx, c, rec); err != nil {
		return Export{}, err
	}
	return e, nil
}

// disclosed says what the part holds, for its audit record: IDs and
// counts, never text.
func (e Export) disclosed(format string) []string {
	msgs := 0
	for _, x := range e.Conversations {
		msgs += len(x.Messages)
	}
	d := []string{"format:" + format, "part:" + strconv.Itoa(e.Part), "conversations:" + strconv.Itoa(len(e.Conversations)), "messages:" + strconv.Itoa(msgs)}
	if n := len(e.Conversations); n > 0 {
		d = append(d, "first:"+e.Conversations[0].Conversation.ID, "last:"+e.Conversations[n-1].Conversation.ID)
	}
	return d
}

// exportConversations reads the part that starts at from into e.
// auds are the audiences the grant reaches: a guardian's copy holds no
// confidential conversation, read from a partition it never names.
func (a *App) exportConversations(ctx context.Context, patientID string, auds []domain.Audience, from *ExportPosition, e *Export) error {
	convs, err := a.exportHeaders(ctx, patientID, auds)
	if err != nil {
		return err
	}
	if from != nil {
		e.Part = from.Part
		convs = convs[startOf(convs, from):]
	}
	return a.exportChains(ctx, patientID, convs, from, e)
}

// exportHeaders lists every conversation of the patient the caller may
// see, in creation order.
func (a *App) exportHeaders(ctx context.Context, patientID string, auds []domain.Audience) ([]domain.Conversation, error) {
	var all []domain.Conversation
	var start map[string]string
	for {
		page, err := a.repo.ChartConversations(ctx, patientID, auds, exportPage, start)
		if err != nil {
			return nil, err
		}
		all = append(all, page.Items...)
		if page.LastKey == nil {
			break
		}
		if len(all) >= maxExportConversations {
			return nil, domain.Unavailable(nil)
		}
		start = page.LastKey
	}
	// Sorted through pointers: slices.SortFunc's code for pointers is
	// linked anyway, and a copy of it for domain.Conversation would add
	// about 12 KB to the bootstrap (see internal/cmd/sizecheck).
	byCreation := make([]*domain.Conversation, len(all))
	for i := range all {
		byCreation[i] = &all[i]
	}
	slices.SortFunc(byCreation, func(x, y *domain.Conversation) int {
		if c := x.CreatedAt.Compare(y.CreatedAt); c != 0 {
			return c
		}
		return compareStrings(x.ID, y.ID)
	})
	sorted := make([]domain.Conversation, len(all))
	for i, c := range byCreation {
		sorted[i] = *c
	}
	return sorted, nil
}

func compareStrings(x, y string) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// startOf is the index of the first conversation at or after p.
func startOf(convs []domain.Conversation, p *ExportPosition) int {
	i, _ := slices.BinarySearchFunc(convs, p, func(c domain.Conversation, p *ExportPosition) int {
		if d := c.CreatedAt.Compare(p.CreatedAt); d != 0 {
			return d
		}
		return compareStrings(c.ID, p.ID)
	})
	return i
}

// exportWindow is how many chains' first pages are read at once: a
// chart of up to that many conversations costs one round trip for all.
const exportWindow = 16

// exportChains reads the chains of convs into e until the budget is
// spent, and sets e.Next where the next part starts. The first pages of
// each window of conversations are read concurrently; the budget is then
// spent in order, so a part ends at the same message however the reads
// interleave.
func (a *App) exportChains(ctx context.Context, patientID string, convs []domain.Conversation, from *ExportPosition, e *Export) error {
	spent := 0
	for w := 0; w < len(convs); w += exportWindow {
		window := convs[w:min(w+exportWindow, len(convs))]
		starts := make([]map[string]string, len(window))
		pages := make([]Page[domain.Message], len(window))
		errs := make([]error, len(window))
		var wg sync.WaitGroup
		for i, conv := range window {
			if from != nil && from.Chain != nil && conv.ID == from.ID {
				starts[i] = from.Chain
			}
			wg.Go(func() {
				defer recovered(&errs[i])
				_, pages[i], errs[i] = a.repo.Chain(ctx, patientID, []domain.Audience{conv.Audience}, conv.ID, exportPage, starts[i])
			})
		}
		wg.Wait()
		for i, conv := range window {
			if errs[i] != nil {
				return errs[i]
			}
			out := ExportedConversation{Conversation: conv}
			if starts[i] != nil {
				out.FirstID, out.PreviousID = from.FirstID, from.PreviousID
			}
			done, err := a.exportChain(ctx, patientID, &out, starts[i], pages[i], &spent, e)
			if err != nil || done {
				return err
			}
		}
	}
	return nil
}

// exportChain spends the budget on one conversation's chain from its
// first page read, reading the rest; it returns true when the budget ended
// inside it, with e.Next set.
func (a *App) exportChain(ctx context.Context, patientID string, out *ExportedConversation, start map[string]string, page Page[domain.Message], spent *int, e *Export) (bool, error) {
	conv := out.Conversation
	for {
		cut := -1
		for j, m := range page.Items {
			cost := MessageCost(conv, m)
			if *spent+cost > a.exportBudget && *spent > 0 {
				cut = j
				break
			}
			*spent += cost
		}
		if cut < 0 {
			out.add(page.Items)
			if page.LastKey == nil {
				e.Conversations = append(e.Conversations, *out)
				return false, nil
			}
			start = page.LastKey
			var err error
			if _, page, err = a.repo.Chain(ctx, patientID, []domain.Audience{conv.Audience}, conv.ID, exportPage, start); err != nil {
				return false, err
			}
			continue
		}
		// The budget ends inside this page. Re-read it up to the cut for
		// the key the next part continues from: only the store knows keys.
		next := start
		if cut > 0 {
			var err error
			if _, page, err = a.repo.Chain(ctx, patientID, []domain.Audience{conv.Audience}, conv.ID, cut, start); err != nil {
				return false, err
			}
			out.add(page.Items)
			next = page.LastKey
		}
		if len(out.Messages) > 0 {
			e.Conversations = append(e.Conversations, *out)
		}
		e.Next = &ExportPosition{Part: e.Part + 1, ID: conv.ID, CreatedAt: conv.CreatedAt, Chain: next, FirstID: out.FirstID, PreviousID: out.PreviousID}
		if n := len(out.Messages); n > 0 {
			e.Next.PreviousID = out.Messages[n-1].ID
		}
		if next == nil {
			e.Next.FirstID, e.Next.PreviousID = "", ""
		}
		return true, nil
	}
}

// add appends msgs, noting the chain's first message.
func (x *ExportedConversation) add(msgs []domain.Message) {
	if x.FirstID == "" && len(msgs) > 0 {
		x.FirstID = msgs[0].ID
	}
	x.Messages = append(x.Messages, msgs...)
}
