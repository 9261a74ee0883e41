// Package attach names where attachments live and what they may be, signs
// the browser's uploads and downloads, and reads GuardDuty's verdicts;
// package attach/safe makes what is uploaded safe to keep and open.
package attach

// MaxBytes is the largest upload: the POST policy's content-length-range
// makes S3 itself refuse anything bigger.
const MaxBytes = 10 << 20

// Content types the product stores.
const (
	TypeJPEG = "image/jpeg"
	TypePNG  = "image/png"
	TypePDF  = "application/pdf"
)

// Allowed reports whether a declared content type may be asked for.
func Allowed(contentType string) bool {
	return contentType == TypeJPEG || contentType == TypePNG || contentType == TypePDF
}
