package safe_test

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"strings"
	"testing"

	"github.com/pedsportal/messaging/internal/attach"
	"github.com/pedsportal/messaging/internal/attach/attachtest"
	"github.com/pedsportal/messaging/internal/attach/safe"
)

func hasExif(j []byte) bool { return bytes.Contains(j, []byte("Exif\x00\x00")) }

func TestPhotoLosesEXIFAndGPSAndStaysUpright(t *testing.T) {
	// A 60×40 landscape sensor image tagged "rotate 90° clockwise" (6), as
	// a phone held upright records it.
	in := attachtest.PhotoWithGPS(60, 40, 6)
	if !hasExif(in) || !bytes.Contains(in, []byte(attachtest.GPSMarker)) {
		t.Fatal("fixture has no EXIF with GPS")
	}
	got, err := safe.Make(attach.TypeJPEG, in)
	if err != nil {
		t.Fatal(err)
	}
	if hasExif(got.Data) || bytes.Contains(got.Data, []byte(attachtest.GPSMarker)) {
		t.Fatal("stored image still carries EXIF or the GPS text")
	}
	img, err := jpeg.Decode(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 40 || b.Dy() != 60 || got.Width != 40 || got.Height != 60 {
		t.Fatalf("size %v (%dx%d), want 40x60 upright", b, got.Width, got.Height)
	}
	// The red quadrant was top-left of the sensor image; turned 90°
	// clockwise it is top-right.
	if r, _, _, _ := img.At(30, 5).RGBA(); r>>8 < 180 {
		t.Fatalf("top-right pixel is not red: rotation not applied (r=%d)", r>>8)
	}
	if len(got.Thumb) == 0 || hasExif(got.Thumb) {
		t.Fatal("no clean thumbnail")
	}
}

func TestPNGTextChunksAreDropped(t *testing.T) {
	in := attachtest.PNGWithText(50, 50)
	if !bytes.Contains(in, []byte(attachtest.GPSMarker)) {
		t.Fatal("fixture lacks the text chunk")
	}
	got, err := safe.Make(attach.TypePNG, in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(got.Data, []byte(attachtest.GPSMarker)) || bytes.Contains(got.Data, []byte("tEXt")) {
		t.Fatal("stored PNG keeps the text chunk")
	}
}

func TestPolyglotIsNeutralised(t *testing.T) {
	got, err := safe.Make(attach.TypeJPEG, attachtest.Polyglot())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(got.Data, []byte("<script")) || bytes.Contains(got.Data, []byte("<html")) {
		t.Fatal("the appended page survived re-encoding")
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name     string
		declared string
		data     []byte
		want     string
	}{
		{"SVG renamed .png", attach.TypePNG, attachtest.SVG(), "only JPEG and PNG"},
		{"HTML renamed .png", attach.TypePNG, attachtest.HTML(), "only JPEG and PNG"},
		{"HEIC", attach.TypeJPEG, append([]byte("\x00\x00\x00\x18ftypheic"), make([]byte, 32)...), "only JPEG and PNG"},
		{"PDF declared as a photo", attach.TypeJPEG, attachtest.PDF(false), "not what its name says"},
		{"PDF with JavaScript", attach.TypePDF, attachtest.PDF(true), "active content"},
		{"truncated PDF", attach.TypePDF, []byte("%PDF-1.4\n1 0 obj"), "incomplete"},
		{"JPEG header, no image", attach.TypeJPEG, []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0}, "cannot be read"},
		{"empty", attach.TypeJPEG, nil, "1 byte to 10 MB"},
		{"11 MB", attach.TypeJPEG, make([]byte, 11<<20), "1 byte to 10 MB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := safe.Make(tt.declared, tt.data)
			if !errors.Is(err, safe.ErrRefused) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a refusal saying %q", err, tt.want)
			}
		})
	}
}

func TestDecompressionBombIsRefusedBeforeDecoding(t *testing.T) {
	// A PNG header declaring 100,000 × 100,000 pixels.
	bomb := attachtest.PNGBomb(100_000, 100_000)
	if _, _, err := image.DecodeConfig(bytes.NewReader(bomb)); err != nil {
		t.Fatalf("fixture header does not decode: %v", err)
	}
	_, err := safe.Make(attach.TypePNG, bomb)
	if !errors.Is(err, safe.ErrRefused) {
		t.Fatalf("err = %v, want refusal", err)
	}
}

func TestPDFIsKeptAsIs(t *testing.T) {
	in := attachtest.PDF(false)
	got, err := safe.Make(attach.TypePDF, in)
	if err != nil || !bytes.Equal(got.Data, in) || got.Thumb != nil {
		t.Fatalf("got %v, %v", got.ContentType, err)
	}
}

func TestScanLocalRecognisesEICAR(t *testing.T) {
	if got := attach.ScanLocal(attach.EICAR()); got != attach.ScanThreats {
		t.Fatalf("EICAR: %s", got)
	}
	if got := attach.ScanLocal(attachtest.JPEG(attachtest.Pattern(8, 8))); got != attach.ScanClean {
		t.Fatalf("photo: %s", got)
	}
}
