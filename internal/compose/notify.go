package compose

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/linktoken"
	"github.com/pedsportal/messaging/internal/notify"
	"github.com/pedsportal/messaging/internal/notify/channels"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/store"
)

// NotifySource adds the senders the flusher needs to a Source.
type NotifySource struct {
	Source
	SES channels.SESAPI
	SMS channels.SMSAPI // nil: no texts (no origination identity set)
}

// storeFor is the store over exactly the tables function is granted.
func storeFor(function string, src Source) (*store.Store, error) {
	f, ok := routes.FunctionNamed(function)
	if !ok {
		return nil, fmt.Errorf("unknown function %q", function)
	}
	if src.Env == nil || src.DynamoDB == nil {
		return nil, fmt.Errorf("function %s: compose.Source needs Env and DynamoDB", function)
	}
	var missing []string
	for _, table := range slices.Sorted(maps.Keys(f.Tables)) {
		if src.Env(envvar.Table(table)) == "" {
			missing = append(missing, envvar.Table(table))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("function %s: missing settings %v", function, missing)
	}
	return store.New(src.DynamoDB, tablesOf(f, src.Env)), nil
}

func logOf(src Source) *slog.Logger {
	if src.Log == nil {
		return slog.Default()
	}
	return src.Log
}

// Notifier builds the stream handler of the notifier function.
func Notifier(ctx context.Context, src Source) (func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error), error) {
	st, err := storeFor(routes.FnNotifier, src)
	if err != nil {
		return nil, err
	}
	n := notify.NewNotifier(st, notify.Config{Now: src.Now, Decode: store.MessageFromStream, Log: logOf(src)})
	return n.HandleStream, nil
}

// Flusher builds the scheduled flusher: it sends what is due through SES
// (and texts when an origination identity is set), with one-click
// unsubscribe links to the API signed with the link key.
func Flusher(ctx context.Context, src NotifySource) (*notify.Flusher, error) {
	st, err := storeFor(routes.FnNotifyFlush, src.Source)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, v := range []string{envvar.MailFrom, envvar.APIURL, envvar.CursorSecret} {
		if src.Env(v) == "" {
			missing = append(missing, v)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("function %s: missing settings %v", routes.FnNotifyFlush, missing)
	}
	if src.CursorKey == nil || src.SES == nil {
		return nil, fmt.Errorf("function %s: compose.NotifySource needs CursorKey and SES", routes.FnNotifyFlush)
	}
	key, err := src.CursorKey(ctx, src.Env(envvar.CursorSecret))
	if err != nil {
		return nil, fmt.Errorf("function %s: read the link key: %w", routes.FnNotifyFlush, err)
	}
	links, err := linktoken.New(key)
	if err != nil {
		return nil, err
	}
	mail, err := channels.NewSES(src.SES, channels.SESConfig{
		From: src.Env(envvar.MailFrom), FromARN: src.Env(envvar.MailFromARN), ConfigurationSet: src.Env(envvar.SESConfigurationSet),
	})
	if err != nil {
		return nil, err
	}
	var text notify.Texter
	if origin := src.Env(envvar.SMSOrigin); origin != "" && src.SMS != nil {
		if text, err = channels.NewSMS(src.SMS, channels.SMSConfig{OriginationIdentity: origin}); err != nil {
			return nil, err
		}
	}
	now := src.Now
	if now == nil {
		now = time.Now
	}
	api := src.Env(envvar.APIURL)
	return notify.NewFlusher(st, mail, text, notify.Config{
		Now: src.Now, Log: logOf(src.Source),
		Unsubscribe: func(r notify.Recipient) string { return app.UnsubscribeURL(api, links, r.ID, now()) },
	}), nil
}

// SESEvents builds the handler of SES's bounce and complaint events.
func SESEvents(ctx context.Context, src Source) (func(context.Context, events.SNSEvent) error, error) {
	st, err := storeFor(routes.FnSESEvents, src)
	if err != nil {
		return nil, err
	}
	log := logOf(src)
	return func(ctx context.Context, ev events.SNSEvent) error { return notify.HandleSESEvents(ctx, st, log, ev) }, nil
}
