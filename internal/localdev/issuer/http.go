package issuer

import (
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// codeTTL is how long an authorization code may wait to be redeemed:
// Cognito's five minutes.
const codeTTL = 5 * time.Minute

// maxForm bounds every form body; none of ours needs more than a few KiB.
const maxForm = 64 << 10

//go:embed signin.html issuer.css
var assets embed.FS

var signinPage = template.Must(template.New("signin.html").ParseFS(assets, "signin.html"))

type authCode struct {
	audience    string
	clientID    string
	redirectURI string
	challenge   string
	username    string
	nonce       string
	authTime    time.Time
	expires     time.Time
}

// Handler serves every pool's endpoints under BaseURL.
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	p := i.base.Path
	mux.HandleFunc("GET "+p+"/static/issuer.css", serveCSS)
	for _, aud := range i.Audiences() {
		pre := p + "/" + aud
		mux.Handle("GET "+pre+"/.well-known/openid-configuration", i.cors(func(w http.ResponseWriter, r *http.Request) { i.discovery(w, aud) }))
		mux.Handle("GET "+pre+"/.well-known/jwks.json", i.cors(func(w http.ResponseWriter, r *http.Request) { i.jwks(w, aud) }))
		mux.Handle("POST "+pre+"/oauth2/token", i.cors(func(w http.ResponseWriter, r *http.Request) { i.token(w, r, aud) }))
		mux.Handle("POST "+pre+"/oauth2/revoke", i.cors(func(w http.ResponseWriter, r *http.Request) { i.revoke(w, r, aud) }))
		for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/jwks.json", "/oauth2/token", "/oauth2/revoke"} {
			mux.Handle("OPTIONS "+pre+path, i.cors(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		}
		mux.HandleFunc("GET "+pre+"/oauth2/authorize", func(w http.ResponseWriter, r *http.Request) { i.authorizePage(w, r, aud) })
		mux.HandleFunc("POST "+pre+"/oauth2/authorize", func(w http.ResponseWriter, r *http.Request) { i.authorizeSubmit(w, r, aud) })
		mux.HandleFunc("GET "+pre+"/logout", func(w http.ResponseWriter, r *http.Request) { i.logout(w, r, aud) })
		mux.HandleFunc("POST "+pre+"/dev/token", func(w http.ResponseWriter, r *http.Request) { i.devToken(w, r, aud) })
	}
	return i.guard(mux)
}

// guard applies what every response needs, and refuses requests for a host
// other than BaseURL's: a web page that rebinds its own DNS name to
// 127.0.0.1 must not get to talk to the issuer.
func (i *Issuer) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		if !strings.EqualFold(r.Host, i.base.Host) {
			http.Error(w, "this issuer answers only as "+i.base.Host, http.StatusMisdirectedRequest)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		next.ServeHTTP(w, r)
	})
}

// cors lets the configured origins read the JSON endpoints and answers
// their preflight requests.
func (i *Issuer) cors(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Add("Vary", "Origin")
		if o := r.Header.Get("Origin"); o != "" && slices.Contains(i.origins, o) {
			h.Set("Access-Control-Allow-Origin", o)
			if r.Method == http.MethodOptions {
				h.Set("Access-Control-Allow-Methods", "GET, POST")
				h.Set("Access-Control-Allow-Headers", "content-type")
				h.Set("Access-Control-Max-Age", "600")
			}
		}
		next(w, r)
	})
}

func serveCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "max-age=300")
	http.ServeFileFS(w, r, assets, "issuer.css")
}

func (i *Issuer) discovery(w http.ResponseWriter, aud string) {
	iss := i.IssuerURL(aud)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/oauth2/authorize",
		"token_endpoint":                        iss + "/oauth2/token",
		"jwks_uri":                              i.JWKSURL(aud),
		"end_session_endpoint":                  iss + "/logout",
		"revocation_endpoint":                   iss + "/oauth2/revoke",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"none"},
		"code_challenge_methods_supported":      []string{"S256"},
		"scopes_supported":                      strings.Fields(i.scopes[aud]),
	})
}

