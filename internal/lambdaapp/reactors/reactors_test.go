package reactors

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pedsportal/messaging/internal/compose"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

func source(fn string, drop ...string) compose.Source {
	f, _ := routes.FunctionNamed(fn)
	env := envvar.Function(slices.Sorted(maps.Keys(f.Tables)), f.Cursors, f.Sends, envvar.Settings{
		TableName: func(l string) string { return "Stack-" + l },
	})
	for _, d := range drop {
		delete(env, d)
	}
	return compose.Source{Env: func(k string) string { return env[k] }, DynamoDB: dynamodb.New(dynamodb.Options{Region: "us-east-1"})}
}

// The notifier and ses-events build from their own environment and fail at
// init without a table they are granted.
func TestReactorsBuild(t *testing.T) {
	if _, err := Notifier(t.Context(), source(routes.FnNotifier)); err != nil {
		t.Fatalf("notifier: %v", err)
	}
	if _, err := SESEvents(t.Context(), source(routes.FnSESEvents)); err != nil {
		t.Fatalf("ses-events: %v", err)
	}
	if _, err := Notifier(t.Context(), source(routes.FnNotifier, envvar.Table(schema.Notifications))); err == nil || !strings.Contains(err.Error(), "TABLE_NOTIFICATIONS") {
		t.Errorf("the notifier built without its Notifications table: %v", err)
	}
	if _, err := SESEvents(t.Context(), source(routes.FnSESEvents, envvar.Table(schema.Directory))); err == nil {
		t.Error("ses-events built without the directory")
	}
}
