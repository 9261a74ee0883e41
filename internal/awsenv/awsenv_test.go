package awsenv

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestConfigReadsWhatLambdaSets(t *testing.T) {
	t.Setenv("AWS_REGION", "us-east-2")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	t.Setenv("AWS_SESSION_TOKEN", "TOKEN")
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "")
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")
	cfg := Config()
	if cfg.Region != "us-east-2" || cfg.BaseEndpoint != nil {
		t.Fatalf("region %q, endpoint %v", cfg.Region, cfg.BaseEndpoint)
	}
	got, err := cfg.Credentials.Retrieve(t.Context())
	if err != nil || got.AccessKeyID != "AKID" || got.SecretAccessKey != "SECRET" || got.SessionToken != "TOKEN" {
		t.Fatalf("credentials = %+v, %v", got, err)
	}
}

func TestNoCredentialsFailsEveryRequest(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	if _, err := Config().Credentials.Retrieve(t.Context()); err == nil {
		t.Fatal("credentials without any in the environment")
	}
}

func TestEndpoints(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://global")
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://sm")
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", "")
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "")
	cfg := Config()
	for _, tc := range []struct{ service, want string }{
		{SecretsManager, "http://sm"},
		{DynamoDB, "http://global"},
	} {
		if got := aws.ToString(For(cfg, tc.service).BaseEndpoint); got != tc.want {
			t.Errorf("%s endpoint = %q, want %q", tc.service, got, tc.want)
		}
	}
	t.Setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
	if got := For(Config(), SecretsManager).BaseEndpoint; got != nil {
		t.Errorf("ignored endpoints still set: %q", *got)
	}
}
