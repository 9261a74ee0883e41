package app

import (
	"context"
	"sync"
	"time"

	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
)

// AttachmentRepository keeps the records of uploaded files; package store
// implements it over the Attachments table.
type AttachmentRepository interface {
	PutAttachment(ctx context.Context, a domain.Attachment, rec audit.Record) error
	Attachment(ctx context.Context, patientID, id string) (*domain.Attachment, error)
}

// Blobs signs the browser's direct requests to S3 (package attach
// implements it). Signing makes no network call.
type Blobs interface {
	// UploadSlot signs a POST of a's file to the upload bucket, bounded by
	// size, content type and key, valid for a few minutes.
	UploadSlot(ctx context.Context, a domain.Attachment) (UploadSlot, error)
	// DownloadURL signs a short-lived GET of a ready file (or its
	// thumbnail) in the chart bucket.
	DownloadURL(ctx context.Context, a domain.Attachment, thumbnail bool) (Download, error)
}

// UploadSlot is a presigned POST: the browser posts Fields and then the
// file to URL.
type UploadSlot struct {
	URL       string            `json:"url"`
	Fields    map[string]string `json:"fields"`
	MaxBytes  int64             `json:"maxBytes"`
	ExpiresAt time.Time         `json:"expiresAt"`
}

// Download is a presigned GET.
type Download struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// MaxUploadBytes is the largest file: the upload slot's POST policy makes
// S3 refuse anything bigger whatever the request claims.
const MaxUploadBytes = 10 << 20

// uploadTypes are the content types a slot may be asked for; the
// processor then checks the content itself.
var uploadTypes = map[string]bool{"image/jpeg": true, "image/png": true, "application/pdf": true}

// UploadRequest asks for an upload slot.
type UploadRequest struct {
	PatientID string
	// ConversationID is the conversation the file is for; empty for a
	// new conversation.
	ConversationID string
	Name           string
	ContentType    string
	Size           int64
}

// UploadResult is a new attachment and where to upload it.
type UploadResult struct {
	Attachment domain.Attachment
	Upload     UploadSlot
}

// RequestUpload checks access as a reply does (the patient, and the
// conversation when named, which must be open) and returns a pending
// attachment with its upload slot; the record commits with its audit
// record. Errors: EInvalid (name, contentType, size), ENotFound,
// EConflict (closed conversation).
func (a *App) RequestUpload(ctx context.Context, c *Call, in UploadRequest) (*UploadResult, error) {
	c.begin(audit.UploadAttachment, in.PatientID, in.ConversationID)
	if a.files == nil || a.blobs == nil {
		return nil, domain.Unavailable(errNoAttachments)
	}
	name, err := domain.CleanFileName(in.Name)
	if err != nil {
		return nil, err
	}
	if !uploadTypes[in.ContentType] {
		return nil, domain.Invalid("contentType", "only JPEG and PNG photos and PDF documents can be attached")
	}
	if in.Size < 1 || in.Size > MaxUploadBytes {
		return nil, domain.Invalid("size", "a file can be at most 10 MB; this one is %.1f MB", float64(in.Size)/(1<<20))
	}
	if in.ConversationID != "" && !domain.ValidConversationID(in.ConversationID) {
		return nil, domain.ErrNotFound
	}
	g, err := a.grant(ctx, c, in.PatientID, authz.Extra{ConversationID: in.ConversationID})
	if err != nil {
		return nil, err
	}
	if g.Conversation != nil && g.Conversation.Status != domain.StatusOpen {
		return nil, domain.Errorf(domain.EConflict, "the conversation is closed; start a new message instead")
	}
	att := domain.Attachment{
		ID: a.newID(c.At), PatientID: in.PatientID, ConversationID: in.ConversationID, Uploader: g.Actor,
		Name: name, ContentType: in.ContentType, State: domain.AttachmentPending, CreatedAt: c.At,
	}
	slot, err := a.blobs.UploadSlot(ctx, att)
	if err != nil {
		return nil, domain.Unavailable(err)
	}
	rec := c.record(audit.Success, 201)
	rec.TargetID = att.ID
	err = a.files.PutAttachment(ctx, att, rec)
	a.committed(ctx, c, rec, err)
	if err != nil {
		return nil, err
	}
	return &UploadResult{Attachment: att, Upload: slot}, nil
}

// AttachmentView is an attachment with, when it is ready, its short-lived
// download link.
type AttachmentView struct {
	Attachment domain.Attachment
	Download   *Download
}