func (i *Issuer) jwks(w http.ResponseWriter, aud string) {
	b, err := i.JWKS(aud)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, oauthError{"server_error", ""})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

// authRequest is a validated /oauth2/authorize request.
type authRequest struct {
	clientID, redirectURI, state, scope, challenge, nonce string
	redirect                                              *url.URL
}

// parseAuthRequest validates an authorize request. A bad client_id or
// redirect_uri is shown to the user (page non-empty): redirecting to an
// unvetted URI would make the issuer an open redirector. Other errors go
// back to the client on the redirect (errCode non-empty), as RFC 6749
// §4.1.2.1 says.
func (i *Issuer) parseAuthRequest(aud string, q url.Values) (req authRequest, page, errCode, errDesc string) {
	req = authRequest{
		clientID:    q.Get("client_id"),
		redirectURI: q.Get("redirect_uri"),
		state:       q.Get("state"),
		scope:       q.Get("scope"),
		challenge:   q.Get("code_challenge"),
		nonce:       q.Get("nonce"),
	}
	if req.clientID == "" || req.clientID != i.clients[aud] {
		return req, "Unknown client_id for this pool.", "", ""
	}
	u, ok := i.allowedRedirect(req.redirectURI)
	if !ok {
		return req, "This redirect_uri is not allowed.", "", ""
	}
	req.redirect = u
	switch {
	case q.Get("response_type") != "code":
		return req, "", "unsupported_response_type", "response_type must be code"
	case q.Get("code_challenge_method") != "S256":
		return req, "", "invalid_request", "PKCE with code_challenge_method=S256 is required"
	case len(req.challenge) != 43 || !isBase64URL(req.challenge):
		return req, "", "invalid_request", "code_challenge must be a base64url SHA-256 digest"
	}
	return req, "", "", ""
}

