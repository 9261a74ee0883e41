// Package awsenv builds a Lambda function's AWS SDK configuration from the
// environment Lambda gives it: the region, the execution role's
// credentials and the endpoint overrides local development sets.
//
// It replaces config.LoadDefaultConfig in every bootstrap. That loader
// links the shared-config parser and the SSO, SSO OIDC, Sign-In and STS
// clients for credential sources a Lambda function never has (profiles,
// SSO, web identity, process credentials): about 1.75 MB of each
// stripped linux/arm64 bootstrap. On Lambda the default chain stops at
// its first source anyway, the environment, which is all this reads.
// Operator commands, which do run with profiles, keep LoadDefaultConfig.
package awsenv

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The endpoint keys of the services the functions call: the SDK's
// service ID, upper-cased with spaces as underscores, as in
// AWS_ENDPOINT_URL_<KEY>.
const (
	DynamoDB       = "DYNAMODB"
	SecretsManager = "SECRETS_MANAGER"
	SESv2          = "SESV2"
	SMS            = "PINPOINT_SMS_VOICE_V2"
	S3             = "S3"
)

// Config is the SDK configuration of the environment: the region from
// AWS_REGION (else AWS_DEFAULT_REGION), the credentials from
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (which
// Lambda sets for the execution role, valid for the execution
// environment's life), and AWS_ENDPOINT_URL as the base endpoint. Without
// credentials every request fails, as with the default chain; building
// the configuration never does.
func Config() aws.Config { return Env(os.Getenv).Config() }

// Env is where the variables are read: os.Getenv on Lambda; locally, a
// function's own environment (package devstack), so that a function
// started in process reaches its stand-ins as a bootstrap does.
type Env func(string) string

// Config is the package-level Config, read from env.
func (env Env) Config() aws.Config {
	region := env("AWS_REGION")
	if region == "" {
		region = env("AWS_DEFAULT_REGION")
	}
	cfg := aws.Config{Region: region, BaseEndpoint: env.endpoint("")}
	id, secret := env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		cfg.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errNoCredentials
		})
		return cfg
	}
	cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, env("AWS_SESSION_TOKEN")))
	return cfg
}

var errNoCredentials = errors.New("awsenv: no AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment")

// For is cfg for one service (DynamoDB, SESv2, ...): its base endpoint is
// AWS_ENDPOINT_URL_<service> when that is set, as the SDK's own loader
// resolves it.
func For(cfg aws.Config, service string) aws.Config { return Env(os.Getenv).For(cfg, service) }

// For is the package-level For, read from env.
func (env Env) For(cfg aws.Config, service string) aws.Config {
	if ep := env.endpoint(service); ep != nil {
		cfg.BaseEndpoint = ep
	}
	return cfg
}

// endpoint is AWS_ENDPOINT_URL_<service> (AWS_ENDPOINT_URL for ""), nil
// when unset or when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true.
func (env Env) endpoint(service string) *string {
	if strings.EqualFold(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true") {
		return nil
	}
	name := "AWS_ENDPOINT_URL"
	if service != "" {
		name += "_" + service
	}
	if v := env(name); v != "" {
		return aws.String(v)
	}
	return nil
}
