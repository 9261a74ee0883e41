package issuer_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/pedsportal/messaging/internal/localdev/issuer"
)

var demoUsers = []issuer.User{
	{Sub: "sub-parent1", Username: "parent1", Name: "Pat Parent", Audience: "portal"},
	{Sub: "sub-parent2", Username: "parent2", Name: `Ann <script>alert(1)</script> "O'Brien"`, Audience: "portal"},
	{Sub: "sub-drlee", Username: "drlee", Name: "Dr Lee", Audience: "staff", Groups: []string{"doctor", "admin"}},
	{Sub: "sub-nurse", Username: "nurse1", Name: "Nora Nurse", Audience: "staff", Groups: []string{"nurse"}},
}

const (
	appOrigin   = "http://127.0.0.1:5173"
	redirectURI = "http://127.0.0.1:5173/callback"
)

// clock is a settable time source for expiry tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// serve starts the issuer on a loopback port, deriving BaseURL from the
// listener as a real caller does.
func serve(tb testing.TB, cfg issuer.Config) (*issuer.Issuer, *httptest.Server) {
	tb.Helper()
	srv := httptest.NewUnstartedServer(nil)
	cfg.BaseURL = "http://" + srv.Listener.Addr().String()
	if cfg.Users == nil {
		cfg.Users = demoUsers
	}
	if cfg.RedirectURIs == nil {
		cfg.RedirectURIs = []string{redirectURI}
	}
	if cfg.AllowedOrigins == nil {
		cfg.AllowedOrigins = []string{appOrigin}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	iss, err := issuer.New(cfg)
	if err != nil {
		tb.Fatalf("issuer.New: %v", err)
	}
	srv.Config.Handler = iss.Handler()
	srv.Start()
	tb.Cleanup(srv.Close)
	return iss, srv
}

// noRedirects returns the redirect itself instead of following it.
func noRedirects(srv *httptest.Server) *http.Client {
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// verify checks a token the strict way the gateway does: RS256 only, key
// by kid from the served JWKS.
func verify(tb testing.TB, iss *issuer.Issuer, srv *httptest.Server, aud, token string) (jwt.MapClaims, error) {
	tb.Helper()
	res, err := srv.Client().Get(iss.JWKSURL(aud))
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	kf, err := keyfunc.NewJWKSetJSON(raw)
	if err != nil {
		tb.Fatalf("JWKS: %v", err)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(token, claims, kf.Keyfunc, jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired())
	return claims, err
}

func header(tb testing.TB, token string) map[string]any {
	tb.Helper()
	seg, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		tb.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(seg, &h); err != nil {
		tb.Fatal(err)
	}
	return h
}

func TestDiscoveryAndJWKS(t *testing.T) {
	iss, srv := serve(t, issuer.Config{})
	for _, aud := range []string{"portal", "staff"} {
		t.Run(aud, func(t *testing.T) {
			var doc map[string]any
			getJSON(t, srv, iss.IssuerURL(aud)+"/.well-known/openid-configuration", &doc)
			want := map[string]string{
				"issuer":                 srv.URL + "/" + aud,
				"jwks_uri":               srv.URL + "/" + aud + "/.well-known/jwks.json",
				"authorization_endpoint": srv.URL + "/" + aud + "/oauth2/authorize",
				"token_endpoint":         srv.URL + "/" + aud + "/oauth2/token",
			}
			for k, v := range want {
				if doc[k] != v {
					t.Errorf("%s = %v, want %s", k, doc[k], v)
				}
			}
			if got := doc["code_challenge_methods_supported"]; !slices.Equal(toStrings(got), []string{"S256"}) {
				t.Errorf("code_challenge_methods_supported = %v", got)
			}

			var set struct {
				Keys []map[string]string `json:"keys"`
			}
			getJSON(t, srv, iss.JWKSURL(aud), &set)
			if len(set.Keys) != 1 {
				t.Fatalf("keys = %d, want 1", len(set.Keys))
			}
			k := set.Keys[0]
			if k["kid"] != iss.KeyID(aud) || k["kid"] == "" || k["alg"] != "RS256" || k["kty"] != "RSA" || k["use"] != "sig" {
				t.Errorf("jwk = %v", k)
			}
			if _, private := k["d"]; private {
				t.Errorf("JWKS leaks the private exponent")
			}
		})
	}
	if iss.KeyID("portal") == iss.KeyID("staff") {
		t.Errorf("the two pools share a key; Cognito pools each have their own")
	}
}

func getJSON(tb testing.TB, srv *httptest.Server, u string, v any) {
	tb.Helper()
	res, err := srv.Client().Get(u)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %s", u, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		tb.Fatal(err)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestMintIsCognitoShaped(t *testing.T) {
	iss, srv := serve(t, issuer.Config{})
	tests := []struct {
		name      string
		aud, user string
		opts      []issuer.MintOption
		want      map[string]any // exact values
		absent    []string
	}{
		{
			name: "portal access token",
			aud:  "portal", user: "parent1",
			want: map[string]any{
				"sub": "sub-parent1", "iss": iss.IssuerURL("portal"), "client_id": "portal-web",
				"token_use": "access", "scope": "openid portal/messages", "username": "parent1",
			},
			absent: []string{"aud", "cognito:groups", "name"},
		},
		{
			name: "staff access token carries groups",
			aud:  "staff", user: "drlee",
			want: map[string]any{
				"client_id": "staff-web", "token_use": "access", "scope": "openid staff/messages",
				"cognito:groups": []any{"doctor", "admin"},
			},
			absent: []string{"aud"},
		},
		{
			name: "ID token",
			aud:  "staff", user: "drlee",
			opts: []issuer.MintOption{issuer.AsIDToken()},
			want: map[string]any{
				"aud": "staff-web", "token_use": "id", "name": "Dr Lee", "cognito:username": "drlee",
				"cognito:groups": []any{"doctor", "admin"},
			},
			absent: []string{"scope", "client_id"},
		},
		{
			name: "scope and claims overridden",
			aud:  "portal", user: "parent1",
			opts:   []issuer.MintOption{issuer.WithScope("openid"), issuer.WithClaim("client_id", "other"), issuer.WithoutClaim("jti")},
			want:   map[string]any{"scope": "openid", "client_id": "other"},
			absent: []string{"jti"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := iss.Mint(tt.aud, tt.user, tt.opts...)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			h := header(t, tok)
			if h["alg"] != "RS256" || h["kid"] != iss.KeyID(tt.aud) || h["typ"] != nil {
				t.Errorf("header = %v, want alg RS256, the pool's kid and no typ", h)
			}
			claims, err := verify(t, iss, srv, tt.aud, tok)
			if err != nil {
				t.Fatalf("a minted token does not verify against the JWKS: %v", err)
			}
			for k, want := range tt.want {
				if got := claims[k]; !jsonEqual(got, want) {
					t.Errorf("%s = %#v, want %#v", k, got, want)
				}
			}
			for _, k := range tt.absent {
				if v, ok := claims[k]; ok {
					t.Errorf("%s = %v, want absent", k, v)
				}
			}
			for _, k := range []string{"iat", "exp", "auth_time"} {
				if _, ok := claims[k].(float64); !ok {
					t.Errorf("%s = %#v, want a NumericDate", k, claims[k])
				}
			}
			if exp, iat := claims["exp"].(float64), claims["iat"].(float64); exp-iat != 3600 {
				t.Errorf("exp - iat = %v, want the default one hour", exp-iat)
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestMintErrorsAndTimeOptions(t *testing.T) {
	iss, srv := serve(t, issuer.Config{})
	if _, err := iss.Mint("portal", "drlee"); err == nil {
		t.Errorf("Mint of a staff user from the portal pool succeeded")
	}
	if _, err := iss.Mint("billing", "parent1"); err == nil {
		t.Errorf("Mint for an unknown audience succeeded")
	}

	tests := []struct {
		name string
		opt  issuer.MintOption
		want error
	}{
		{"expired", issuer.WithExpiresIn(-time.Minute), jwt.ErrTokenExpired},
		{"not yet valid", issuer.WithNotBefore(time.Now().Add(time.Hour)), jwt.ErrTokenNotValidYet},
		{"no exp", issuer.WithoutClaim("exp"), jwt.ErrTokenRequiredClaimMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := iss.Mint("portal", "parent1", tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := verify(t, iss, srv, "portal", tok); !errors.Is(err, tt.want) {
				t.Errorf("verify error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBadTokenHelpers(t *testing.T) {
	iss, srv := serve(t, issuer.Config{})
	claims, err := iss.Claims("portal", "parent1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mint    func() (string, error)
		wantAlg string
		want    error
	}{
		{"foreign key", func() (string, error) { return iss.SignWithForeignKey("portal", claims) }, "RS256", jwt.ErrTokenSignatureInvalid},
		{"alg none", func() (string, error) { return iss.UnsignedAlgNone("portal", claims) }, "none", jwt.ErrTokenSignatureInvalid},
		{"HS256 keyed by the public key", func() (string, error) { return iss.SignHS256WithPublicKey("portal", claims) }, "HS256", jwt.ErrTokenSignatureInvalid},
		{"unknown kid", func() (string, error) { return iss.Mint("portal", "parent1", issuer.WithKeyID("nope")) }, "RS256", jwt.ErrTokenUnverifiable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := tt.mint()
			if err != nil {
				t.Fatal(err)
			}
			if h := header(t, tok); h["alg"] != tt.wantAlg {
				t.Errorf("alg = %v, want %s", h["alg"], tt.wantAlg)
			}
			if _, err := verify(t, iss, srv, "portal", tok); !errors.Is(err, tt.want) {
				t.Errorf("verify error = %v, want %v", err, tt.want)
			}
		})
	}
	if tok, _ := iss.Mint("portal", "parent1", issuer.WithoutKeyID()); header(t, tok)["kid"] != nil {
		t.Errorf("WithoutKeyID left a kid")
	}
}

// pkce returns a verifier and its S256 challenge.
func pkce() (verifier, challenge string) {
	verifier = strings.Repeat("v", 20) + "-._~0123456789abcdefghijk" // 45 chars
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

func authorizeQuery(aud, challenge string, change func(url.Values)) url.Values {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {aud + "-web"},
		"redirect_uri":          {redirectURI},
		"state":                 {"st-123"},
		"scope":                 {"openid " + aud + "/messages"},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
		"nonce":                 {"n-456"},
	}
	if change != nil {
		change(q)
	}
	return q
}

func TestSignInPage(t *testing.T) {
	iss, srv := serve(t, issuer.Config{})
	_, challenge := pkce()
	res, err := srv.Client().Get(iss.IssuerURL("portal") + "/oauth2/authorize?" + authorizeQuery("portal", challenge, nil).Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	page := string(body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status = %d: %s", res.StatusCode, page)
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "style-src 'self'", "form-action 'self' http://127.0.0.1:5173", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q allows script or inline style", csp)
	}
	for _, bad := range []string{"<script", "style=", "<style"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q: names must be escaped and there must be no inline script or style", bad)
		}
	}
	for _, want := range []string{"parent1", "parent2", "Pat Parent", "&lt;script&gt;", `value="st-123"`, `name="code_challenge"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "drlee") {
		t.Errorf("portal sign-in lists a staff user")
	}

	css, err := srv.Client().Get(srv.URL + "/static/issuer.css")
	if err != nil {
		t.Fatal(err)
	}
	css.Body.Close()
	if css.StatusCode != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %s %s", css.Status, css.Header.Get("Content-Type"))
	}
}

func TestAuthorizeValidation(t *testing.T) {
	iss, srv := serve(t, issuer.Config{RedirectURIs: []string{redirectURI, "https://app.example.test/cb"}})
	_, challenge := pkce()
	tests := []struct {
		name       string
		change     func(url.Values)
		wantStatus int
		wantError  string // OAuth error on the redirect
	}{
		{"valid", nil, http.StatusOK, ""},
		{"loopback on another port", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:9999/callback") }, http.StatusOK, ""},
		{"loopback, other path", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:5173/evil") }, http.StatusBadRequest, ""},
		{"non-loopback on another port", func(q url.Values) { q.Set("redirect_uri", "https://app.example.test:8443/cb") }, http.StatusBadRequest, ""},
		{"unlisted redirect", func(q url.Values) { q.Set("redirect_uri", "https://evil.example.test/cb") }, http.StatusBadRequest, ""},
		{"wrong client", func(q url.Values) { q.Set("client_id", "staff-web") }, http.StatusBadRequest, ""},
		{"implicit flow", func(q url.Values) { q.Set("response_type", "token") }, http.StatusSeeOther, "unsupported_response_type"},
		{"no PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, http.StatusSeeOther, "invalid_request"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, http.StatusSeeOther, "invalid_request"},
		{"malformed challenge", func(q url.Values) { q.Set("code_challenge", "short") }, http.StatusSeeOther, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := noRedirects(srv).Get(iss.IssuerURL("portal") + "/oauth2/authorize?" + authorizeQuery("portal", challenge, tt.change).Encode())
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if tt.wantError != "" {
				loc, err := url.Parse(res.Header.Get("Location"))
				if err != nil {
					t.Fatal(err)
				}
				if got := loc.Query().Get("error"); got != tt.wantError {
					t.Errorf("error = %q, want %q", got, tt.wantError)
				}
				if got := loc.Query().Get("state"); got != "st-123" {
					t.Errorf("state = %q, want it echoed", got)
				}
				if !strings.HasPrefix(loc.String(), redirectURI) {
					t.Errorf("redirected to %s", loc)
				}
			}
		})
	}
}

// signIn walks the browser flow up to the code.
func signIn(tb testing.TB, iss *issuer.Issuer, srv *httptest.Server, aud, username, challenge string) string {
	tb.Helper()
	form := authorizeQuery(aud, challenge, nil)
	form.Set("username", username)
	res, err := noRedirects(srv).PostForm(iss.IssuerURL(aud)+"/oauth2/authorize", form)
	if err != nil {
		tb.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		tb.Fatalf("sign-in status = %d", res.StatusCode)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		tb.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != redirectURI {
		tb.Fatalf("redirected to %s, want %s", got, redirectURI)
	}
	if loc.Query().Get("state") != "st-123" {
		tb.Fatalf("state not echoed: %s", loc)
	}
	return loc.Query().Get("code")
}

func redeem(tb testing.TB, iss *issuer.Issuer, srv *httptest.Server, aud string, form url.Values) (int, map[string]any) {
	tb.Helper()
	res, err := srv.Client().PostForm(iss.IssuerURL(aud)+"/oauth2/token", form)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		tb.Fatal(err)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		tb.Errorf("token response Cache-Control = %q, want no-store", cc)
	}
	return res.StatusCode, body
}

func TestCodeFlow(t *testing.T) {
	clk := &clock{t: time.Now()}
	iss, srv := serve(t, issuer.Config{Now: clk.Now})
	verifier, challenge := pkce()
	tokenForm := func(code string, change func(url.Values)) url.Values {
		f := url.Values{
			"grant_type":    {"authorization_code"},
			"code":          {code},
			"client_id":     {"staff-web"},
			"redirect_uri":  {redirectURI},
			"code_verifier": {verifier},
		}
		if change != nil {
			change(f)
		}
		return f
	}

	t.Run("success, then the code is spent", func(t *testing.T) {
		code := signIn(t, iss, srv, "staff", "drlee", challenge)
		status, body := redeem(t, iss, srv, "staff", tokenForm(code, nil))
		if status != http.StatusOK {
			t.Fatalf("status = %d: %v", status, body)
		}
		if body["token_type"] != "Bearer" || body["expires_in"] != float64(3600) {
			t.Errorf("token_type/expires_in = %v/%v", body["token_type"], body["expires_in"])
		}
		access, err := verify(t, iss, srv, "staff", body["access_token"].(string))
		if err != nil {
			t.Fatalf("access token: %v", err)
		}
		if access["token_use"] != "access" || access["sub"] != "sub-drlee" {
			t.Errorf("access claims = %v", access)
		}
		id, err := verify(t, iss, srv, "staff", body["id_token"].(string))
		if err != nil {
			t.Fatalf("id token: %v", err)
		}
		if id["token_use"] != "id" || id["aud"] != "staff-web" || id["nonce"] != "n-456" {
			t.Errorf("id claims = %v", id)
		}

		status, body = redeem(t, iss, srv, "staff", tokenForm(code, nil))
		if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("second use: %d %v, want 400 invalid_grant", status, body)
		}
	})

	bad := []struct {
		name   string
		change func(url.Values)
		want   string
	}{
		{"wrong verifier", func(f url.Values) { f.Set("code_verifier", strings.Repeat("x", 43)) }, "invalid_grant"},
		{"no verifier", func(f url.Values) { f.Del("code_verifier") }, "invalid_grant"},
		{"other client", func(f url.Values) { f.Set("client_id", "portal-web") }, "invalid_grant"},
		{"other redirect", func(f url.Values) { f.Set("redirect_uri", "http://127.0.0.1:5173/other") }, "invalid_grant"},
		{"other grant", func(f url.Values) { f.Set("grant_type", "password") }, "unsupported_grant_type"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			code := signIn(t, iss, srv, "staff", "nurse1", challenge)
			status, body := redeem(t, iss, srv, "staff", tokenForm(code, tt.change))
			if status != http.StatusBadRequest || body["error"] != tt.want {
				t.Errorf("got %d %v, want 400 %s", status, body, tt.want)
			}
			if _, ok := body["access_token"]; ok {
				t.Errorf("tokens issued on a bad request")
			}
		})
	}

	t.Run("code redeemed at the other pool", func(t *testing.T) {
		code := signIn(t, iss, srv, "staff", "nurse1", challenge)
		status, body := redeem(t, iss, srv, "portal", tokenForm(code, nil))
		if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("got %d %v, want 400 invalid_grant", status, body)
		}
	})

	t.Run("expired code", func(t *testing.T) {
		code := signIn(t, iss, srv, "staff", "nurse1", challenge)
		clk.Add(5*time.Minute + time.Second)
		status, body := redeem(t, iss, srv, "staff", tokenForm(code, nil))
		if status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("got %d %v, want 400 invalid_grant", status, body)
		}
	})

	t.Run("unknown user", func(t *testing.T) {
		form := authorizeQuery("staff", challenge, nil)
		form.Set("username", "parent1")
		res, err := noRedirects(srv).PostForm(iss.IssuerURL("staff")+"/oauth2/authorize", form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("status = %d, want 400", res.StatusCode)
		}
	})
}

func TestTokenEndpointCORS(t *testing.T) {
	iss, srv := serve(t, issuer.Config{})
	tests := []struct {
		name, method, origin, wantACAO string
	}{
		{"allowed origin", http.MethodPost, appOrigin, appOrigin},
		{"other origin", http.MethodPost, "https://evil.example.test", ""},
		{"preflight, allowed", http.MethodOptions, appOrigin, appOrigin},
		{"preflight, other", http.MethodOptions, "https://evil.example.test", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, iss.IssuerURL("portal")+"/oauth2/token", strings.NewReader("grant_type=authorization_code"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", tt.origin)
			if tt.method == http.MethodOptions {
				req.Header.Set("Access-Control-Request-Method", "POST")
			}
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if got := res.Header.Get("Access-Control-Allow-Origin"); got != tt.wantACAO {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantACAO)
			}
		})
	}
}

func TestDevToken(t *testing.T) {
	iss, srv := serve(t, issuer.Config{})
	tests := []struct {
		name       string
		aud, form  string
		wantStatus int
		wantScope  string
	}{
		{"parent", "portal", "username=parent1", http.StatusOK, "openid portal/messages"},
		{"staff with a narrower scope", "staff", "username=drlee&scope=openid", http.StatusOK, "openid"},
		{"user of the other pool", "portal", "username=drlee", http.StatusBadRequest, ""},
		{"no user", "portal", "", http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := srv.Client().Post(iss.IssuerURL(tt.aud)+"/dev/token", "application/x-www-form-urlencoded", strings.NewReader(tt.form))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d (%v), want %d", res.StatusCode, body, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusOK {
				return
			}
			claims, err := verify(t, iss, srv, tt.aud, body["access_token"].(string))
			if err != nil {
				t.Fatal(err)
			}
			if claims["scope"] != tt.wantScope {
				t.Errorf("scope = %v, want %q", claims["scope"], tt.wantScope)
			}
		})
	}

	t.Run("refused to non-loopback callers", func(t *testing.T) {
		req := httptest.NewRequest(http.MethodPost, iss.IssuerURL("portal")+"/dev/token", strings.NewReader("username=parent1"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "192.0.2.10:5555"
		rec := httptest.NewRecorder()
		iss.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "access_token") {
			t.Errorf("status = %d, body %s; want 403 without tokens", rec.Code, rec.Body)
		}
	})
}

func TestForeignHostRefused(t *testing.T) {
	iss, _ := serve(t, issuer.Config{})
	req := httptest.NewRequest(http.MethodGet, "http://rebound.example.test/portal/.well-known/jwks.json", nil)
	rec := httptest.NewRecorder()
	iss.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusMisdirectedRequest {
		t.Errorf("status = %d, want 421", rec.Code)
	}
}

func TestLogout(t *testing.T) {
	iss, srv := serve(t, issuer.Config{})
	tests := []struct {
		name, query string
		wantStatus  int
	}{
		{"allowed", "client_id=portal-web&logout_uri=" + url.QueryEscape(redirectURI), http.StatusFound},
		{"unlisted", "client_id=portal-web&logout_uri=" + url.QueryEscape("https://evil.example.test/"), http.StatusBadRequest},
		{"wrong client", "client_id=staff-web&logout_uri=" + url.QueryEscape(redirectURI), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := noRedirects(srv).Get(iss.IssuerURL("portal") + "/logout?" + tt.query)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusFound && res.Header.Get("Location") != redirectURI {
				t.Errorf("Location = %s", res.Header.Get("Location"))
			}
		})
	}
}

func TestKeyFileKeepsTokensValidAcrossRestarts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "keys", "issuer.pem")
	first, _ := serve(t, issuer.Config{KeyFile: file})
	tok, err := first.Mint("staff", "drlee")
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(file)
	if err != nil {
		t.Fatalf("key file not written: %v", err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %o, want 600", perm)
	}

	second, srv := serve(t, issuer.Config{KeyFile: file})
	for _, aud := range []string{"portal", "staff"} {
		if first.KeyID(aud) != second.KeyID(aud) {
			t.Errorf("%s kid changed across restart", aud)
		}
	}
	// The second issuer has another port, so only the signature and kid
	// carry over; check those.
	if _, err := verify(t, second, srv, "staff", tok); err != nil {
		t.Errorf("token from before the restart: %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  issuer.Config
	}{
		{"no base URL", issuer.Config{}},
		{"relative base URL", issuer.Config{BaseURL: "/idp"}},
		{"user of an unknown pool", issuer.Config{BaseURL: "http://127.0.0.1:1", Users: []issuer.User{{Sub: "s", Username: "u", Audience: "billing"}}}},
		{"duplicate username", issuer.Config{BaseURL: "http://127.0.0.1:1", Users: []issuer.User{
			{Sub: "a", Username: "u", Audience: "portal"}, {Sub: "b", Username: "u", Audience: "portal"}}}},
		{"user without sub", issuer.Config{BaseURL: "http://127.0.0.1:1", Users: []issuer.User{{Username: "u", Audience: "portal"}}}},
		{"redirect with fragment", issuer.Config{BaseURL: "http://127.0.0.1:1", RedirectURIs: []string{"http://127.0.0.1/cb#x"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := issuer.New(tt.cfg); err == nil {
				t.Errorf("New accepted %+v", tt.cfg)
			}
		})
	}
}

// A code grant returns a refresh token; it is redeemed for fresh tokens of
// the same user (and no new refresh token, as Cognito without rotation),
// only by its own client and pool, until it expires or is revoked.
func TestRefreshTokens(t *testing.T) {
	clk := &clock{t: time.Now()}
	iss, srv := serve(t, issuer.Config{Now: clk.Now, RefreshTTL: 12 * time.Hour})
	verifier, challenge := pkce()
	signInFor := func(t *testing.T) string {
		t.Helper()
		code := signIn(t, iss, srv, "staff", "drlee", challenge)
		status, body := redeem(t, iss, srv, "staff", url.Values{
			"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"staff-web"},
			"redirect_uri": {redirectURI}, "code_verifier": {verifier},
		})
		rt, _ := body["refresh_token"].(string)
		if status != http.StatusOK || len(rt) < 20 {
			t.Fatalf("code grant: %d %v, want a refresh token", status, body)
		}
		return rt
	}
	refresh := func(aud, client, rt string) (int, map[string]any) {
		return redeem(t, iss, srv, aud, url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "refresh_token": {rt}})
	}
	revoke := func(aud string, form url.Values) int {
		t.Helper()
		res, err := srv.Client().PostForm(iss.IssuerURL(aud)+"/oauth2/revoke", form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}

	t.Run("redeemed for fresh tokens of the same user", func(t *testing.T) {
		rt := signInFor(t)
		clk.Add(50 * time.Minute)
		status, body := refresh("staff", "staff-web", rt)
		if status != http.StatusOK {
			t.Fatalf("refresh: %d %v", status, body)
		}
		if _, again := body["refresh_token"]; again {
			t.Errorf("refresh answered a new refresh token: %v", body)
		}
		access, err := verify(t, iss, srv, "staff", body["access_token"].(string))
		if err != nil {
			t.Fatalf("refreshed access token: %v", err)
		}
		if got, want := access["exp"].(float64), float64(clk.Now().Add(time.Hour).Unix()); access["sub"] != "sub-drlee" || got < want-2 {
			t.Errorf("refreshed claims = %v, want sub-drlee expiring an hour after the refresh", access)
		}
		if status, _ := refresh("staff", "staff-web", rt); status != http.StatusOK {
			t.Errorf("a second refresh: %d, want 200 (the token is not single-use)", status)
		}
	})
	t.Run("refused for another client, another pool, after expiry", func(t *testing.T) {
		rt := signInFor(t)
		for _, tc := range []struct{ name, aud, client string }{
			{"other client", "staff", "portal-web"},
			{"other pool", "portal", "portal-web"},
			{"unknown token", "staff", "staff-web"},
		} {
			token := rt
			if tc.name == "unknown token" {
				token = rt + "x"
			}
			if status, body := refresh(tc.aud, tc.client, token); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
				t.Errorf("%s: %d %v, want 400 invalid_grant", tc.name, status, body)
			}
		}
		clk.Add(12*time.Hour + time.Second)
		if status, body := refresh("staff", "staff-web", rt); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("expired: %d %v, want 400 invalid_grant", status, body)
		}
	})
	t.Run("revoked on sign-out", func(t *testing.T) {
		rt := signInFor(t)
		if got := revoke("staff", url.Values{"client_id": {"portal-web"}, "token": {rt}}); got != http.StatusBadRequest {
			t.Errorf("revoke by a client of another pool: %d, want 400", got)
		}
		if status, _ := refresh("staff", "staff-web", rt); status != http.StatusOK {
			t.Fatalf("a refused revocation revoked the token (%d)", status)
		}
		if got := revoke("staff", url.Values{"client_id": {"staff-web"}, "token": {rt}}); got != http.StatusOK {
			t.Errorf("revoke: %d, want 200", got)
		}
		if status, body := refresh("staff", "staff-web", rt); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
			t.Errorf("after revocation: %d %v, want 400 invalid_grant", status, body)
		}
		if got := revoke("staff", url.Values{"client_id": {"staff-web"}, "token": {rt}}); got != http.StatusOK {
			t.Errorf("revoking again: %d, want 200 (RFC 7009 §2.2)", got)
		}
	})
}
