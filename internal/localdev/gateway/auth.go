package gateway

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// Authorizer is one HTTP API JWT authorizer, as configured on API Gateway:
// identity source $request.header.Authorization, an issuer and audiences.
type Authorizer struct {
	// Issuer must equal the token's iss exactly.
	Issuer string
	// Audience lists the accepted aud values, or client_id values for
	// tokens without aud (Cognito access tokens).
	Audience []string
	// JWKSURL overrides where the keys are fetched. By default it is
	// discovered from Issuer + "/.well-known/openid-configuration", as
	// API Gateway does.
	JWKSURL string
	// Client fetches discovery and keys. Default: a client with a 10 s
	// timeout.
	Client *http.Client
}

// authorizer verifies tokens for one Authorizer. Keys are fetched on first
// use, so the issuer may start after the gateway, and fetched again when a
// token names a kid the cache lacks (at most every five minutes), so an issuer
// restarted with a new key is picked up without restarting the gateway.
type authorizer struct {
	Authorizer
	ctx context.Context // ends the key refresh goroutine
	log *slog.Logger

	mu   sync.Mutex
	keys keyfunc.Keyfunc

	// verified holds tokens whose signature, issuer and audience checked
	// out, with the key that verified them.
	vmu      sync.Mutex
	verified map[string]verifiedToken
}

// verifiedToken is a token that passed every check but the clock's.
//
// A client sends the same token with every request until it expires, and
// the RSA verification and claim decoding were most of the gateway's own
// time per request. A cached token is only reused while the JWKS still
// maps its kid to the very key that verified it (a rotated or removed key
// sends it through the full check again), and exp, nbf and iat are checked
// against the request's time on every use, so a cached token is accepted
// exactly when a fresh verification would accept it: issuer and audience
// depend on the token alone, and scopes are checked per route after.
type verifiedToken struct {
	token  *jwt.Token
	key    any
	claims jwt.MapClaims
}

// maxVerified bounds the cache; a full cache is emptied (tokens live an
// hour, and a local stack sees a handful of users).
const maxVerified = 1024

// publicKey is what every crypto public key implements.
type publicKey interface{ Equal(crypto.PublicKey) bool }

// denial is why a request was refused.
type denial struct {
	status    int    // 401 or 403
	challenge string // the www-authenticate value
}

var errNoKID = errors.New("token has no kid")

// The only error_description AWS documents for its JWT authorizer is the
// audience one; the others are worded alike so a developer can tell the
// failures apart. The layout (space-separated, scope="") is AWS's.
func invalidToken(desc string) *denial {
	return &denial{http.StatusUnauthorized, `Bearer scope="" error="invalid_token" error_description="` + desc + `"`}
}

// authorize checks the request's token for a route with the given scopes
// and returns its claims (numbers as json.Number) and scopes.
func (a *authorizer) authorize(ctx context.Context, r *http.Request, routeScopes []string, now time.Time) (jwt.MapClaims, []string, *denial) {
	raw := strings.TrimSpace(r.Header.Get("Authorization"))
	// The identity source may hold the bare token or "Bearer <token>".
	if len(raw) >= 7 && strings.EqualFold(raw[:7], "bearer ") {
		raw = strings.TrimSpace(raw[7:])
	} else if strings.EqualFold(raw, "bearer") {
		raw = ""
	}
	if raw == "" {
		return nil, nil, &denial{http.StatusUnauthorized, "Bearer"}
	}
	keys, err := a.keyfunc(ctx)
	if err != nil {
		// API Gateway cannot verify anything without keys either.
		a.log.ErrorContext(ctx, "gateway: signing keys unavailable", "issuer", a.Issuer, "error", err)
		return nil, nil, invalidToken("the signing keys could not be fetched")
	}
	claims, d := a.verify(ctx, keys, raw, now)
	if d != nil {
		return nil, nil, d
	}
	scopes := tokenScopes(claims)
	if len(routeScopes) > 0 && !slices.ContainsFunc(routeScopes, func(s string) bool { return slices.Contains(scopes, s) }) {
		return nil, nil, &denial{http.StatusForbidden,
			`Bearer scope="` + strings.Join(routeScopes, " ") + `" error="insufficient_scope" error_description="the token does not have the required scope"`}
	}
	return claims, scopes, nil
}

