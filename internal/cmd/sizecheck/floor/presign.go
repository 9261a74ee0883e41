//go:build floor.presign

package main

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pedsportal/messaging/internal/awsenv"
)

// The presigner, as package attach signs: a POST and a GET.
func init() {
	calls = append(calls, func(ctx context.Context, cfg aws.Config) error {
		p := s3.NewPresignClient(s3.NewFromConfig(awsenv.For(cfg, awsenv.S3)))
		if _, err := p.PresignPostObject(ctx, &s3.PutObjectInput{}); err != nil {
			return err
		}
		_, err := p.PresignGetObject(ctx, &s3.GetObjectInput{})
		return err
	})
}
