package senders

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pedsportal/messaging/internal/compose"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/notify/channels"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
)

type sesFake struct{ channels.SESAPI }

func env() map[string]string {
	f, _ := routes.FunctionNamed(routes.FnNotifyFlush)
	return envvar.Function(slices.Sorted(maps.Keys(f.Tables)), f.Cursors, f.Sends, envvar.Settings{
		TableName: func(l string) string { return "Stack-" + l }, CursorSecretARN: "arn:secret",
		MailFrom: "messages@example.com", APIURL: "https://api.example.com",
	})
}

func source(e map[string]string, asked *[]string) Source {
	return Source{Source: compose.Source{
		Env: func(k string) string { return e[k] }, DynamoDB: dynamodb.New(dynamodb.Options{Region: "us-east-1"}),
		CursorKey: func(_ context.Context, arn string) ([]byte, error) {
			*asked = append(*asked, arn)
			return []byte(strings.Repeat("k", 32)), nil
		},
	}, SES: sesFake{}}
}

// The flusher builds from its own environment, reading the link key from
// the secret it is told about, and fails at init without a sender, the
// API's address, the key or its tables.
func TestFlusherBuild(t *testing.T) {
	var asked []string
	if _, err := Build(t.Context(), source(env(), &asked)); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || asked[0] != "arn:secret" {
		t.Fatalf("read the link key from %v", asked)
	}
	for _, missing := range []string{envvar.MailFrom, envvar.APIURL, envvar.CursorSecret, envvar.Table(schema.Notifications)} {
		e := env()
		delete(e, missing)
		if _, err := Build(t.Context(), source(e, &asked)); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("built without %s: %v", missing, err)
		}
	}
}
