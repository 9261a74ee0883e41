// Package attachtest makes the files the attachment tests upload: a phone
// photo with GPS EXIF, a PNG with text chunks, polyglots, renamed SVG and
// HTML, PDFs with and without active content.
package attachtest

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
)

// GPSMarker is written into the EXIF of PhotoWithGPS (as the GPS
// position's text and the image description), so a test can prove that
// nothing of it is stored.
const GPSMarker = "41.878113N 87.629799W Home"

// Pattern is a w×h image with a distinct top-left quadrant (red), so a
// test can tell which way up it is.
func Pattern(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{40, 120, 200, 255}
			if x < w/2 && y < h/2 {
				c = color.RGBA{230, 20, 20, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// JPEG encodes img.
func JPEG(img image.Image) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// PhotoWithGPS is a w×h JPEG carrying an EXIF block with an orientation
// tag, an image description and a GPS IFD, as a phone writes them.
func PhotoWithGPS(w, h, orientation int) []byte {
	return WithExif(JPEG(Pattern(w, h)), orientation)
}

// WithExif inserts an APP1 EXIF segment after the JPEG's SOI marker.
func WithExif(j []byte, orientation int) []byte {
	le := binary.LittleEndian
	desc := []byte(GPSMarker + "\x00")
	// TIFF header, IFD0 with 3 entries (ImageDescription, Orientation,
	// GPS IFD pointer), then the description text, then the GPS IFD with
	// one ASCII entry holding the position.
	var t bytes.Buffer
	t.WriteString("II")
	_ = binary.Write(&t, le, uint16(42))
	_ = binary.Write(&t, le, uint32(8))
	ifd0Size := 2 + 3*12 + 4
	descOff := 8 + ifd0Size
	gpsOff := descOff + len(desc)
	entry := func(tag, typ uint16, count, value uint32) {
		_ = binary.Write(&t, le, tag)
		_ = binary.Write(&t, le, typ)
		_ = binary.Write(&t, le, count)
		_ = binary.Write(&t, le, value)
	}
	_ = binary.Write(&t, le, uint16(3))
	entry(0x010E, 2, uint32(len(desc)), uint32(descOff))
	entry(0x0112, 3, 1, uint32(orientation))
	entry(0x8825, 4, 1, uint32(gpsOff))
	_ = binary.Write(&t, le, uint32(0))
	t.Write(desc)
	gpsText := []byte(GPSMarker + "\x00")
	_ = binary.Write(&t, le, uint16(1))
	entry(0x001B, 7, uint32(len(gpsText)), uint32(gpsOff+2+12+4)) // GPSProcessingMethod
	_ = binary.Write(&t, le, uint32(0))
	t.Write(gpsText)

	seg := append([]byte("Exif\x00\x00"), t.Bytes()...)
	var out bytes.Buffer
	out.Write(j[:2])
	out.Write([]byte{0xFF, 0xE1})
	_ = binary.Write(&out, binary.BigEndian, uint16(len(seg)+2))
	out.Write(seg)
	out.Write(j[2:])
	return out.Bytes()
}

// PNGWithText is a PNG with a tEXt chunk holding GPSMarker.
func PNGWithText(w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, Pattern(w, h)); err != nil {
		panic(err)
	}
	p := b.Bytes()
	// After the 8-byte signature and the 25-byte IHDR chunk.
	chunk := pngChunk("tEXt", append([]byte("Location\x00"), GPSMarker...))
	return append(append(append([]byte{}, p[:33]...), chunk...), p[33:]...)
}

func pngChunk(typ string, data []byte) []byte {
	var c bytes.Buffer
	_ = binary.Write(&c, binary.BigEndian, uint32(len(data)))
	c.WriteString(typ)
	c.Write(data)
	_ = binary.Write(&c, binary.BigEndian, crc(append([]byte(typ), data...)))
	return c.Bytes()
}

func crc(b []byte) uint32 {
	var table [256]uint32
	for i := range table {
		c := uint32(i)
		for range 8 {
			if c&1 == 1 {
				c = 0xEDB88320 ^ (c >> 1)
			} else {
				c >>= 1
			}
		}
		table[i] = c
	}
	c := ^uint32(0)
	for _, x := range b {
		c = table[byte(c)^x] ^ (c >> 8)
	}
	return ^c
}

// Polyglot is a valid JPEG followed by an HTML page with a script: a file
// that is an image to one program and a page to another.
func Polyglot() []byte {
	return append(JPEG(Pattern(64, 48)), []byte("<html><script>alert(document.cookie)</script></html>")...)
}

// SVG is an SVG image with a script, to be uploaded named .png.
func SVG() []byte {
	return []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>`)
}

// HTML is a page with a script, to be uploaded named .png.
func HTML() []byte {
	return []byte("<!doctype html><html><body><script>alert(1)</script></body></html>")
}

// PDF is a minimal one-page PDF; with js it carries an OpenAction script.
func PDF(js bool) []byte {
	action := ""
	if js {
		action = " /OpenAction << /S /JavaScript /JS (app.alert(1)) >>"
	}
	return []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R" + action + " >> endobj\n" +
		"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n" +
		"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >> endobj\n" +
		"trailer << /Root 1 0 R >>\n%%EOF\n")
}

// Noise is n random bytes that are no known type: for size tests.
func Noise(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// BigPhoto is a JPEG of about n bytes (noise compresses badly), for the
// upload-to-visible figure.
func BigPhoto(n int) []byte {
	side := 256
	for {
		img := image.NewRGBA(image.Rect(0, 0, side, side*3/4))
		r := rand.New(rand.NewPCG(3, 4))
		for i := range img.Pix {
			img.Pix[i] = byte(r.Uint32())
		}
		j := JPEG(img)
		if len(j) >= n || side > 4096 {
			return j
		}
		side += side / 4
	}
}

// PNGBomb is a PNG header declaring a w×h canvas and no pixels: a
// decompression bomb's opening, refused before any pixel is decoded.
func PNGBomb(w, h uint32) []byte {
	var ihdr bytes.Buffer
	_ = binary.Write(&ihdr, binary.BigEndian, w)
	_ = binary.Write(&ihdr, binary.BigEndian, h)
	ihdr.Write([]byte{8, 2, 0, 0, 0}) // 8-bit RGB
	out := append([]byte("\x89PNG\r\n\x1a\n"), pngChunk("IHDR", ihdr.Bytes())...)
	return append(out, pngChunk("IEND", nil)...)
}
