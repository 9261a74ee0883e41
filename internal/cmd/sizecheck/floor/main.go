// Command floor is the smallest Lambda bootstrap that calls DynamoDB and,
// with build tags, each further AWS client a function uses (floor.s3,
// floor.presign, floor.sesv2, floor.sms, floor.secretsmanager): one call
// each, through the same package awsenv and Lambda runtime as the
// functions. Package sizecheck builds it with the functions' flags to
// measure what the SDK alone costs, which is no part of our code.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/pedsportal/messaging/internal/awsenv"
)

// call is one request through a client built from cfg.
type call func(ctx context.Context, cfg aws.Config) error

// calls are the clients besides DynamoDB; each tagged file adds one.
var calls []call

func main() {
	cfg := awsenv.Config()
	db := dynamodb.NewFromConfig(awsenv.For(cfg, awsenv.DynamoDB))
	lambda.Start(func(ctx context.Context) error {
		if _, err := db.GetItem(ctx, &dynamodb.GetItemInput{}); err != nil {
			return err
		}
		for _, c := range calls {
			if err := c(ctx, cfg); err != nil {
				return err
			}
		}
		return nil
	})
}
