//go:build floor.s3

package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pedsportal/messaging/internal/awsenv"
)

func init() {
	calls = append(calls, func(ctx context.Context, cfg aws.Config) error {
		_, err := s3.NewFromConfig(awsenv.For(cfg, awsenv.S3)).GetObject(ctx, &s3.GetObjectInput{})
		return err
	})
}
