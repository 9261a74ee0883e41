// Package secretkey reads the cursor signing key from AWS Secrets Manager
// (locally: the stand-in of package localdev/secretslocal, reached through
// AWS_ENDPOINT_URL_SECRETS_MANAGER). It is a package of its own so that
// only the functions that are given the key (routes.Function.Cursors)
// link the Secrets Manager client: their mains pass Read to
// lambdaapp.Start, the others pass nil.
package secretkey

import (
	"context"
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Read returns a reader of a secret's string from Secrets Manager, with
// cfg, already resolved for Secrets Manager (awsenv.For with
// awsenv.SecretsManager). The client is made once, when the reader is.
func Read(cfg aws.Config) func(ctx context.Context, arn string) ([]byte, error) {
	client := secretsmanager.NewFromConfig(cfg)
	return func(ctx context.Context, arn string) ([]byte, error) {
		out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		if err != nil {
			return nil, err
		}
		if out.SecretString == nil {
			return nil, errors.New("secret " + arn + " holds no SecretString")
		}
		return []byte(*out.SecretString), nil
	}
}
