package devstack_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/pedsportal/messaging/internal/attach"
	"github.com/pedsportal/messaging/internal/attach/attachtest"
	"github.com/pedsportal/messaging/internal/devstack"
	"github.com/pedsportal/messaging/internal/localdev/s3local"
	"github.com/pedsportal/messaging/internal/seed"
)

type attachmentJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	State       string `json:"state"`
	Blocked     string `json:"blocked"`
	Thumbnail   bool   `json:"thumbnail"`
}

type slotJSON struct {
	Attachment attachmentJSON `json:"attachment"`
	Upload     struct {
		URL    string            `json:"url"`
		Fields map[string]string `json:"fields"`
	} `json:"upload"`
}

type fileJSON struct {
	Attachment attachmentJSON `json:"attachment"`
	Download   *struct {
		URL string `json:"url"`
	} `json:"download"`
}

// upload asks the API for a slot, posts data to the local S3 over HTTP as
// the browser does, and returns the slot and S3's answer.
func (c *client) upload(t testing.TB, side, name, typ string, data []byte) (slotJSON, s3local.PostResult) {
	return c.uploadDeclaring(t, side, name, typ, len(data), data)
}

// uploadDeclaring is upload by a client that tells the API size bytes.
func (c *client) uploadDeclaring(t testing.TB, side, name, typ string, size int, data []byte) (slotJSON, s3local.PostResult) {
	t.Helper()
	var slot slotJSON
	base := "/" + side + "/patients/" + seed.Mateo
	decode(t, c.must(201, "POST", base+"/attachments", map[string]any{
		"conversationId": seed.ConvRash, "name": name, "contentType": typ, "size": size,
	}), &slot)
	post, err := s3local.Post(t.Context(), slot.Upload.URL, slot.Upload.Fields, "", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return slot, post
}

// waitProcessed polls the uploader's view until the file is no longer
// pending, as the page does.
func (c *client) waitProcessed(t *testing.T, side, id string) fileJSON {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second) // a loaded 2-core CI machine
	for {
		var f fileJSON
		c.must(200, "GET", "/"+side+"/patients/"+seed.Mateo+"/attachments/"+id, nil).json(t, &f)
		if f.Attachment.State != "pending" || time.Now().After(deadline) {
			return f
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func decode(t testing.TB, r response, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func fetch(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// End to end over real HTTP: Ana uploads a phone photo with GPS EXIF
// straight to S3, the scanner and processor run as in AWS, she replies
// with it, and the nurse downloads a copy without EXIF; EICAR from the
// nurse is blocked and has no link; another family's guardian gets the
// same 404 as for a file that does not exist.
func TestAttachmentsEndToEnd(t *testing.T) {
	e := start(t)
	ana, nurse, wei := e.as("portal", "parent.rivera"), e.as("staff", "nurse.kim"), e.as("portal", "parent.chen")

	slot, post := ana.upload(t, "portal", "rash.jpg", attach.TypeJPEG, attachtest.PhotoWithGPS(120, 90, 1))
	if post.Status >= 300 {
		t.Fatalf("S3 refused the photo: %+v", post)
	}
	f := ana.waitProcessed(t, "portal", slot.Attachment.ID)
	if f.Attachment.State != "ready" || f.Download == nil || !f.Attachment.Thumbnail {
		t.Fatalf("photo: %+v", f)
	}
	var reply written
	ana.must(201, "POST", "/portal/patients/"+seed.Mateo+"/conversations/"+seed.ConvRash+"/messages",
		map[string]any{"body": "Here is the rash.", "attachmentIds": []string{slot.Attachment.ID}}, key()...).json(t, &reply)

	var nf fileJSON
	nurse.must(200, "GET", "/staff/patients/"+seed.Mateo+"/conversations/"+seed.ConvRash+"/attachments/"+slot.Attachment.ID, nil).json(t, &nf)
	status, body := fetch(t, nf.Download.URL)
	if status != 200 || bytes.Contains(body, []byte("Exif")) || bytes.Contains(body, []byte(attachtest.GPSMarker)) {
		t.Fatalf("nurse's download: %d, EXIF kept %v", status, bytes.Contains(body, []byte("Exif")))
	}

	evil, _ := nurse.upload(t, "staff", "care-plan.pdf", attach.TypePDF, attach.EICAR())
	if ef := nurse.waitProcessed(t, "staff", evil.Attachment.ID); ef.Attachment.State != "blocked" || ef.Attachment.Blocked != "malware" || ef.Download != nil {
		t.Fatalf("EICAR: %+v", ef)
	}

	foreign := wei.do("GET", "/portal/patients/"+seed.Mateo+"/conversations/"+seed.ConvRash+"/attachments/"+slot.Attachment.ID, nil)
	missing := wei.do("GET", "/portal/patients/"+seed.Mateo+"/conversations/"+seed.ConvRash+"/attachments/01KSEEDATTACHMENT00000000ZZ", nil)
	if foreign.status != 404 || !bytes.Equal(withoutInstance(foreign.body), withoutInstance(missing.body)) {
		t.Fatalf("foreign %d %s vs missing %d %s", foreign.status, foreign.body, missing.status, missing.body)
	}

	// An 11 MB file sent by a client that claimed 9 MB is S3's to refuse,
	// by the slot's own policy (the API refuses a declared 11 MB itself).
	if _, bigPost := ana.uploadDeclaring(t, "portal", "big.jpg", attach.TypeJPEG, 9<<20, attachtest.Noise(11<<20)); bigPost.Status != http.StatusBadRequest {
		t.Fatalf("11 MB: S3 answered %d %s", bigPost.Status, bigPost.Body)
	}
}

// BenchmarkUploadToVisible is the time from asking for a slot to the
// file showing as ready with its link, for a 5 MB photo on the local
// stack: slot, POST to S3, scan, processing (decode, re-encode,
// thumbnail), seen by the page's next poll. It prints p50 and p90.
func BenchmarkUploadToVisible(b *testing.B) {
	e := startWith(b, devstack.Options{})
	ana := e.as("portal", "parent.rivera")
	photo := attachtest.BigPhoto(5 << 20)
	b.Logf("photo: %.1f MB", float64(len(photo))/(1<<20))
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		slot, post := ana.upload(b, "portal", "photo.jpg", attach.TypeJPEG, photo)
		if post.Status >= 300 {
			b.Fatalf("upload: %+v", post)
		}
		e.st.Files.Kick()
		for {
			var f fileJSON
			decode(b, ana.do("GET", "/portal/patients/"+seed.Mateo+"/attachments/"+slot.Attachment.ID, nil), &f)
			if f.Attachment.State == "ready" {
				break
			}
			if f.Attachment.State == "blocked" {
				b.Fatalf("blocked: %+v", f)
			}
			time.Sleep(25 * time.Millisecond)
		}
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	p := func(q float64) time.Duration { return times[int(q*float64(len(times)-1))] }
	b.ReportMetric(float64(p(0.5).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(p(0.9).Milliseconds()), "p90-ms")
}
