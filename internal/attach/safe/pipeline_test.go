package safe_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/attach"
	"github.com/pedsportal/messaging/internal/attach/attachtest"
	"github.com/pedsportal/messaging/internal/attach/safe"
	"github.com/pedsportal/messaging/internal/audit"
	"github.com/pedsportal/messaging/internal/authz"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/localdev/dynamotest"
	"github.com/pedsportal/messaging/internal/localdev/s3local"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
)

var s3srv *s3local.Server

var buckets = attach.Buckets{Uploads: "uploads", Chart: "chart"}

// One DynamoDB Local and one local S3 per test binary.
func TestMain(m *testing.M) {
	os.Exit(func() int {
		var err error
		s3srv, err = s3local.Start(context.Background(), s3local.Options{Buckets: []string{buckets.Uploads, buckets.Chart}})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer s3srv.Stop()
		return dynamotest.Run(m)
	}())
}

// stack is the product's attachment path over real parts: DynamoDB Local,
// the local S3, the local scanner delivering GuardDuty's event to the
// processor.
type stack struct {
	app     *app.App
	store   *store.Store
	signer  *attach.Signer
	scanner *attach.LocalScanner
}

func newStack(t *testing.T) *stack {
	t.Helper()
	client, prefix := dynamotest.New(t)
	st := store.New(client, store.TablesWithPrefix(prefix))
	if err := seed.Directory(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if err := seed.Conversations(t.Context(), st, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	// Each test its own prefix of keys: patients are shared, attachment
	// IDs are unique.
	c := s3local.NewClient(s3srv.Endpoint())
	signer := attach.NewSigner(c, buckets)
	proc := &safe.Processor{S3: c, Buckets: buckets, Records: st}
	return &stack{
		app:    app.New(st, st, app.Options{Attachments: st, Blobs: signer}),
		store:  st,
		signer: signer,
		scanner: &attach.LocalScanner{S3: c, Bucket: buckets.Uploads, Deliver: func(ctx context.Context, ev events.CloudWatchEvent) error {
			r, err := attach.ScanResultOf(ev)
			if err != nil {
				return err
			}
			return proc.Process(ctx, r)
		}},
	}
}

var (
	ana   = authz.Principal{ID: seed.ParentRivera, Side: domain.SidePortal}
	wei   = authz.Principal{ID: seed.ParentChen, Side: domain.SidePortal}
	nurse = authz.Principal{ID: seed.NurseKim, Side: domain.SideStaff, Groups: []domain.StaffRole{domain.RoleNurse}}
)

func (s *stack) call(p authz.Principal) *app.Call {
	return s.app.NewCall(p, ulid.Make().String(), "127.0.0.1")
}

// upload asks for a slot as p, posts data to S3 as the browser does, and
// runs the scanner and processor; it returns the attachment and S3's
// answer to the post.
func (s *stack) upload(t *testing.T, p authz.Principal, convID, name, typ string, data []byte) (domain.Attachment, s3local.PostResult) {
	t.Helper()
	ctx := t.Context()
	res, err := s.app.RequestUpload(ctx, s.call(p), app.UploadRequest{
		PatientID: seed.Mateo, ConversationID: convID, Name: name, ContentType: typ, Size: int64(len(data)),
	})
	if err != nil {
		t.Fatalf("request upload: %v", err)
	}
	post, err := s3local.Post(ctx, res.Upload.URL, res.Upload.Fields, "", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.scanner.Sweep(ctx); err != nil {
		t.Fatalf("scan: %v", err)
	}
	return res.Attachment, post
}

// read reads a file as its uploader does before sending (conv "") or as
// the conversation's readers do once sent.
func (s *stack) read(t *testing.T, p authz.Principal, conv, id string, thumb bool) *app.AttachmentView {
	t.Helper()
	v, err := s.app.ReadAttachment(t.Context(), s.call(p), seed.Mateo, conv, id, thumb)
	if err != nil {
		t.Fatalf("read attachment: %v", err)
	}
	return v
}

func get(t *testing.T, url string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header
}

// GIVEN a phone photo with GPS EXIF WHEN Ana uploads it to Mateo's rash
// conversation and replies with it THEN the stored image has no EXIF, its
// SHA-256 and size are the message's, the nurse downloads the same bytes,
// the thumbnail is there, the original upload is gone, and the link
// expires.
func TestPhotoWithGPSIsStoredWithoutEXIFAndSent(t *testing.T) {
	s := newStack(t)
	ctx := t.Context()
	s.signer.DownloadTTL = 2 * time.Second
	att, post := s.upload(t, ana, seed.ConvRash, "rash.jpg", attach.TypeJPEG, attachtest.PhotoWithGPS(80, 60, 1))
	if post.Status >= 300 {
		t.Fatalf("upload refused: %+v", post)
	}
	v := s.read(t, ana, "", att.ID, false)
	if v.Attachment.State != domain.AttachmentReady || v.Download == nil {
		t.Fatalf("not ready: %+v", v.Attachment)
	}
	status, body, hdr := get(t, v.Download.URL)
	if status != 200 || bytes.Contains(body, []byte("Exif")) || bytes.Contains(body, []byte(attachtest.GPSMarker)) {
		t.Fatalf("download %d, EXIF present: %v", status, bytes.Contains(body, []byte("Exif")))
	}
	sum := sha256.Sum256(body)
	if hex.EncodeToString(sum[:]) != v.Attachment.SHA256 || int64(len(body)) != v.Attachment.Size {
		t.Fatal("stored bytes do not match the recorded SHA-256 and size")
	}
	if got := hdr.Get("Content-Type"); got != attach.TypeJPEG {
		t.Fatalf("content type %q", got)
	}
	if tv := s.read(t, ana, "", att.ID, true); tv.Download == nil {
		t.Fatal("no thumbnail link")
	} else if st, tb, _ := get(t, tv.Download.URL); st != 200 || !bytes.HasPrefix(tb, []byte{0xFF, 0xD8}) {
		t.Fatalf("thumbnail %d", st)
	}

	res, err := s.app.Reply(ctx, s.call(ana), app.ReplyRequest{
		PatientID: seed.Mateo, ConversationID: seed.ConvRash, Body: "Here is a photo of the rash.",
		AttachmentIDs: []string{att.ID}, Idem: app.Idempotency{CallerID: ana.ID, Key: ulid.Make().String(), Hash: "h"},
	})
	if err != nil {
		t.Fatalf("reply: %v", err)
	}
	want := []domain.AttachmentRef{v.Attachment.Ref()}
	if !reflect.DeepEqual(res.Message.Attachments, want) {
		t.Fatalf("message attachments %+v, want %+v", res.Message.Attachments, want)
	}
	chain, err := s.app.ReadConversation(ctx, s.call(nurse), seed.Mateo, seed.ConvRash, 50, nil)
	if err != nil {
		t.Fatal(err)
	}
	var stored []domain.AttachmentRef
	for _, m := range chain.Messages.Items {
		if m.ID == res.Message.ID {
			stored = m.Attachments
		}
	}
	if !reflect.DeepEqual(stored, want) {
		t.Fatalf("stored message attachments %+v", stored)
	}
	nv := s.read(t, nurse, seed.ConvRash, att.ID, false)
	if _, nb, _ := get(t, nv.Download.URL); !bytes.Equal(nb, body) {
		t.Fatal("the nurse got other bytes")
	}
	// The same file cannot ride on a second message.
	_, err = s.app.Reply(ctx, s.call(ana), app.ReplyRequest{
		PatientID: seed.Mateo, ConversationID: seed.ConvRash, Body: "again", AttachmentIDs: []string{att.ID},
		Idem: app.Idempotency{CallerID: ana.ID, Key: ulid.Make().String(), Hash: "h2"},
	})
	if domain.ErrorCode(err) != domain.EInvalid {
		t.Fatalf("second use: %v", err)
	}
	// The upload itself is gone: only the safe copy is kept.
	if st, _, _ := get(t, mustPresignUpload(t, s, att)); st != http.StatusNotFound {
		t.Fatalf("original still there: %d", st)
	}
	time.Sleep(2500 * time.Millisecond)
	if st, _, _ := get(t, nv.Download.URL); st != http.StatusForbidden {
		t.Fatalf("expired link answered %d", st)
	}
	trail, err := s.store.AuditTrail(ctx, seed.Mateo)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[audit.Action]int{}
	for _, r := range trail {
		if r.TargetID == att.ID {
			counts[r.Action]++
		}
	}
	if counts[audit.UploadAttachment] != 1 || counts[audit.ProcessAttachment] != 1 || counts[audit.ReadAttachment] != 3 {
		t.Fatalf("audit records for the file: %v", counts)
	}
}

// mustPresignUpload signs a GET of the upload itself, as only the
// processor could: to check the original was deleted.
func mustPresignUpload(t *testing.T, s *stack, a domain.Attachment) string {
	t.Helper()
	url, err := s3local.PresignGet(t.Context(), s3srv.Endpoint(), buckets.Uploads, attach.UploadKey(a.PatientID, a.ID))
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// GIVEN the EICAR test file WHEN the nurse uploads it THEN it is blocked:
// no download link, and no message can carry it.
func TestEICARIsBlockedAndNeverDownloadable(t *testing.T) {
	s := newStack(t)
	att, post := s.upload(t, nurse, seed.ConvRash, "care-plan.pdf", attach.TypePDF, attach.EICAR())
	if post.Status >= 300 {
		t.Fatalf("upload refused by S3: %+v", post)
	}
	v := s.read(t, nurse, "", att.ID, false)
	if v.Attachment.State != domain.AttachmentBlocked || v.Attachment.Blocked != "malware" || v.Download != nil {
		t.Fatalf("EICAR: %+v, download %v", v.Attachment, v.Download)
	}
	_, err := s.app.Reply(t.Context(), s.call(nurse), app.ReplyRequest{
		PatientID: seed.Mateo, ConversationID: seed.ConvRash, Body: "plan", AttachmentIDs: []string{att.ID},
		Idem: app.Idempotency{CallerID: nurse.ID, Key: ulid.Make().String(), Hash: "h"},
	})
	if domain.ErrorCode(err) != domain.EInvalid {
		t.Fatalf("sending a blocked file: %v", err)
	}
}

// GIVEN an 11 MB file WHEN the browser posts it to a slot (the page's own
// check bypassed) THEN S3 refuses it by the slot's policy and nothing is
// stored or processed.
func TestElevenMegabytesAreRefusedByS3(t *testing.T) {
	s := newStack(t)
	ctx := t.Context()
	res, err := s.app.RequestUpload(ctx, s.call(ana), app.UploadRequest{
		PatientID: seed.Mateo, ConversationID: seed.ConvRash, Name: "big.jpg", ContentType: attach.TypeJPEG, Size: 9 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	post, err := s3local.Post(ctx, res.Upload.URL, res.Upload.Fields, "", bytes.NewReader(attachtest.Noise(11<<20)))
	if err != nil {
		t.Fatal(err)
	}
	if post.Status != http.StatusBadRequest || !strings.Contains(post.Body, "EntityTooLarge") {
		t.Fatalf("S3 answered %d %s", post.Status, post.Body)
	}
	if n, err := s.scanner.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("scanned %d, %v: something was stored", n, err)
	}
	if v := s.read(t, ana, "", res.Attachment.ID, false); v.Attachment.State != domain.AttachmentPending || v.Download != nil {
		t.Fatalf("after a refused upload: %+v", v.Attachment)
	}
	// The app refuses to sign for a declared 11 MB in the first place.
	_, err = s.app.RequestUpload(ctx, s.call(ana), app.UploadRequest{
		PatientID: seed.Mateo, ConversationID: seed.ConvRash, Name: "big.jpg", ContentType: attach.TypeJPEG, Size: 11 << 20,
	})
	var de *domain.Error
	if !errors.As(err, &de) || de.Field != "size" {
		t.Fatalf("declared 11 MB: %v", err)
	}
}

// GIVEN an SVG and an HTML page named .png WHEN uploaded as PNG THEN each
// is blocked for its content and says so.
func TestRenamedSVGAndHTMLAreRefused(t *testing.T) {
	s := newStack(t)
	for name, data := range map[string][]byte{"rash.png": attachtest.SVG(), "form.png": attachtest.HTML()} {
		att, _ := s.upload(t, ana, seed.ConvRash, name, attach.TypePNG, data)
		v := s.read(t, ana, "", att.ID, false)
		if v.Attachment.State != domain.AttachmentBlocked || v.Attachment.Blocked != "content" || v.Download != nil ||
			!strings.Contains(v.Attachment.Problem, "only JPEG and PNG") {
			t.Fatalf("%s: %+v", name, v.Attachment)
		}
	}
}

// GIVEN a file in Mateo's chart WHEN Wei (no link to Mateo) asks for it,
// or anyone asks for a file that does not exist, THEN both get the very
// same not-found error; a file not yet sent is its uploader's alone.
func TestForeignAndMissingAttachmentsAnswerAlike(t *testing.T) {
	s := newStack(t)
	att, _ := s.upload(t, ana, seed.ConvRash, "rash.jpg", attach.TypeJPEG, attachtest.PhotoWithGPS(20, 20, 1))
	read := func(p authz.Principal, conv, id string) error {
		_, err := s.app.ReadAttachment(t.Context(), s.call(p), seed.Mateo, conv, id, false)
		return err
	}
	for name, err := range map[string]error{
		"foreign":                           read(wei, "", att.ID),
		"foreign, through its chain":        read(wei, seed.ConvRash, att.ID),
		"missing":                           read(ana, "", ulid.Make().String()),
		"not yet sent, to staff":            read(nurse, seed.ConvRash, att.ID),
		"not yet sent, to the other parent": read(authz.Principal{ID: seed.ParentLuis, Side: domain.SidePortal}, "", att.ID),
	} {
		if !errors.Is(err, domain.ErrNotFound) || err != domain.ErrNotFound {
			t.Fatalf("%s: %v, want domain.ErrNotFound itself", name, err)
		}
	}
}

// GIVEN file names carrying the XSS corpus's payloads (the browser test's,
// those without a path separator: a device gives the name after the last
// one) WHEN uploaded THEN each is kept as typed, as text, for the pages to
// show as text.
func TestMarkupInNamesIsKeptAsText(t *testing.T) {
	s := newStack(t)
	for _, name := range []string{
		`<img src=x onerror="window.__xss=1;alert(1)">.jpg`,
		`<svg onload="window.__xss=2;alert(2)">.jpg`,
		`"><img src=x onerror=window.__xss=5>.jpg`,
		`" onmouseover="window.__xss=7" x=".jpg`,
		`<details open ontoggle="window.__xss=9">x.jpg`,
	} {
		att, _ := s.upload(t, ana, seed.ConvRash, `C:\Users\ana\`+name, attach.TypeJPEG, attachtest.PhotoWithGPS(20, 20, 1))
		if v := s.read(t, ana, "", att.ID, false); v.Attachment.Name != name {
			t.Fatalf("name %q, want %q", v.Attachment.Name, name)
		}
	}
}

// GIVEN a reply with a file that committed WHEN the client retries it
// with the same Idempotency-Key THEN it gets the first answer, not a
// refusal of the file it already sent.
func TestRetriedReplyWithAFileReplays(t *testing.T) {
	s := newStack(t)
	att, _ := s.upload(t, ana, seed.ConvRash, "rash.jpg", attach.TypeJPEG, attachtest.PhotoWithGPS(20, 20, 1))
	req := app.ReplyRequest{
		PatientID: seed.Mateo, ConversationID: seed.ConvRash, Body: "photo", AttachmentIDs: []string{att.ID},
		Idem: app.Idempotency{CallerID: ana.ID, Key: ulid.Make().String(), Hash: "same"},
	}
	first, err := s.app.Reply(t.Context(), s.call(ana), req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.app.Reply(t.Context(), s.call(ana), req)
	if err != nil || !again.Replayed || again.Message.ID != first.Message.ID || len(again.Message.Attachments) != 1 {
		t.Fatalf("retry: %+v, %v", again, err)
	}
}
