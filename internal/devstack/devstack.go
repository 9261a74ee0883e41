// Package devstack runs the whole product on loopback: DynamoDB Local, the
// development issuer, the local API gateway in front of the real handlers,
// and the pages. `make dev` runs it, and so do the end-to-end and browser
// tests, so that what a developer clicks is what the tests prove.
package devstack

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/oklog/ulid/v2"

	"github.com/pedsportal/messaging/internal/api"
	"github.com/pedsportal/messaging/internal/awsenv"
	"github.com/pedsportal/messaging/internal/compose"
	"github.com/pedsportal/messaging/internal/envvar"
	"github.com/pedsportal/messaging/internal/lambdaapp/secretkey"
	"github.com/pedsportal/messaging/internal/linktoken"
	"github.com/pedsportal/messaging/internal/localdev/dynamolocal"
	"github.com/pedsportal/messaging/internal/localdev/gateway"
	"github.com/pedsportal/messaging/internal/localdev/iamguard"
	"github.com/pedsportal/messaging/internal/localdev/issuer"
	"github.com/pedsportal/messaging/internal/localdev/secretslocal"
	"github.com/pedsportal/messaging/internal/migrate"
	"github.com/pedsportal/messaging/internal/routes"
	"github.com/pedsportal/messaging/internal/schema"
	"github.com/pedsportal/messaging/internal/seed"
	"github.com/pedsportal/messaging/internal/store"
	"github.com/pedsportal/messaging/internal/web"
)

// Options configures Start. Zero values suit tests: in-memory DynamoDB
// Local, free ports, a unique table prefix.
type Options struct {
	// DynamoEndpoint uses a running DynamoDB instead of starting one.
	DynamoEndpoint string
	// DataDir keeps DynamoDB Local's data and the issuer's keys across
	// restarts. Empty: in memory.
	DataDir string
	// Addresses to listen on; empty means 127.0.0.1 on a free port.
	APIAddr, SiteAddr, IssuerAddr string
	// TablePrefix names the tables; empty means a unique prefix.
	TablePrefix string
	// TokenTTL is the lifetime of issued tokens (default one hour).
	TokenTTL time.Duration
	// Log receives the handlers' and servers' logs. Default: discarded.
	Log *slog.Logger
	// Notify, when set, runs the notification path too (make dev does).
	Notify *NotifyOptions
	// Now is the product's clock (messages' times, the notifications');
	// nil means time.Now. Tests set it to drive windows and quiet hours.
	Now func() time.Time
	// EscalateEvery runs the response-target check on a timer, as its
	// schedule does in AWS (make dev: every five minutes); 0 leaves it to
	// Stack.Escalate.
	EscalateEvery time.Duration
	// PollSeconds sets the pages' polling pace (config.json); 0 keeps
	// theirs.
	PollSeconds int
}

// Stack is the running product.
type Stack struct {
	SiteURL   string
	APIURL    string
	IssuerURL string
	// Store and DB reach every table unguarded, as an operator does: the
	// seed and the tests' own checks use them. The functions behind the
	// gateway each have their own store over their IAM guard.
	Store  *store.Store
	DB     *dynamodb.Client
	Issuer *issuer.Issuer
	// Seeded is true when this start wrote the demo data (a fresh store).
	Seeded bool
	// Notifications is the notification path, when Options.Notify asked.
	Notifications *Notifications
	// Files is the attachment path: the local S3 and its scanner.
	Files *Files

	escalation *escalation
	now        func() time.Time
	dataDir    string
	links      *linktoken.Signer // signs e-mail links from the run's cursor key, as the functions verify them
	// settings, guard and secrets make each function's Source (source).
	settings envvar.Settings
	guard    iamguard.Config
	secrets  *secretslocal.Server
	dynamo   *dynamolocal.Server
	gateway  *gateway.Gateway
	servers  []*http.Server
}

