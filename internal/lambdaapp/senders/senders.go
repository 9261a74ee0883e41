// Package senders starts the flusher on Lambda: the one function that
// sends e-mail and texts, and so the only bootstrap that links the SES and
// End User Messaging SMS clients.
package senders

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/pedsportal/messaging/internal/app"
	"github.com/pedsportal/messaging/internal/awsenv"
	"github.com/pedsportal/messaging/internal/compose"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/lambdaapp/secretkey"
	"github.com/pedsportal/messaging/internal/linktoken"
	"github.com/pedsportal/messaging/internal/notify"
	"github.com/pedsportal/messaging/internal/notify/channels"
	"github.com/pedsportal/messaging/internal/routes"
)

// Source is a compose.Source with the senders the flusher needs.
type Source struct {
	compose.Source
	SES channels.SESAPI
	SMS channels.SMSAPI // nil: no texts (no origination identity set)
}

// Build makes the scheduled flusher: it sends what is due through SES
// (and texts when an origination identity is set), with one-click
// unsubscribe links to the API signed with the link key.
func Build(ctx context.Context, src Source) (*notify.Flusher, error) {
	st, err := compose.StoreFor(routes.FnNotifyFlush, src.Source)
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
		return nil, fmt.Errorf("function %s: senders.Source needs CursorKey and SES", routes.FnNotifyFlush)
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
		Now: src.Now, Log: compose.LogOf(src.Source),
		Unsubscribe: func(r notify.Recipient) string { return app.UnsubscribeURL(api, links, r.ID, now()) },
	}), nil
}

// Start serves the scheduled flusher. A configuration error stops the
// container at init, never inside a run.
func Start() {
	log := lambdacontext.NewLogger().With("function", routes.FnNotifyFlush)
	ctx := context.Background()
	cfg := awsenv.Config()
	fl, err := Build(ctx, Source{
		Source: compose.Source{Env: os.Getenv, DynamoDB: dynamodb.NewFromConfig(awsenv.For(cfg, awsenv.DynamoDB)), CursorKey: secretkey.Read(awsenv.For(cfg, awsenv.SecretsManager)), Log: log},
		SES:    sesv2.NewFromConfig(awsenv.For(cfg, awsenv.SESv2)),
		SMS:    pinpointsmsvoicev2.NewFromConfig(awsenv.For(cfg, awsenv.SMS)),
	})
	if err != nil {
		log.Error("init failed", "error", err)
		os.Exit(1)
	}
	// The schedule's event carries nothing the flusher needs.
	lambda.Start(func(ctx context.Context) error {
		res, err := fl.Flush(ctx)
		log.InfoContext(ctx, "flushed", "sent", res.Sent, "deferred", res.Deferred, "skipped", res.Skipped, "failed", res.Failed)
		return err
	})
}