// verify checks the token's signature, issuer, audience and times, and
// returns its claims (shared: read them only).
func (a *authorizer) verify(ctx context.Context, keys keyfunc.Keyfunc, raw string, now time.Time) (jwt.MapClaims, *denial) {
	timeOpts := []jwt.ParserOption{
		jwt.WithIssuer(a.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	}
	a.vmu.Lock()
	v, ok := a.verified[raw]
	a.vmu.Unlock()
	if ok {
		if key, err := keys.KeyfuncCtx(ctx)(v.token); err == nil {
			if k, isKey := key.(publicKey); isKey && k.Equal(v.key) {
				if err := jwt.NewValidator(timeOpts...).Validate(v.claims); err != nil {
					a.forget(raw)
					return nil, invalidToken(describe(err))
				}
				return v.claims, nil
			}
		}
		a.forget(raw)
	}

	claims := jwt.MapClaims{}
	var used any
	parser := jwt.NewParser(append(timeOpts, jwt.WithValidMethods([]string{"RS256"}), jwt.WithJSONNumber())...)
	token, err := parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid == "" {
			return nil, errNoKID
		}
		key, err := keys.KeyfuncCtx(ctx)(t)
		used = key
		return key, err
	})
	if err != nil {
		return nil, invalidToken(describe(err))
	}
	if !a.audienceOK(claims) {
		return nil, invalidToken("the token does not have a valid audience")
	}
	a.vmu.Lock()
	if len(a.verified) >= maxVerified || a.verified == nil {
		a.verified = map[string]verifiedToken{}
	}
	a.verified[raw] = verifiedToken{token: token, key: used, claims: claims}
	a.vmu.Unlock()
	return claims, nil
}

func (a *authorizer) forget(raw string) {
	a.vmu.Lock()
	delete(a.verified, raw)
	a.vmu.Unlock()
}

// describe names the first failed check, in the order AWS documents:
// signature and kid, iss, then exp, nbf and iat.
func describe(err error) string {
	for _, c := range []struct {
		target error
		desc   string
	}{
		{jwt.ErrTokenMalformed, "the token is malformed"},
		{errNoKID, "the token has no kid"},
		{keyfunc.ErrKeyfunc, "the token's kid is not in the JWKS"},
		{jwt.ErrTokenUnverifiable, "the token could not be verified"},
		{jwt.ErrTokenSignatureInvalid, "the token signature is invalid"},
		{jwt.ErrTokenInvalidIssuer, "the token does not have a valid issuer"},
		{jwt.ErrTokenRequiredClaimMissing, "the token has no exp"},
		{jwt.ErrTokenExpired, "the token has expired"},
		{jwt.ErrTokenNotValidYet, "the token is not valid yet"},
		{jwt.ErrTokenUsedBeforeIssued, "the token was issued in the future"},
	} {
		if errors.Is(err, c.target) {
			return c.desc
		}
	}
	return "the token is invalid"
}

// audienceOK applies API Gateway's rule: aud when the token has one, else
// client_id, must be one of the configured audiences.
func (a *authorizer) audienceOK(claims jwt.MapClaims) bool {
	if _, ok := claims["aud"]; ok {
		aud, err := claims.GetAudience()
		return err == nil && slices.ContainsFunc(aud, func(s string) bool { return slices.Contains(a.Audience, s) })
	}
	id, ok := claims["client_id"].(string)
	return ok && slices.Contains(a.Audience, id)
}

// tokenScopes reads scope (space-separated, OAuth 2.0) or scp (string or
// list), the two claims API Gateway looks at.
func tokenScopes(claims jwt.MapClaims) []string {
	for _, name := range []string{"scope", "scp"} {
		switch v := claims[name].(type) {
		case string:
			return strings.Fields(v)
		case []any:
			var out []string
			for _, s := range v {
				if s, ok := s.(string); ok {
					out = append(out, s)
				}
			}
			return out
		}
	}
	return nil
}

// keyfunc returns the key source, creating it on first use. A failure is
// not cached, so the next request tries again.
func (a *authorizer) keyfunc(ctx context.Context) (keyfunc.Keyfunc, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.keys != nil {
		return a.keys, nil
	}
	jwksURL := a.JWKSURL
	if jwksURL == "" {
		var err error
		if jwksURL, err = a.discover(ctx); err != nil {
			return nil, err
		}
	}
	noErrorFirst := false
	k, err := keyfunc.NewDefaultOverrideCtx(a.ctx, []string{jwksURL}, keyfunc.Override{
		Client:                    a.Client,
		HTTPTimeout:               10 * time.Second,
		NoErrorReturnFirstHTTPReq: &noErrorFirst,
		// API Gateway caches keys for up to two hours.
		RefreshInterval: 2 * time.Hour,
		// An unknown kid triggers a fetch at most every five minutes
		// (keyfunc's default); a request that would have to wait longer
		// than this for the next one fails at once instead of blocking.
		RateLimitWaitMax: time.Second,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				a.log.WarnContext(ctx, "gateway: JWKS refresh failed", "url", u, "error", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: JWKS %s: %w", jwksURL, err)
	}
	a.keys = k
	return k, nil
}

// discover reads jwks_uri from the issuer's OpenID configuration.
func (a *authorizer) discover(ctx context.Context) (string, error) {
	u := strings.TrimSuffix(a.Issuer, "/") + "/.well-known/openid-configuration"
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("gateway: discovery %s: %w", u, err)
	}
	res, err := a.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("gateway: discovery %s: %w", u, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("gateway: discovery %s: %s", u, res.Status)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		return "", fmt.Errorf("gateway: discovery %s: %w", u, err)
	}
	if doc.Issuer != a.Issuer || doc.JWKSURI == "" {
		return "", fmt.Errorf("gateway: discovery %s: issuer %q and jwks_uri %q do not fit the authorizer", u, doc.Issuer, doc.JWKSURI)
	}
	return doc.JWKSURI, nil
}