// Start brings everything up and seeds the demo data into empty tables.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Stack{now: opts.Now, dataDir: opts.DataDir}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()

	endpoint := opts.DynamoEndpoint
	if endpoint == "" {
		dl := dynamolocal.Options{Logger: log}
		if opts.DataDir != "" {
			// Absolute: DynamoDB Local runs from its own folder.
			if dl.DataDir, err = filepath.Abs(filepath.Join(opts.DataDir, "dynamodb")); err != nil {
				return nil, err
			}
			if err := os.MkdirAll(dl.DataDir, 0o700); err != nil {
				return nil, err
			}
		}
		if s.dynamo, err = dynamolocal.Start(ctx, dl); err != nil {
			return nil, err
		}
		endpoint = s.dynamo.Endpoint()
	}
	s.DB = dynamolocal.NewClient(ctx, endpoint)
	prefix := opts.TablePrefix
	if prefix == "" {
		prefix = "dev" + ulid.Make().String() + "-"
	}
	if err := dynamolocal.CreateTables(ctx, s.DB, prefix); err != nil {
		return nil, err
	}
	tables := store.TablesWithPrefix(prefix)
	s.Store = store.New(s.DB, tables)
	// Data kept in .dev/ from an older build is brought up to date, as
	// DevOps does after a deploy.
	if err := migrate.Run(ctx, s.DB, tables, func(step string, n int) {
		if n > 0 {
			log.Info("migrated local data", "step", step, "items", n)
		}
	}); err != nil {
		return nil, err
	}
	if s.Seeded, err = seedIfEmpty(ctx, s.Store); err != nil {
		return nil, err
	}

	apiLn, err := listen(opts.APIAddr)
	if err != nil {
		return nil, err
	}
	siteLn, err := listen(opts.SiteAddr)
	if err != nil {
		return nil, err
	}
	issLn, err := listen(opts.IssuerAddr)
	if err != nil {
		return nil, err
	}
	s.APIURL, s.SiteURL, s.IssuerURL = "http://"+apiLn.Addr().String(), "http://"+siteLn.Addr().String(), "http://"+issLn.Addr().String()

	var users []issuer.User
	for _, u := range seed.Users() {
		users = append(users, issuer.User{Sub: u.Sub, Username: u.Username, Name: u.Name, Audience: string(u.Side), Groups: u.Groups})
	}
	keyFile := ""
	if opts.DataDir != "" {
		keyFile = filepath.Join(opts.DataDir, "issuer-keys.pem")
	}
	s.Issuer, err = issuer.New(issuer.Config{
		BaseURL:        s.IssuerURL,
		Users:          users,
		TokenTTL:       opts.TokenTTL,
		AllowedOrigins: []string{s.SiteURL},
		RedirectURIs:   []string{s.SiteURL + "/portal/", s.SiteURL + "/staff/", s.SiteURL + "/"},
		KeyFile:        keyFile,
		Logger:         log,
	})
	if err != nil {
		return nil, err
	}

	handlers, err := s.handlers(ctx, prefix, log)
	if err != nil {
		return nil, err
	}
	authorizers := map[routes.Audience]gateway.Authorizer{}
	for _, aud := range []routes.Audience{routes.Portal, routes.Staff} {
		// Keys come from the issuer's discovery document, as API Gateway
		// finds them.
		authorizers[aud] = gateway.Authorizer{
			Issuer:   s.Issuer.IssuerURL(string(aud)),
			Audience: []string{s.Issuer.ClientID(string(aud))},
		}
	}
	s.gateway, err = gateway.New(gateway.Config{
		Routes:      routes.All(),
		Handlers:    handlers,
		Authorizers: authorizers,
		CORSOrigins: []string{s.SiteURL},
		Logger:      log,
	})
	if err != nil {
		return nil, err
	}

	siteDir, err := findSiteDir()
	if err != nil {
		return nil, err
	}
	client := func(aud string) web.OIDCClient {
		iss := s.Issuer.IssuerURL(aud)
		return web.OIDCClient{
			Issuer: iss, ClientID: s.Issuer.ClientID(aud),
			AuthorizeURL: iss + "/oauth2/authorize", TokenURL: iss + "/oauth2/token", RevokeURL: iss + "/oauth2/revoke", LogoutURL: iss + "/logout",
			Scope: "openid " + aud + "/messages",
		}
	}
	site := web.NewSiteHandler(siteDir, web.Config{
		APIBaseURL:  s.APIURL,
		Portal:      client(string(routes.Portal)),
		Staff:       client(string(routes.Staff)),
		PollSeconds: opts.PollSeconds,
	}, web.CSP(web.Origins{Connect: []string{s.APIURL, s.IssuerURL}, Uploads: s.Files.S3.Endpoint(), Files: s.Files.S3.Endpoint()}))

	if opts.Notify != nil {
		if s.Notifications, err = s.startNotifications(ctx, *opts.Notify, s.Store, endpoint, tables.Messages, log); err != nil {
			return nil, err
		}
	}
	if err := s.startEscalation(ctx, opts.EscalateEvery, log); err != nil {
		return nil, err
	}
	s.serve(apiLn, s.gateway, log)
	s.serve(siteLn, site, log)
	s.serve(issLn, s.Issuer.Handler(), log)
	return s, nil
}

