//go:build floor.secretsmanager

package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/pedsportal/messaging/internal/awsenv"
)

func init() {
	calls = append(calls, func(ctx context.Context, cfg aws.Config) error {
		_, err := secretsmanager.NewFromConfig(awsenv.For(cfg, awsenv.SecretsManager)).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{})
		return err
	})
}
