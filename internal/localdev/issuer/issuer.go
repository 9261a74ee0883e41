// Package issuer is a development OpenID Connect issuer that stands in for
// the two Cognito user pools, "portal" and "staff", on one http.Handler.
//
// The issuer URL of an audience A is BaseURL + "/" + A. Under it:
//
//	GET  /.well-known/openid-configuration  discovery
//	GET  /.well-known/jwks.json             the pool's public key (RS256, kid)
//	GET  /oauth2/authorize                  sign-in page listing the pool's demo users
//	POST /oauth2/authorize                  the chosen user; redirects with code and state
//	POST /oauth2/token                      authorization_code + PKCE (S256) and refresh_token grants
//	POST /oauth2/revoke                     revokes a refresh token (RFC 7009), as Cognito's does
//	GET  /logout                            redirects to logout_uri
//	POST /dev/token                         dev-only: username=... returns tokens (loopback callers only)
//
// Tokens are Cognito-shaped: access tokens carry client_id, scope,
// token_use "access", username and, for users in groups, cognito:groups; ID
// tokens carry aud = client id, token_use "id" and name. Each pool has its
// own RSA 2048 key, as each Cognito pool does.
//
// The issuer never listens itself. To serve it on a port chosen by the
// kernel, listen first and derive BaseURL from the listener:
//
//	ln, _ := net.Listen("tcp", "127.0.0.1:0")
//	iss, _ := issuer.New(issuer.Config{BaseURL: "http://" + ln.Addr().String(), ...})
//	go http.Serve(ln, iss.Handler())
//
// It is for development and tests only: there are no passwords, and
// /dev/token hands any demo user's token to any local process.
package issuer

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"time"
)

// User is a demo user of one pool.
type User struct {
	Sub      string
	Username string
	Name     string
	Audience string   // the pool: "portal" or "staff"
	Groups   []string // cognito:groups, e.g. staff roles
}

// Config configures New.
type Config struct {
	// BaseURL is where the handler is reached, e.g. http://127.0.0.1:9001.
	// Required. It may carry a path prefix.
	BaseURL string
	Users   []User
	// ClientIDs maps each audience to its app client ID. It also defines
	// the audiences. Default: portal → portal-web, staff → staff-web.
	ClientIDs map[string]string
	// Scopes maps an audience to the space-separated scope of its access
	// tokens. Default: "openid <audience>/messages", which matches the
	// resource-server scopes of package routes. The scope parameter of an
	// authorize request is not consulted: every token of a pool gets its
	// pool's scope (Mint's WithScope and /dev/token's scope field narrow it).
	Scopes map[string]string
	// TokenTTL is the lifetime of access and ID tokens. Default: one hour,
	// Cognito's default.
	TokenTTL time.Duration
	// RefreshTTL is the lifetime of refresh tokens, which the code grant
	// returns and the refresh_token grant redeems for fresh access and ID
	// tokens (the refresh token itself is not rotated, as in Cognito
	// without rotation). Default: 24 hours, the portal client's setting in
	// infra.
	RefreshTTL time.Duration
	// AllowedOrigins may call the JSON endpoints (discovery, JWKS, token)
	// from a browser page.
	AllowedOrigins []string
	// RedirectURIs are the allowed redirect_uri and logout_uri values. As
	// RFC 8252 §7.3 allows for native and development clients, an entry on
	// a loopback host (127.0.0.1, [::1], localhost) matches any port.
	RedirectURIs []string
	// KeyFile, when set, persists the pools' RSA keys (PKCS#8 PEM, mode
	// 0600) so that tokens survive a restart. Missing keys are generated
	// and written.
	KeyFile string
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Logger records issued tokens by pool and sub, never names. Default:
	// slog.Default().
	Logger *slog.Logger
}

// Issuer is a development OIDC issuer. It is safe for concurrent use.
type Issuer struct {
	base     *url.URL
	users    map[string]map[string]User // audience → username → user
	clients  map[string]string
	scopes   map[string]string
	keys     map[string]*poolKey
	ttl      time.Duration
	origins  []string
	redirect []*url.URL
	now      func() time.Time
	log      *slog.Logger

	refreshTTL time.Duration

	mu      sync.Mutex
	codes   map[string]authCode
	refresh map[string]refreshGrant

	foreignOnce sync.Once
	foreign     *rsa.PrivateKey
	foreignErr  error
}

type poolKey struct {
	priv *rsa.PrivateKey
	kid  string
}

var audienceName = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)

