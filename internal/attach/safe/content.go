// Package safe makes an uploaded file safe to keep in the chart and to
// open: it recognises the type by content (never by name or by what the
// browser claims), re-encodes images so that nothing but pixels survives
// (EXIF with a child's home GPS position, comments, appended payloads of a
// polyglot), checks PDFs, and makes the thumbnail shown in the chain.
//
// Allowed: JPEG, PNG and PDF. HEIC/HEIF is refused: no decoder in Go's
// standard library or x/image reads it, the C ones (libheif, libde265)
// would need cgo in bootstraps built with CGO_ENABLED=0 and have a long CVE
// record, and Safari on iPhones already converts a HEIC photo to JPEG when
// the file input accepts only image/jpeg and image/png, as the pages' does.
package safe

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

	"golang.org/x/image/draw"

	"github.com/pedsportal/messaging/internal/attach"
)

// MaxPixels bounds a decoded image (a decompression bomb declares a huge
// canvas in a few bytes): 50 megapixels is above any phone camera.
const MaxPixels = 50_000_000

// ThumbSize is the longest side of a thumbnail, in pixels.
const ThumbSize = 320

// ErrRefused is wrapped by every refusal of a file's content; its message
// says why in words a person can act on.
var ErrRefused = errors.New("file refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

// Sniff names the type of data by its first bytes: JPEG, PNG or PDF.
// Anything else (an SVG or HTML page renamed .png, HEIC, a program) is
// refused.
func Sniff(data []byte) (string, error) {
	switch {
	case bytes.HasPrefix(data, []byte{0xFF, 0xD8, 0xFF}):
		return attach.TypeJPEG, nil
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return attach.TypePNG, nil
	case bytes.HasPrefix(data, []byte("%PDF-")):
		return attach.TypePDF, nil
	}
	return "", refuse("only JPEG and PNG photos and PDF documents can be attached")
}

// File is a file made safe to store.
type File struct {
	Data        []byte
	ContentType string
	// Thumb is a JPEG of at most ThumbSize pixels a side, for images only.
	Thumb         []byte
	Width, Height int
}

// Make checks data against the declared content type and returns what is
// stored: for an image, a fresh encoding of its pixels only (upright, as
// the camera's orientation tag said) and a thumbnail; for a PDF, the same
// bytes once they pass the checks. The original is never returned.
func Make(declared string, data []byte) (File, error) {
	if len(data) == 0 || len(data) > attach.MaxBytes {
		return File{}, refuse("a file must hold 1 byte to 10 MB")
	}
	kind, err := Sniff(data)
	if err != nil {
		return File{}, err
	}
	if kind != declared {
		return File{}, refuse("the file's content is not what its name says")
	}
	if kind == attach.TypePDF {
		if err := checkPDF(data); err != nil {
			return File{}, err
		}
		return File{Data: data, ContentType: attach.TypePDF}, nil
	}
	return reencode(kind, data)
}

func reencode(kind string, data []byte) (File, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return File{}, refuse("the image cannot be read")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > MaxPixels {
		return File{}, refuse("the image is larger than 50 megapixels")
	}
	var img image.Image
	if kind == attach.TypeJPEG {
		img, err = jpeg.Decode(bytes.NewReader(data))
	} else {
		img, err = png.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return File{}, refuse("the image cannot be read")
	}
	if kind == attach.TypeJPEG {
		img = orient(img, jpegOrientation(data))
	}
	var out bytes.Buffer
	if kind == attach.TypeJPEG {
		err = jpeg.Encode(&out, img, &jpeg.Options{Quality: 88})
	} else {
		err = (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&out, img)
	}
	if err != nil {
		return File{}, fmt.Errorf("safe: encode: %w", err)
	}
	thumb, err := thumbnail(img)
	if err != nil {
		return File{}, err
	}
	b := img.Bounds()
	return File{Data: out.Bytes(), ContentType: kind, Thumb: thumb, Width: b.Dx(), Height: b.Dy()}, nil
}

func thumbnail(img image.Image) ([]byte, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w > ThumbSize || h > ThumbSize {
		if w >= h {
			w, h = ThumbSize, max(1, h*ThumbSize/w)
		} else {
			w, h = max(1, w*ThumbSize/h), ThumbSize
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	// White under transparent PNG pixels, which JPEG cannot keep.
	draw.Draw(dst, dst.Bounds(), image.White, image.Point{}, draw.Src)
	draw.CatmullRom.Scale(dst, dst.Bounds(), img, b, draw.Over, nil)
	var out bytes.Buffer
	if err := jpeg.Encode(&out, dst, &jpeg.Options{Quality: 80}); err != nil {
		return nil, fmt.Errorf("safe: thumbnail: %w", err)
	}
	return out.Bytes(), nil
}

// checkPDF accepts a PDF that ends as one does and carries nothing that
// runs: no JavaScript, no launch or submit actions, no embedded files.
// PDFs are served as downloads only, never inline, so a viewer's own
// sandbox is the second line.
func checkPDF(data []byte) error {
	tail := data[max(0, len(data)-2048):]
	if !bytes.Contains(tail, []byte("%%EOF")) {
		return refuse("the PDF is incomplete or damaged")
	}
	for _, name := range []string{"/JavaScript", "/JS", "/Launch", "/EmbeddedFile", "/SubmitForm", "/RichMedia", "/XFA"} {
		if containsName(data, name) {
			return refuse("the PDF contains active content (%s); print it to a new PDF and attach that", name[1:])
		}
	}
	return nil
}

// containsName reports whether a PDF name occurs as a whole name: /JS but
// not /JSON.
func containsName(data []byte, name string) bool {
	n := []byte(name)
	for i := 0; ; {
		j := bytes.Index(data[i:], n)
		if j < 0 {
			return false
		}
		end := i + j + len(n)
		if end == len(data) || !isNameChar(data[end]) {
			return true
		}
		i = end
	}
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
}
