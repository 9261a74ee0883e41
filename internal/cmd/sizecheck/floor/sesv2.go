//go:build floor.sesv2

package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/pedsportal/messaging/internal/awsenv"
)

func init() {
	calls = append(calls, func(ctx context.Context, cfg aws.Config) error {
		_, err := sesv2.NewFromConfig(awsenv.For(cfg, awsenv.SESv2)).SendEmail(ctx, &sesv2.SendEmailInput{})
		return err
	})
}
