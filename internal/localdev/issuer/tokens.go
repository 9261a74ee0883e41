package issuer

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"maps"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token uses.
const (
	UseAccess = "access"
	UseID     = "id"
)

// MintOption changes one token minted by Mint or described by Claims.
type MintOption func(*mintOptions)

type mintOptions struct {
	use       string
	expiresIn *time.Duration
	notBefore *time.Time
	issuedAt  *time.Time
	scope     *string
	set       map[string]any
	unset     []string
	kid       *string
	nonce     string
	authTime  *time.Time
}

// AsIDToken mints an ID token (aud = client ID, no scope) instead of an
// access token.
func AsIDToken() MintOption { return func(o *mintOptions) { o.use = UseID } }

// WithExpiresIn sets exp to now + d; a negative d gives an expired token.
func WithExpiresIn(d time.Duration) MintOption { return func(o *mintOptions) { o.expiresIn = &d } }

// WithNotBefore adds an nbf claim.
func WithNotBefore(t time.Time) MintOption { return func(o *mintOptions) { o.notBefore = &t } }

// WithIssuedAt sets iat (and auth_time) to t instead of now.
func WithIssuedAt(t time.Time) MintOption { return func(o *mintOptions) { o.issuedAt = &t } }

// WithScope replaces the access token's scope claim.
func WithScope(scope string) MintOption { return func(o *mintOptions) { o.scope = &scope } }

// WithClaim adds a claim or overrides one, e.g. "iss" or "client_id".
func WithClaim(name string, value any) MintOption {
	return func(o *mintOptions) {
		if o.set == nil {
			o.set = map[string]any{}
		}
		o.set[name] = value
	}
}

// WithoutClaim removes a claim, e.g. "exp".
func WithoutClaim(name string) MintOption {
	return func(o *mintOptions) { o.unset = append(o.unset, name) }
}

// WithKeyID sets the kid header, e.g. to one the JWKS does not have. The
// token is still signed with the pool's real key.
func WithKeyID(kid string) MintOption { return func(o *mintOptions) { o.kid = &kid } }

// WithoutKeyID leaves the kid header out.
func WithoutKeyID() MintOption { return WithKeyID("") }

func withNonce(n string) MintOption { return func(o *mintOptions) { o.nonce = n } }

func withAuthTime(t time.Time) MintOption { return func(o *mintOptions) { o.authTime = &t } }

// Mint signs a token for a demo user of the audience's pool. Without
// options it is an access token valid for the configured TTL.
func (i *Issuer) Mint(audience, username string, opts ...MintOption) (string, error) {
	o := mintOpts(opts)
	claims, err := i.claims(audience, username, o)
	if err != nil {
		return "", err
	}
	kid := i.keys[audience].kid
	if o.kid != nil {
		kid = *o.kid
	}
	return i.sign(audience, claims, kid)
}

// Claims returns the claims Mint would sign, for tests that craft their own
// (bad) tokens from otherwise valid claims.
func (i *Issuer) Claims(audience, username string, opts ...MintOption) (jwt.MapClaims, error) {
	return i.claims(audience, username, mintOpts(opts))
}

func mintOpts(opts []MintOption) *mintOptions {
	o := &mintOptions{use: UseAccess}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

func (i *Issuer) claims(audience, username string, o *mintOptions) (jwt.MapClaims, error) {
	pool, ok := i.users[audience]
	if !ok {
		return nil, fmt.Errorf("issuer: unknown audience %q", audience)
	}
	u, ok := pool[username]
	if !ok {
		return nil, fmt.Errorf("issuer: no user %q in %q", username, audience)
	}
	now := i.now().Truncate(time.Second)
	iat := now
	if o.issuedAt != nil {
		iat = *o.issuedAt
	}
	authTime := iat
	if o.authTime != nil {
		authTime = *o.authTime
	}
	exp := iat.Add(i.ttl)
	if o.expiresIn != nil {
		exp = now.Add(*o.expiresIn)
	}
	jti, err := randomID()
	if err != nil {
		return nil, err
	}
	c := jwt.MapClaims{
		"sub":       u.Sub,
		"iss":       i.IssuerURL(audience),
		"token_use": o.use,
		"auth_time": authTime.Unix(),
		"iat":       iat.Unix(),
		"exp":       exp.Unix(),
		"jti":       jti,
	}
	if len(u.Groups) > 0 {
		c["cognito:groups"] = u.Groups
	}
	switch o.use {
	case UseAccess:
		c["client_id"] = i.clients[audience]
		c["scope"] = i.scopes[audience]
		if o.scope != nil {
			c["scope"] = *o.scope
		}
		c["username"] = u.Username
		c["version"] = 2
	case UseID:
		c["aud"] = i.clients[audience]
		c["cognito:username"] = u.Username
		c["name"] = u.Name
		if o.nonce != "" {
			c["nonce"] = o.nonce
		}
	}
	if o.notBefore != nil {
		c["nbf"] = o.notBefore.Unix()
	}
	maps.Copy(c, o.set)
	for _, name := range o.unset {
		delete(c, name)
	}
	return c, nil
}

// sign makes an RS256 JWT with the pool's key. Cognito's header carries
// only kid and alg, so typ is dropped.
func (i *Issuer) sign(audience string, claims jwt.MapClaims, kid string) (string, error) {
	k, ok := i.keys[audience]
	if !ok {
		return "", fmt.Errorf("issuer: unknown audience %q", audience)
	}
	return signRS256(k.priv, claims, kid)
}

func signRS256(key *rsa.PrivateKey, claims jwt.MapClaims, kid string) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	delete(t.Header, "typ")
	if kid != "" {
		t.Header["kid"] = kid
	}
	s, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("issuer: sign: %w", err)
	}
	return s, nil
}

// SignWithForeignKey signs claims with an RSA key that is not the pool's,
// under the pool's real kid: a forged token whose signature must fail.
func (i *Issuer) SignWithForeignKey(audience string, claims jwt.MapClaims) (string, error) {
	i.foreignOnce.Do(func() { i.foreign, i.foreignErr = rsa.GenerateKey(rand.Reader, 2048) })
	if i.foreignErr != nil {
		return "", fmt.Errorf("issuer: foreign key: %w", i.foreignErr)
	}
	return signRS256(i.foreign, claims, i.KeyID(audience))
}

// UnsignedAlgNone returns claims as an unsigned token (alg "none") under
// the pool's kid.
func (i *Issuer) UnsignedAlgNone(audience string, claims jwt.MapClaims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
	delete(t.Header, "typ")
	t.Header["kid"] = i.KeyID(audience)
	s, err := t.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		return "", fmt.Errorf("issuer: alg none: %w", err)
	}
	return s, nil
}

// SignHS256WithPublicKey signs claims with HMAC-SHA256 keyed by the pool's
// PEM-encoded public key: the algorithm-confusion attack against verifiers
// that let the token choose the algorithm.
func (i *Issuer) SignHS256WithPublicKey(audience string, claims jwt.MapClaims) (string, error) {
	k, ok := i.keys[audience]
	if !ok {
		return "", fmt.Errorf("issuer: unknown audience %q", audience)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.priv.PublicKey)
	if err != nil {
		return "", fmt.Errorf("issuer: public key: %w", err)
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	t := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	delete(t.Header, "typ")
	t.Header["kid"] = k.kid
	s, err := t.SignedString(secret)
	if err != nil {
		return "", fmt.Errorf("issuer: HS256: %w", err)
	}
	return s, nil
}

// randomID returns 128 random bits, URL-safe.
func randomID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("issuer: random: %w", err)
	}
	return b64(b), nil
}
