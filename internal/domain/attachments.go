package domain

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// AttachmentState is where an uploaded file stands.
type AttachmentState string

// States. An upload slot starts pending; the processor makes it ready
// (scanned clean, its content checked and re-encoded) or blocked
// (malware, not scanned, or content refused). Only a ready file can be
// attached to a message or downloaded.
const (
	AttachmentPending AttachmentState = "pending"
	AttachmentReady   AttachmentState = "ready"
	AttachmentBlocked AttachmentState = "blocked"
)

// MaxAttachmentsPerMessage bounds the files of one message.
const MaxAttachmentsPerMessage = 5

// AttachmentNameMax is the longest file name kept, in characters.
const AttachmentNameMax = 120

// Attachment is one uploaded file of a patient's chart.
type Attachment struct {
	ID        string `json:"id"`
	PatientID string `json:"patientId"`
	// ConversationID is the conversation it was uploaded for; empty for a
	// file uploaded for a new conversation until its message is written.
	ConversationID string `json:"conversationId,omitempty"`
	// MessageID is set once a message carries it.
	MessageID string `json:"messageId,omitempty"`
	Uploader  Party  `json:"uploadedBy"`
	// Name is the file name the uploader's device gave, shown as text.
	Name string `json:"name"`
	// ContentType is the declared type until processed, then the type
	// found in the content.
	ContentType string          `json:"contentType"`
	Size        int64           `json:"size,omitempty"`
	SHA256      string          `json:"sha256,omitempty"`
	Width       int             `json:"width,omitempty"`
	Height      int             `json:"height,omitempty"`
	Thumbnail   bool            `json:"thumbnail"`
	State       AttachmentState `json:"state"`
	// Blocked says why: "malware", "unscanned" or "content".
	Blocked string `json:"blocked,omitempty"`
	// Problem is the refusal in words, for the uploader.
	Problem     string     `json:"problem,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	ProcessedAt *time.Time `json:"processedAt,omitempty"`
}

// Ref is what a message carries of an attachment, written with the
// message and never changed.
func (a Attachment) Ref() AttachmentRef {
	return AttachmentRef{ID: a.ID, Name: a.Name, ContentType: a.ContentType, Size: a.Size, SHA256: a.SHA256, Thumbnail: a.Thumbnail}
}

// AttachmentRef is an attachment as a message records it.
type AttachmentRef struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	Thumbnail   bool   `json:"thumbnail"`
}

// CleanFileName returns the last path element of a file name with control
// and format characters removed and trimmed to AttachmentNameMax
// characters, or an EInvalid error naming field "name". Markup in a name
// is kept as typed: pages show names as text, never as HTML.
func CleanFileName(name string) (string, error) {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if !utf8.ValidString(name) {
		return "", Invalid("name", "name is not valid UTF-8")
	}
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == ".." {
		return "", Invalid("name", "name is required")
	}
	if utf8.RuneCountInString(name) > AttachmentNameMax {
		r := []rune(name)
		name = string(r[:AttachmentNameMax])
	}
	return name, nil
}

// ValidAttachmentID reports whether id has the shape of an attachment ID
// (a ULID), so that a request naming anything else is answered as not
// found without a read.
func ValidAttachmentID(id string) bool { return ValidConversationID(id) }
