package compose

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/domain"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
	"github.com/pedsportal/messaging/internal/store"
)

// The store is built over this client but never called here.
var client store.API = dynamodb.New(dynamodb.Options{Region: "us-east-1"})

const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cursor"

// envFor is a function's environment as infra sets it.
func envFor(f routes.Function) map[string]string {
	return envvar.Function(slices.Sorted(maps.Keys(f.Tables)), f.Cursors, f.Sends, envvar.Settings{
		PortalIssuer: "https://p", StaffIssuer: "https://s", PortalClientID: "pc", StaffClientID: "sc",
		CursorSecretARN: arn,
		TableName:       func(logical string) string { return "Stack-" + logical + "-ABC" },
		MailFrom:        "messages@example.com", APIURL: "https://api.example.com",
	})
}

// keyReader records the ARNs it was asked for.
type keyReader struct{ asked []string }

func (k *keyReader) read(_ context.Context, secretARN string) ([]byte, error) {
	k.asked = append(k.asked, secretARN)
	return bytes.Repeat([]byte{7}, 32), nil
}

func source(env map[string]string, keys *keyReader) Source {
	return Source{Env: func(k string) string { return env[k] }, DynamoDB: client, CursorKey: keys.read, Blobs: noBlobs{}}
}

// noBlobs stands in for the attachment signer, which Build only passes on.
type noBlobs struct{}

func (noBlobs) UploadSlot(context.Context, domain.Attachment) (app.UploadSlot, error) {
	return app.UploadSlot{}, nil
}
func (noBlobs) DownloadURL(context.Context, domain.Attachment, bool) (app.Download, error) {
	return app.Download{}, nil
}

func TestEveryFunctionBuildsFromItsOwnEnvironment(t *testing.T) {
	for _, f := range routes.Functions() {
		if f.Trigger != routes.HTTP {
			continue // TestTriggeredFunctionsBuild
		}
		keys := &keyReader{}
		deps, err := Build(t.Context(), f.Name, source(envFor(f), keys))
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if deps.Store == nil || deps.Log == nil {
			t.Errorf("%s: deps = %+v", f.Name, deps)
		}
		if (deps.Blobs != nil) != (f.Blobs == routes.BlobSign) {
			t.Errorf("%s: attachment signer %v, signs %v", f.Name, deps.Blobs != nil, f.Blobs == routes.BlobSign)
		}
		if a := deps.Audiences[domain.SidePortal]; a.Issuer != "https://p" || a.ClientID != "pc" {
			t.Errorf("%s: portal audience %+v", f.Name, a)
		}
		if a := deps.Audiences[domain.SideStaff]; a.Issuer != "https://s" || a.ClientID != "sc" {
			t.Errorf("%s: staff audience %+v", f.Name, a)
		}
		// A codec, the link key, and a key read, exactly when the function
		// is given the cursor key.
		if (deps.Cursors != nil) != f.Cursors {
			t.Errorf("%s: codec %v, pages %v", f.Name, deps.Cursors != nil, f.Cursors)
		}
		if f.Cursors && !bytes.Equal(deps.LinkKey, bytes.Repeat([]byte{7}, 32)) || !f.Cursors && deps.LinkKey != nil {
			t.Errorf("%s: link key %x, cursor key given %v", f.Name, deps.LinkKey, f.Cursors)
		}
		if want := map[bool]int{true: 1, false: 0}[f.Cursors]; len(keys.asked) != want || want == 1 && keys.asked[0] != arn {
			t.Errorf("%s: cursor key read for %v", f.Name, keys.asked)
		}
	}
}

func TestNonPagingFunctionGetsNoCodecEvenIfTold(t *testing.T) {
	f, _ := routes.FunctionNamed(routes.FnWriteMessage)
	env := envFor(f)
	env[envvar.CursorSecret] = arn
	keys := &keyReader{}
	deps, err := Build(t.Context(), f.Name, source(env, keys))
	if err != nil {
		t.Fatal(err)
	}
	if deps.Cursors != nil || len(keys.asked) != 0 {
		t.Errorf("write-message got a codec (%v) or read the key (%v)", deps.Cursors != nil, keys.asked)
	}
}

func TestPagingFunctionWithoutCursorSettingFailsAtBuild(t *testing.T) {
	for _, f := range routes.Functions() {
		if !f.Cursors || f.Trigger != routes.HTTP {
			continue
		}
		env := envFor(f)
		delete(env, envvar.CursorSecret)
		keys := &keyReader{}
		_, err := Build(t.Context(), f.Name, source(env, keys))
		if err == nil || !strings.Contains(err.Error(), envvar.CursorSecret) {
			t.Errorf("%s built without %s: %v", f.Name, envvar.CursorSecret, err)
		}
		if len(keys.asked) != 0 {
			t.Errorf("%s read a key it was not told about", f.Name)
		}
	}
	// A key that cannot be read, or is too short, also stops it.
	f, _ := routes.FunctionNamed(routes.FnListConversations)
	src := source(envFor(f), nil)
	src.CursorKey = func(context.Context, string) ([]byte, error) { return nil, errors.New("AccessDenied") }
	if _, err := Build(t.Context(), f.Name, src); err == nil {
		t.Error("built with an unreadable cursor key")
	}
	src.CursorKey = func(context.Context, string) ([]byte, error) { return []byte("short"), nil }
	if _, err := Build(t.Context(), f.Name, src); err == nil {
		t.Error("built with a short cursor key")
	}
}

