package secretslocal_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/pedsportal/messaging/internal/localdev/secretslocal"
)

const arn = "arn:aws:secretsmanager:us-east-1:000000000000:secret:cursor-key-AbCdEf"

func start(t *testing.T) *secretslocal.Server {
	t.Helper()
	s, err := secretslocal.Start(secretslocal.Config{
		Secrets:     []secretslocal.Secret{{ARN: arn, Name: "cursor-key", Value: "0123456789abcdef0123456789abcdef"}},
		AccessKeyID: "local", SecretAccessKey: "local-secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func client(s *secretslocal.Server, id, secret string) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(s.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider(id, secret, ""),
	})
}

func TestTheSDKReadsASecretByARNOrName(t *testing.T) {
	s := start(t)
	c := client(s, "local", "local-secret")
	for _, id := range []string{arn, "cursor-key"} {
		out, err := c.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if got, want := aws.ToString(out.SecretString), "0123456789abcdef0123456789abcdef"; got != want {
			t.Errorf("%s: SecretString %q, want %q", id, got, want)
		}
		if aws.ToString(out.ARN) != arn || aws.ToString(out.Name) != "cursor-key" || len(out.VersionStages) != 1 || out.VersionStages[0] != "AWSCURRENT" {
			t.Errorf("%s: %+v", id, out)
		}
	}
	if got := s.Calls(); got != 2 {
		t.Errorf("Calls() = %d, want 2", got)
	}
}

func TestAnUnknownSecretIsNotFound(t *testing.T) {
	c := client(start(t), "local", "local-secret")
	_, err := c.GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn + "x")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v, want ResourceNotFoundException", err)
	}
}

func TestOnlyRequestsSignedWithTheKeyAreAnswered(t *testing.T) {
	s := start(t)
	for _, tt := range []struct {
		name, id, secret, code string
	}{
		{"another access key", "other", "local-secret", "UnrecognizedClientException"},
		{"the wrong secret key", "local", "guess", "InvalidSignatureException"},
	} {
		_, err := client(s, tt.id, tt.secret).GetSecretValue(t.Context(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
		var api smithy.APIError
		if !errors.As(err, &api) || api.ErrorCode() != tt.code {
			t.Errorf("%s: err = %v, want %s", tt.name, err, tt.code)
		}
	}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, s.Endpoint(), strings.NewReader(`{"SecretId":"`+arn+`"}`))
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Amzn-ErrorType") != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned request: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"))
	}
	if s.Calls() != 0 {
		t.Errorf("a refused request was answered with the secret (%d calls)", s.Calls())
	}
}
