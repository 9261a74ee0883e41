// Package secretslocal stands in for AWS Secrets Manager on loopback, for
// the one call the functions make: GetSecretValue. The functions reach it
// as they reach the real service, with the SDK's own client, through
// AWS_ENDPOINT_URL_SECRETS_MANAGER (the service ID "Secrets Manager";
// ..._SECRETSMANAGER is silently ignored and the SDK goes to AWS).
//
// No maintained local Secrets Manager ships through npm, Debian or the Go
// module proxy (LocalStack and moto need Python or Docker images), so this
// speaks the service's JSON protocol (awsJson1.1, X-Amz-Target
// secretsmanager.GetSecretValue) as the service documents it:
//   - the secret is found by its ARN or its name; an unknown one answers
//     400 ResourceNotFoundException, as AWS does;
//   - a request must carry a valid SigV4 signature for service
//     secretsmanager made with the configured access key (400
//     IncompleteSignatureException, or 403 InvalidSignatureException or
//     UnrecognizedClientException otherwise), so a client that is not
//     configured as a function is refused here as in AWS;
//   - every other action answers 400 InvalidAction.
package secretslocal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Secret is one secret the stand-in holds.
type Secret struct {
	// ARN, e.g. arn:aws:secretsmanager:us-east-1:000000000000:secret:name-AbCdEf.
	ARN string
	// Name is what the secret is also found by.
	Name string
	// Value is its SecretString.
	Value string
}

// Config configures Start.
type Config struct {
	Secrets []Secret
	// AccessKeyID and SecretAccessKey are the only credentials accepted.
	AccessKeyID, SecretAccessKey string
	// Addr is where to listen; empty means 127.0.0.1 on a free port.
	Addr string
}

// Server is a running stand-in.
type Server struct {
	cfg     Config
	srv     *http.Server
	ln      net.Listener
	created time.Time
	mu      sync.Mutex
	calls   int
}

// Start listens and serves until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.AccessKeyID == "" || cfg.SecretAccessKey == "" {
		return nil, errors.New("secretslocal: Config needs AccessKeyID and SecretAccessKey")
	}
	addr := cfg.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("secretslocal: %w", err)
	}
	s := &Server{cfg: cfg, ln: ln, created: time.Now()}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Endpoint is the value for AWS_ENDPOINT_URL_SECRETS_MANAGER.
func (s *Server) Endpoint() string { return "http://" + s.ln.Addr().String() }

// Calls is how many GetSecretValue requests it has answered with a secret.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Close stops the server.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return s.srv.Shutdown(ctx)
}

const target = "secretsmanager.GetSecretValue"

// ServeHTTP answers one request of the awsJson1.1 protocol.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		fail(w, http.StatusBadRequest, "SerializationException", "the request body could not be read")
		return
	}
	if status, code, msg := s.verify(r, body); status != 0 {
		fail(w, status, code, msg)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != target {
		fail(w, http.StatusBadRequest, "InvalidAction", "this stand-in answers only "+target)
		return
	}
	var in struct {
		SecretID     string `json:"SecretId"`
		VersionID    string `json:"VersionId"`
		VersionStage string `json:"VersionStage"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.SecretID == "" {
		fail(w, http.StatusBadRequest, "InvalidParameterException", "SecretId is required")
		return
	}
	for _, sec := range s.cfg.Secrets {
		if in.SecretID != sec.ARN && in.SecretID != sec.Name {
			continue
		}
		if in.VersionStage != "" && in.VersionStage != "AWSCURRENT" || in.VersionID != "" && in.VersionID != versionID(sec) {
			break
		}
		s.mu.Lock()
		s.calls++
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ARN": sec.ARN, "Name": sec.Name, "SecretString": sec.Value,
			"VersionId": versionID(sec), "VersionStages": []string{"AWSCURRENT"},
			"CreatedDate": float64(s.created.UnixMilli()) / 1000,
		})
		return
	}
	fail(w, http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
}

// versionID is a stable version ID for a secret's value.
func versionID(sec Secret) string {
	h := sha256.Sum256([]byte(sec.ARN + "\x00" + sec.Value))
	x := hex.EncodeToString(h[:16])
	return x[:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// verify checks the request's SigV4 signature by signing the same request
// (its signed headers only) again with the configured key, and returns
// the refusal if any.
func (s *Server) verify(r *http.Request, body []byte) (int, string, string) {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return http.StatusBadRequest, "MissingAuthenticationTokenException", "Missing Authentication Token"
	}
	fields := map[string]string{}
	for _, part := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || fields["SignedHeaders"] == "" || fields["Signature"] == "" || scope[4] != "aws4_request" {
		return http.StatusBadRequest, "IncompleteSignatureException", "the Authorization header is not a complete SigV4 signature"
	}
	if scope[0] != s.cfg.AccessKeyID {
		return http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid."
	}
	if scope[3] != "secretsmanager" {
		return http.StatusForbidden, "InvalidSignatureException", "Credential should be scoped to correct service: 'secretsmanager'."
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || at.Format("20060102") != scope[1] {
		return http.StatusBadRequest, "IncompleteSignatureException", "X-Amz-Date is missing or does not match the credential scope"
	}
	if d := time.Since(at); d > 5*time.Minute || d < -5*time.Minute {
		return http.StatusForbidden, "InvalidSignatureException", "Signature expired"
	}
	again, err := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return http.StatusBadRequest, "IncompleteSignatureException", "the request cannot be signed again"
	}
	for _, h := range strings.Split(fields["SignedHeaders"], ";") {
		switch h {
		case "host":
		case "content-length": // the signer takes it from the field
			again.ContentLength = r.ContentLength
		default:
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: s.cfg.AccessKeyID, SecretAccessKey: s.cfg.SecretAccessKey, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, hex.EncodeToString(sum[:]), scope[3], scope[2], at); err != nil {
		return http.StatusBadRequest, "IncompleteSignatureException", "the request cannot be signed again"
	}
	if again.Header.Get("Authorization") != auth {
		return http.StatusForbidden, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided."
	}
	return 0, "", ""
}

// fail writes an awsJson1.1 error.
func fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}