// allowedRedirect matches an allow-list entry exactly, or, for loopback
// entries, in everything but the port (RFC 8252 §7.3).
func (i *Issuer) allowedRedirect(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Fragment != "" || u.User != nil {
		return nil, false
	}
	for _, a := range i.redirect {
		if raw == a.String() {
			return u, true
		}
		if isLoopback(a.Hostname()) && u.Scheme == a.Scheme && u.Hostname() == a.Hostname() &&
			u.EscapedPath() == a.EscapedPath() && u.RawQuery == a.RawQuery {
			return u, true
		}
	}
	return nil, false
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type signinView struct {
	Pool   string
	CSS    string
	Action string
	Error  string
	Params []param
	Users  []User
}

type param struct{ Name, Value string }

func (i *Issuer) authorizePage(w http.ResponseWriter, r *http.Request, aud string) {
	req, page, code, desc := i.parseAuthRequest(aud, r.URL.Query())
	if page != "" {
		i.renderPage(w, http.StatusBadRequest, aud, nil, signinView{Error: page})
		return
	}
	if code != "" {
		redirectTo(w, r, req.redirect, url.Values{"error": {code}, "error_description": {desc}, "state": {req.state}})
		return
	}
	var users []User
	for _, u := range i.users[aud] {
		users = append(users, u)
	}
	slices.SortFunc(users, func(a, b User) int { return strings.Compare(a.Username, b.Username) })
	var params []param
	for _, name := range []string{"response_type", "client_id", "redirect_uri", "state", "scope", "code_challenge", "code_challenge_method", "nonce"} {
		if v := r.URL.Query().Get(name); v != "" {
			params = append(params, param{name, v})
		}
	}
	i.renderPage(w, http.StatusOK, aud, req.redirect, signinView{Params: params, Users: users})
}

func (i *Issuer) authorizeSubmit(w http.ResponseWriter, r *http.Request, aud string) {
	if err := r.ParseForm(); err != nil {
		i.renderPage(w, http.StatusBadRequest, aud, nil, signinView{Error: "Malformed form."})
		return
	}
	req, page, code, desc := i.parseAuthRequest(aud, r.PostForm)
	if page != "" {
		i.renderPage(w, http.StatusBadRequest, aud, nil, signinView{Error: page})
		return
	}
	if code != "" {
		redirectTo(w, r, req.redirect, url.Values{"error": {code}, "error_description": {desc}, "state": {req.state}})
		return
	}
	user, ok := i.users[aud][r.PostForm.Get("username")]
	if !ok {
		i.renderPage(w, http.StatusBadRequest, aud, nil, signinView{Error: "Unknown user."})
		return
	}
	c, err := randomID()
	if err != nil {
		http.Error(w, "server error", http.StatusInternalServerError)
		return
	}
	now := i.now()
	i.mu.Lock()
	for k, v := range i.codes {
		if now.After(v.expires) {
			delete(i.codes, k)
		}
	}
	i.codes[c] = authCode{
		audience: aud, clientID: req.clientID, redirectURI: req.redirectURI, challenge: req.challenge,
		username: user.Username, nonce: req.nonce, authTime: now, expires: now.Add(codeTTL),
	}
	i.mu.Unlock()
	redirectTo(w, r, req.redirect, url.Values{"code": {c}, "state": {req.state}})
}

// renderPage writes the sign-in page. Its CSP allows no script and no
// inline style; form-action must also name the client's origin, because
// browsers apply it to the redirect that follows the form post.
func (i *Issuer) renderPage(w http.ResponseWriter, status int, aud string, redirect *url.URL, v signinView) {
	formAction := "'self'"
	if redirect != nil {
		formAction += " " + redirect.Scheme + "://" + redirect.Host
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Type", "text/html; charset=utf-8")
	v.Pool = aud
	v.CSS = i.base.Path + "/static/issuer.css"
	v.Action = i.base.Path + "/" + aud + "/oauth2/authorize"
	w.WriteHeader(status)
	_ = signinPage.Execute(w, v)
}

func redirectTo(w http.ResponseWriter, r *http.Request, base *url.URL, add url.Values) {
	u := *base
	q := u.Query()
	for k, vs := range add {
		if len(vs) > 0 && vs[0] != "" {
			q.Set(k, vs[0])
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
}

// refreshGrant is what a refresh token stands for.
type refreshGrant struct {
	audience, clientID, username string
	authTime, expires            time.Time
}

func (i *Issuer) token(w http.ResponseWriter, r *http.Request, aud string) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "malformed form"})
		return
	}
	f := r.PostForm
	switch f.Get("grant_type") {
	case "authorization_code":
	case "refresh_token":
		i.redeemRefresh(w, f, aud)
		return
	default:
		writeJSON(w, http.StatusBadRequest, oauthError{"unsupported_grant_type", ""})
		return
	}
	// A code is consumed by the first attempt, right or wrong, so that a
	// stolen code cannot be tried against many verifiers.
	i.mu.Lock()
	c, ok := i.codes[f.Get("code")]
	delete(i.codes, f.Get("code"))
	i.mu.Unlock()
	switch {
	case !ok || c.audience != aud || i.now().After(c.expires):
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_grant", "unknown, used or expired code"})
		return
	case f.Get("client_id") != c.clientID:
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_grant", "client_id does not match the code"})
		return
	case f.Get("redirect_uri") != c.redirectURI:
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_grant", "redirect_uri does not match the code"})
		return
	case !verifierMatches(f.Get("code_verifier"), c.challenge):
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_grant", "code_verifier does not match the code_challenge"})
		return
	}
	rt, err := randomID()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, oauthError{"server_error", ""})
		return
	}
	now := i.now()
	i.mu.Lock()
	for k, v := range i.refresh {
		if now.After(v.expires) {
			delete(i.refresh, k)
		}
	}
	i.refresh[rt] = refreshGrant{audience: aud, clientID: c.clientID, username: c.username, authTime: c.authTime, expires: now.Add(i.refreshTTL)}
	i.mu.Unlock()
	i.issue(w, aud, c.username, "authorization_code", rt, withNonce(c.nonce), withAuthTime(c.authTime))
}

