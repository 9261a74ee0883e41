package attach_test

import (
	"testing"

	"github.com/pedsportal/messaging/internal/attach"
	"github.com/pedsportal/messaging/internal/envvar"
)

func TestBucketsAreRequired(t *testing.T) {
	env := map[string]string{envvar.UploadsBucket: "u"}
	if _, err := attach.BucketsFrom(func(k string) string { return env[k] }); err == nil {
		t.Fatal("a missing chart bucket was accepted")
	}
	env[envvar.ChartBucket] = "c"
	if b, err := attach.BucketsFrom(func(k string) string { return env[k] }); err != nil || b != (attach.Buckets{Uploads: "u", Chart: "c"}) {
		t.Fatalf("%+v, %v", b, err)
	}
}
