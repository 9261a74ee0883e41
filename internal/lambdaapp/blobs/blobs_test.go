package blobs_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/attach"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/lambdaapp/blobs"
)

// The sample of GuardDuty's scan result event decodes strictly as the
// EventBridge event Lambda receives and names the upload and its verdict.
// (The pipeline over real parts is package attach's test.)
func TestSampleScanResultEvent(t *testing.T) {
	raw, err := os.ReadFile("../../../events/attach-process.json")
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

func TestBucketsAreRequired(t *testing.T) {
	env := map[string]string{envvar.UploadsBucket: "u"}
	if _, err := blobs.BucketsFrom(func(k string) string { return env[k] }); err == nil {
		t.Fatal("a missing chart bucket was accepted")
	}
	env[envvar.ChartBucket] = "c"
	if b, err := blobs.BucketsFrom(func(k string) string { return env[k] }); err != nil || b != (attach.Buckets{Uploads: "u", Chart: "c"}) {
		t.Fatalf("%+v, %v", b, err)
	}
}
