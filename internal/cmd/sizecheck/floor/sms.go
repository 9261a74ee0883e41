//go:build floor.sms

package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/pinpointsmsvoicev2"

	"github.com/pedsportal/messaging/internal/awsenv"
)

func init() {
	calls = append(calls, func(ctx context.Context, cfg aws.Config) error {
		_, err := pinpointsmsvoicev2.NewFromConfig(awsenv.For(cfg, awsenv.SMS)).SendTextMessage(ctx, &pinpointsmsvoicev2.SendTextMessageInput{})
		return err
	})
}