func TestEveryAudienceSettingIsRequired(t *testing.T) {
	f, _ := routes.FunctionNamed(routes.FnDirectory)
	for _, name := range []string{envvar.PortalIssuer, envvar.StaffIssuer, envvar.PortalClientID, envvar.StaffClientID} {
		env := envFor(f)
		delete(env, name)
		if _, err := Build(t.Context(), f.Name, source(env, &keyReader{})); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("built without %s: %v", name, err)
		}
	}
}

func TestEveryGrantedTableIsRequiredAndNoOtherIsNamed(t *testing.T) {
	f, _ := routes.FunctionNamed(routes.FnWriteMessage)
	for table := range f.Tables {
		env := envFor(f)
		delete(env, envvar.Table(table))
		if _, err := Build(t.Context(), f.Name, source(env, &keyReader{})); err == nil || !strings.Contains(err.Error(), envvar.Table(table)) {
			t.Errorf("built without %s: %v", envvar.Table(table), err)
		}
	}
	// A table the function is not granted stays unnamed even when the
	// environment names it (as a wrong stack might).
	d, _ := routes.FunctionNamed(routes.FnDirectory)
	env := envFor(d)
	env[envvar.Table(schema.Messages)] = "Stack-Messages-ABC"
	deps, err := Build(t.Context(), d.Name, source(env, &keyReader{}))
	if err != nil {
		t.Fatal(err)
	}
	if deps.Store == nil {
		t.Fatal("no store")
	}
	if got := tablesOf(d, func(k string) string { return env[k] }); got.Messages != "" || got.Directory == "" || got.Audit == "" {
		t.Errorf("directory tables = %+v", got)
	}
}

func TestUnknownFunction(t *testing.T) {
	if _, err := Build(t.Context(), "no-such-function", source(map[string]string{}, &keyReader{})); err == nil {
		t.Error("built an unknown function")
	}
}

// The daily write limit is a practice setting: read when given, refused
// when it is no positive number.
func TestDailyWriteLimitSetting(t *testing.T) {
	f, _ := routes.FunctionNamed(routes.FnWriteMessage)
	for v, want := range map[string]int{"": 0, "7": 7} {
		env := envFor(f)
		env[envvar.DailyWriteLimit] = v
		deps, err := Build(t.Context(), f.Name, source(env, &keyReader{}))
		if err != nil || deps.DailyWriteLimit != want {
			t.Fatalf("%q: limit %d, %v; want %d", v, deps.DailyWriteLimit, err, want)
		}
	}
	for _, bad := range []string{"0", "-3", "lots"} {
		env := envFor(f)
		env[envvar.DailyWriteLimit] = bad
		if _, err := Build(t.Context(), f.Name, source(env, &keyReader{})); err == nil {
			t.Errorf("%q accepted as a daily write limit", bad)
		}
	}
}

// The function that verifies unsubscribe links holds the cursor key, from
// which its link signer is derived: it builds with one and refuses to
// build without.
func TestPreferencesGetsTheLinkKey(t *testing.T) {
	f, _ := routes.FunctionNamed(routes.FnPreferences)
	if !f.Cursors {
		t.Fatal("preferences is given no cursor key, so no link signer")
	}
	keys := &keyReader{}
	deps, err := Build(t.Context(), f.Name, source(envFor(f), keys))
	if err != nil {
		t.Fatal(err)
	}
	if len(deps.LinkKey) < 32 || len(keys.asked) != 1 || keys.asked[0] != arn {
		t.Errorf("link key %d bytes, secrets read %v", len(deps.LinkKey), keys.asked)
	}
	env := envFor(f)
	delete(env, envvar.CursorSecret)
	if _, err := Build(t.Context(), f.Name, source(env, &keyReader{})); err == nil || !strings.Contains(err.Error(), envvar.CursorSecret) {
		t.Errorf("preferences built without %s: %v", envvar.CursorSecret, err)
	}
}

// The HTTP builder refuses a function that reacts to events.
func TestBuildRefusesTriggeredFunctions(t *testing.T) {
	for _, f := range routes.Functions() {
		if f.Trigger == routes.HTTP {
			continue
		}
		if _, err := Build(t.Context(), f.Name, source(envFor(f), &keyReader{})); err == nil {
			t.Errorf("Build made an HTTP handler of %s", f.Name)
		}
	}
}