// redeemRefresh redeems a refresh token for fresh access and ID tokens
// (RFC 6749 §6). An unknown, revoked or expired token, or one of another
// client or pool, is invalid_grant, as Cognito answers.
func (i *Issuer) redeemRefresh(w http.ResponseWriter, f url.Values, aud string) {
	i.mu.Lock()
	g, ok := i.refresh[f.Get("refresh_token")]
	i.mu.Unlock()
	if !ok || g.audience != aud || f.Get("client_id") != g.clientID || i.now().After(g.expires) {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_grant", "unknown, revoked or expired refresh token"})
		return
	}
	i.issue(w, aud, g.username, "refresh_token", "", withAuthTime(g.authTime))
}

// revoke ends a refresh token (RFC 7009 §2): it can no longer be redeemed.
// As the RFC says, an unknown token is not an error; a token of another
// client is left alone.
func (i *Issuer) revoke(w http.ResponseWriter, r *http.Request, aud string) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "malformed form"})
		return
	}
	f := r.PostForm
	if f.Get("client_id") != i.clients[aud] {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_client", "unknown client_id for this pool"})
		return
	}
	if f.Get("token") == "" {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "token is required"})
		return
	}
	i.mu.Lock()
	if g, ok := i.refresh[f.Get("token")]; ok && g.audience == aud && g.clientID == f.Get("client_id") {
		delete(i.refresh, f.Get("token"))
	}
	i.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// devToken is the shell's way in: curl -d username=parent1 .../portal/dev/token.
// Only loopback callers are served.
func (i *Issuer) devToken(w http.ResponseWriter, r *http.Request, aud string) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	if !isLoopback(host) {
		writeJSON(w, http.StatusForbidden, oauthError{"access_denied", "dev tokens are for loopback callers only"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "malformed form"})
		return
	}
	username := r.PostForm.Get("username")
	if _, ok := i.users[aud][username]; !ok {
		writeJSON(w, http.StatusBadRequest, oauthError{"invalid_request", "unknown username for this pool"})
		return
	}
	var opts []MintOption
	if s := r.PostForm.Get("scope"); s != "" {
		opts = append(opts, WithScope(s))
	}
	i.issue(w, aud, username, "dev", "", opts...)
}

// issue answers with fresh access and ID tokens, and refresh when the
// grant made one.
func (i *Issuer) issue(w http.ResponseWriter, aud, username, grant, refresh string, opts ...MintOption) {
	access, err := i.Mint(aud, username, opts...)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, oauthError{"server_error", ""})
		return
	}
	id, err := i.Mint(aud, username, append(opts, AsIDToken())...)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, oauthError{"server_error", ""})
		return
	}
	// The sub is an opaque ID; usernames and names stay out of the log.
	i.log.Info("issuer: tokens issued", "audience", aud, "sub", i.users[aud][username].Sub, "grant", grant)
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: access, IDToken: id, RefreshToken: refresh, TokenType: "Bearer", ExpiresIn: int(i.ttl / time.Second)})
}

func (i *Issuer) logout(w http.ResponseWriter, r *http.Request, aud string) {
	q := r.URL.Query()
	if q.Get("client_id") != i.clients[aud] {
		i.renderPage(w, http.StatusBadRequest, aud, nil, signinView{Error: "Unknown client_id for this pool."})
		return
	}
	u, ok := i.allowedRedirect(q.Get("logout_uri"))
	if !ok {
		i.renderPage(w, http.StatusBadRequest, aud, nil, signinView{Error: "This logout_uri is not allowed."})
		return
	}
	// There is no session to end: every sign-in shows the user list again.
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// verifierMatches checks a PKCE code_verifier against its S256 challenge
// (RFC 7636 §4.6), in constant time.
func verifierMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for _, c := range verifier {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~", c)) {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(b64(sum[:])), []byte(challenge)) == 1
}

func isBase64URL(s string) bool {
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