// localCursorSecret stands for the cursor key's secret: paging functions
// are told this ARN, as infra tells them the real one, and read it from
// the local Secrets Manager.
const localCursorSecret = "arn:aws:secretsmanager:us-east-1:000000000000:secret:dev-cursor-key-L0CAL1"

// localAccessKey and localSecretKey are what each function is given as its execution
// role's credentials; only the Secrets Manager stand-in checks them.
const localAccessKey, localSecretKey = "local", "local-secret-key"

// handlers builds every function of the route table as Lambda builds it
// (package compose), each from its own environment made exactly as infra
// makes it (envvar.Function: its own tables only, the cursor secret only
// if it pages), and each over a DynamoDB client wrapped in its IAM guard,
// so a call its role would be refused in AWS is refused here too. The
// cursor key is a fresh random secret of the run, held by the local
// Secrets Manager (package localdev/secretslocal), which the functions
// given it read at start through the SDK, as on Lambda.
func (s *Stack) handlers(ctx context.Context, prefix string, log *slog.Logger) (map[string]gateway.Handler, error) {
	// As CDK generates the real one: printable, well over 32 bytes.
	cursorKey := rand.Text() + rand.Text()
	var err error
	s.secrets, err = secretslocal.Start(secretslocal.Config{
		Secrets:     []secretslocal.Secret{{ARN: localCursorSecret, Name: "dev-cursor-key", Value: cursorKey}},
		AccessKeyID: localAccessKey, SecretAccessKey: localSecretKey,
	})
	if err != nil {
		return nil, err
	}
	// The functions derive their e-mail link signer from the cursor key
	// (package compose); the stack signs the links it hands out alike.
	links, err := linktoken.New([]byte(cursorKey))
	if err != nil {
		return nil, err
	}
	s.links = links
	physical := func(logical string) string { return schema.PhysicalName(prefix, logical) }
	s.settings = envvar.Settings{
		PortalIssuer:    s.Issuer.IssuerURL(string(routes.Portal)),
		StaffIssuer:     s.Issuer.IssuerURL(string(routes.Staff)),
		PortalClientID:  s.Issuer.ClientID(string(routes.Portal)),
		StaffClientID:   s.Issuer.ClientID(string(routes.Staff)),
		CursorSecretARN: localCursorSecret,
		TableName:       physical,
		MailFrom:        "messages@maplegrove.example",
		SMSOrigin:       "+15555550100",
		APIURL:          s.APIURL,
	}
	// Each function's update limits are the store's lists for it, as
	// infra grants them.
	s.guard = iamguard.Config{Tables: iamguard.Tables(physical)}
	// The attachment path first: its signer is the attachments
	// function's, and its processor is built like every function.
	if s.Files, err = s.startFiles(ctx, s.dataDir, s.SiteURL, log); err != nil {
		return nil, err
	}
	handlers := map[string]gateway.Handler{}
	for _, f := range routes.Functions() {
		if f.Trigger != routes.HTTP {
			continue // started with the notification path
		}
		deps, err := compose.Build(ctx, f.Name, s.source(f, log))
		if err != nil {
			return nil, err
		}
		handlers[f.Name] = gateway.Handler(api.Constructors[f.Name](deps))
	}
	return handlers, nil
}