// ReadAttachment returns an attachment of the patient and, when ready, a
// presigned GET of the file (thumbnail: of its thumbnail). Named with its
// conversation, a file is seen by whoever may read that conversation, once
// a message of it carries the file; named without, only by its uploader
// (to follow an upload before sending). Anyone else gets the same 404 as
// for a file that does not exist. Pending and blocked files have no link.
// The access read and the file's record are read together, and the record
// released only after its audit record is stored: two round trips.
// Errors: ENotFound.
func (a *App) ReadAttachment(ctx context.Context, c *Call, patientID, convID, attachmentID string, thumbnail bool) (*AttachmentView, error) {
	c.begin(audit.ReadAttachment, patientID, convID)
	if a.files == nil || a.blobs == nil {
		return nil, domain.Unavailable(errNoAttachments)
	}
	if !domain.ValidAttachmentID(attachmentID) || convID != "" && !domain.ValidConversationID(convID) {
		return nil, domain.ErrNotFound
	}
	q, err := authz.PatientQuery(c.Principal, patientID, authz.Extra{ConversationID: convID})
	if err != nil {
		return nil, err
	}
	facts, att, accErr, dataErr := both(ctx,
		func(ctx context.Context) (*authz.Facts, error) { return a.repo.LoadAccess(ctx, q) },
		func(ctx context.Context) (*domain.Attachment, error) {
			return a.files.Attachment(ctx, patientID, attachmentID)
		})
	if accErr != nil {
		return nil, accErr
	}
	c.read(facts)
	g, err := authz.DecidePatient(c.Principal, patientID, authz.Extra{ConversationID: convID}, facts)
	if err != nil {
		return nil, err
	}
	c.granted(g)
	if dataErr != nil {
		return nil, dataErr
	}
	visible := att.Uploader.ID == g.Actor.ID
	if convID != "" {
		visible = att.ConversationID == convID && att.MessageID != ""
	}
	if !visible {
		return nil, domain.ErrNotFound
	}
	view := &AttachmentView{Attachment: *att}
	if att.State == domain.AttachmentReady && (!thumbnail || att.Thumbnail) {
		d, err := a.blobs.DownloadURL(ctx, *att, thumbnail)
		if err != nil {
			return nil, domain.Unavailable(err)
		}
		view.Download = &d
	}
	rec := c.record(audit.Success, 200)
	rec.TargetID = att.ID
	if err := a.release(ctx, c, rec); err != nil {
		return nil, err
	}
	return view, nil
}

// prefetchAttachments starts reading the files a message names, so that
// the reads overlap the access read and a message with files still takes
// two round trips; the returned function waits for them. What it read is
// used only once access is granted. Errors as attachmentsFor.
func (a *App) prefetchAttachments(ctx context.Context, patientID string, ids []string, authorID string) func() ([]domain.AttachmentRef, error) {
	if len(ids) == 0 {
		return func() ([]domain.AttachmentRef, error) { return nil, nil }
	}
	var (
		refs []domain.AttachmentRef
		err  error
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		defer recovered(&err)
		refs, err = a.attachmentsFor(ctx, patientID, ids, authorID)
	}()
	return func() ([]domain.AttachmentRef, error) {
		<-done
		return refs, err
	}
}

// attachmentsFor reads the files a message names, all at once, and
// returns what the message records of them: each must be the author's own,
// ready and not yet sent. The transaction that writes the message checks
// the same again and claims them, so two messages can never carry one
// file, and it alone refuses a file sent already. Errors: EInvalid (attachmentIds).
func (a *App) attachmentsFor(ctx context.Context, patientID string, ids []string, authorID string) ([]domain.AttachmentRef, error) {
	if len(ids) > domain.MaxAttachmentsPerMessage {
		return nil, domain.Invalid("attachmentIds", "a message can carry at most %d files", domain.MaxAttachmentsPerMessage)
	}
	if a.files == nil {
		return nil, domain.Unavailable(errNoAttachments)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || !domain.ValidAttachmentID(id) {
			return nil, domain.Invalid("attachmentIds", "attachment IDs must be distinct attachment IDs")
		}
		seen[id] = true
	}
	atts := make([]*domain.Attachment, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			defer recovered(&errs[i])
			atts[i], errs[i] = a.files.Attachment(ctx, patientID, id)
		})
	}
	wg.Wait()
	refs := make([]domain.AttachmentRef, 0, len(ids))
	for i, id := range ids {
		att, err := atts[i], errs[i]
		if domain.ErrorCode(err) == domain.ENotFound || err == nil && att.Uploader.ID != authorID {
			return nil, domain.Invalid("attachmentIds", "attachment %s is not one of your uploads", id)
		}
		if err != nil {
			return nil, err
		}
		switch {
		case att.State == domain.AttachmentPending:
			return nil, domain.Invalid("attachmentIds", "%s is still being checked; send once it shows as ready", id)
		case att.State == domain.AttachmentBlocked:
			return nil, domain.Invalid("attachmentIds", "%s was refused and cannot be sent", id)
		}
		// One already sent is left to the transaction: a retry of the very
		// request that sent it replays its first answer (the idempotency
		// record decides first), and any other message is refused there.
		refs = append(refs, att.Ref())
	}
	return refs, nil
}

type errString string

func (e errString) Error() string { return string(e) }

// errNoAttachments means the function was built without attachment
// storage: a composition error, answered 503.
const errNoAttachments = errString("attachments are not configured for this function")
