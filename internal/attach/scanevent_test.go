package attach_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/attach"
)

// The sample of GuardDuty's scan result event decodes strictly as the
// EventBridge event Lambda receives and names the upload and its verdict.
// (The pipeline over real parts is package attach/safe's test, and the
// local stack's, through package lambdaapp/scans.)
func TestSampleScanResultEvent(t *testing.T) {
	raw, err := os.ReadFile("../../events/attach-process.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CloudWatchEvent
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("events/attach-process.json: %v", err)
	}
	r, err := attach.ScanResultOf(ev)
	if err != nil {
		t.Fatal(err)
	}
	if r.Bucket != "pedsportal-uploads-123456789012" || r.Key != attach.UploadKey("pt-7K2M9Q4D", "01KSEEDATTACHMENT000000001") || r.Status != attach.ScanClean {
		t.Fatalf("scan result %+v", r)
	}
}