// source is where function f's dependencies come from locally: its own
// environment made exactly as infra makes it (envvar.Function: its own
// tables only, the cursor secret only if it has one, the sender settings
// only if it sends), over a DynamoDB client wrapped in its IAM guard, so a
// call its role would be refused in AWS is refused here too.
func (s *Stack) source(f routes.Function, log *slog.Logger) compose.Source {
	env := envvar.Function(slices.Sorted(maps.Keys(f.Tables)), f.Cursors, f.Sends, s.settings)
	// What Lambda sets beside infra's settings, and where the local stack
	// sends the SDK.
	env["AWS_REGION"], env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = "us-east-1", localAccessKey, localSecretKey
	env["AWS_ENDPOINT_URL_"+awsenv.SecretsManager] = s.secrets.Endpoint()
	blobEnv(f, env)
	sdk := awsenv.Env(func(name string) string { return env[name] })
	src := compose.Source{
		Env:      func(name string) string { return env[name] },
		DynamoDB: iamguard.New(s.DB, f, s.guard),
		Log:      log.With("function", f.Name),
		Now:      s.now,
	}
	if f.Blobs == routes.BlobSign && s.Files != nil {
		src.Blobs = s.Files.signer
	}
	if f.Cursors {
		src.CursorKey = secretkey.Read(sdk.For(sdk.Config(), awsenv.SecretsManager))
	}
	return src
}

// Token mints an access token for a demo user, as the sign-in page would.
func (s *Stack) Token(audience, username string) (string, error) {
	return s.Issuer.Mint(audience, username)
}

// Stop shuts every server down and stops DynamoDB Local.
func (s *Stack) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		_ = srv.Shutdown(ctx)
	}
	if s.gateway != nil {
		_ = s.gateway.Close()
	}
	s.escalation.close()
	s.Notifications.Stop()
	if s.secrets != nil {
		_ = s.secrets.Close()
	}
	s.Files.Stop()
	if s.dynamo != nil {
		_ = s.dynamo.Stop()
	}
}

func (s *Stack) serve(ln net.Listener, h http.Handler, log *slog.Logger) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("server stopped", "addr", ln.Addr().String(), "error", err)
		}
	}()
}

func listen(addr string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w (is another 'make dev' running?)", addr, err)
	}
	return ln, nil
}

// seedIfEmpty writes the demo data unless the practice already exists, so
// that data survives restarts of `make dev`.
func seedIfEmpty(ctx context.Context, st *store.Store) (bool, error) {
	existing, err := st.Pools(ctx, seed.PracticeID)
	if err != nil {
		return false, err
	}
	if len(existing) > 0 {
		return false, nil
	}
	if err := seed.Directory(ctx, st); err != nil {
		return false, fmt.Errorf("seed directory: %w", err)
	}
	if err := seed.Conversations(ctx, st, time.Now()); err != nil {
		return false, fmt.Errorf("seed conversations: %w", err)
	}
	return true, nil
}

// findSiteDir locates the pages from the working directory upward, so that
// tests in any package and `go run` from the root all find them.
func findSiteDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, web.SiteDir), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("devstack: cannot find the repository root (go.mod) above the working directory")
		}
		dir = parent
	}
}
