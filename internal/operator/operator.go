// Package operator builds the AWS clients of the operator commands
// (cmd/directory, cmd/migrate). Unlike the Lambda functions (package
// awsenv), they run from a workstation or CI with the full default
// configuration chain: profiles, SSO, web identity.
package operator

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynamoDB builds a DynamoDB client from the usual AWS environment, or
// for DynamoDB Local when DYNAMODB_ENDPOINT is set.
func DynamoDB(ctx context.Context) (*dynamodb.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if ep := os.Getenv("DYNAMODB_ENDPOINT"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	}), nil
}