// New validates cfg, loads or generates the keys and returns the issuer.
func New(cfg Config) (*Issuer, error) {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("issuer: BaseURL %q must be an absolute http(s) URL without query or fragment", cfg.BaseURL)
	}
	base.Path = trimSlash(base.Path)
	base.RawPath = ""

	i := &Issuer{
		base:    base,
		users:   map[string]map[string]User{},
		clients: cfg.ClientIDs,
		scopes:  map[string]string{},
		keys:    map[string]*poolKey{},
		ttl:     cfg.TokenTTL,
		origins: cfg.AllowedOrigins,
		now:     cfg.Now,
		log:     cfg.Logger,
		codes:   map[string]authCode{},
		refresh: map[string]refreshGrant{},

		refreshTTL: cfg.RefreshTTL,
	}
	if i.refreshTTL <= 0 {
		i.refreshTTL = 24 * time.Hour
	}
	if i.clients == nil {
		i.clients = map[string]string{"portal": "portal-web", "staff": "staff-web"}
	}
	if i.ttl <= 0 {
		i.ttl = time.Hour
	}
	if i.now == nil {
		i.now = time.Now
	}
	if i.log == nil {
		i.log = slog.Default()
	}
	for aud, client := range i.clients {
		if !audienceName.MatchString(aud) || client == "" {
			return nil, fmt.Errorf("issuer: audience %q needs a lower-case path-safe name and a client ID", aud)
		}
		i.users[aud] = map[string]User{}
		i.scopes[aud] = "openid " + aud + "/messages"
		if s, ok := cfg.Scopes[aud]; ok {
			i.scopes[aud] = s
		}
	}
	for _, u := range cfg.Users {
		pool, ok := i.users[u.Audience]
		if !ok {
			return nil, fmt.Errorf("issuer: user %q: unknown audience %q", u.Username, u.Audience)
		}
		if u.Sub == "" || u.Username == "" {
			return nil, fmt.Errorf("issuer: a user of %q lacks sub or username", u.Audience)
		}
		if _, dup := pool[u.Username]; dup {
			return nil, fmt.Errorf("issuer: username %q appears twice in %q", u.Username, u.Audience)
		}
		pool[u.Username] = u
	}
	for _, r := range cfg.RedirectURIs {
		u, err := url.Parse(r)
		if err != nil || !u.IsAbs() || u.Fragment != "" {
			return nil, fmt.Errorf("issuer: redirect URI %q must be absolute and without fragment", r)
		}
		i.redirect = append(i.redirect, u)
	}
	if err := i.loadKeys(cfg.KeyFile); err != nil {
		return nil, err
	}
	return i, nil
}

// Audiences returns the pools, sorted.
func (i *Issuer) Audiences() []string {
	var a []string
	for aud := range i.clients {
		a = append(a, aud)
	}
	slices.Sort(a)
	return a
}

// IssuerURL is the iss claim of the audience's tokens, and what a JWT
// authorizer must be configured with.
func (i *Issuer) IssuerURL(audience string) string {
	return i.base.String() + "/" + audience
}

// JWKSURL is where the audience's public keys are published.
func (i *Issuer) JWKSURL(audience string) string {
	return i.IssuerURL(audience) + "/.well-known/jwks.json"
}

// ClientID is the audience's app client ID: the aud of its ID tokens and
// the client_id of its access tokens.
func (i *Issuer) ClientID(audience string) string { return i.clients[audience] }

// KeyID is the kid of the audience's signing key.
func (i *Issuer) KeyID(audience string) string {
	if k := i.keys[audience]; k != nil {
		return k.kid
	}
	return ""
}

// loadKeys reads the key file, if any, generates keys it lacks and writes
// the file back when it generated any.
func (i *Issuer) loadKeys(file string) error {
	found := map[string]*rsa.PrivateKey{}
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("issuer: read key file: %w", err)
		}
		for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
			aud := block.Headers["Audience"]
			if block.Type != "PRIVATE KEY" || aud == "" {
				continue
			}
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return fmt.Errorf("issuer: key file %s, audience %s: %w", file, aud, err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return fmt.Errorf("issuer: key file %s, audience %s: not an RSA key", file, aud)
			}
			found[aud] = rk
		}
	}
	generated := false
	for aud := range i.clients {
		k, ok := found[aud]
		if !ok {
			var err error
			if k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				return fmt.Errorf("issuer: generate key: %w", err)
			}
			found[aud] = k
			generated = true
		}
		i.keys[aud] = &poolKey{priv: k, kid: thumbprint(&k.PublicKey)}
	}
	if file != "" && generated {
		return writeKeys(file, found)
	}
	return nil
}

func writeKeys(file string, keys map[string]*rsa.PrivateKey) error {
	var out []byte
	auds := make([]string, 0, len(keys))
	for aud := range keys {
		auds = append(auds, aud)
	}
	slices.Sort(auds)
	for _, aud := range auds {
		der, err := x509.MarshalPKCS8PrivateKey(keys[aud])
		if err != nil {
			return fmt.Errorf("issuer: encode key: %w", err)
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Audience": aud}, Bytes: der})...)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("issuer: key file folder: %w", err)
	}
	// Write then rename, so that a crash never leaves half a key file.
	tmp, err := os.CreateTemp(filepath.Dir(file), ".issuer-keys-*")
	if err != nil {
		return fmt.Errorf("issuer: write key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(out); err != nil {
		tmp.Close()
		return fmt.Errorf("issuer: write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("issuer: write key file: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("issuer: write key file: %w", err)
	}
	return nil
}

// thumbprint is the RFC 7638 JWK thumbprint, a kid that stays the same for
// as long as the key does.
func thumbprint(pub *rsa.PublicKey) string {
	canonical := fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, b64(big.NewInt(int64(pub.E)).Bytes()), b64(pub.N.Bytes()))
	sum := sha256.Sum256([]byte(canonical))
	return b64(sum[:])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

type jwk struct {
	Alg string `json:"alg"`
	E   string `json:"e"`
	Kid string `json:"kid"`
	Kty string `json:"kty"`
	N   string `json:"n"`
	Use string `json:"use"`
}

// JWKS returns the audience's JSON Web Key Set, as served at JWKSURL.
func (i *Issuer) JWKS(audience string) ([]byte, error) {
	k, ok := i.keys[audience]
	if !ok {
		return nil, fmt.Errorf("issuer: unknown audience %q", audience)
	}
	pub := &k.priv.PublicKey
	return json.Marshal(struct {
		Keys []jwk `json:"keys"`
	}{[]jwk{{Alg: "RS256", E: b64(big.NewInt(int64(pub.E)).Bytes()), Kid: k.kid, Kty: "RSA", N: b64(pub.N.Bytes()), Use: "sig"}}})
}

func trimSlash(p string) string {
	for len(p) > 0 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}
