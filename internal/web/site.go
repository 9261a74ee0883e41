package web

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
)

// Config is the content of config.json. The dev server and the CDK stack both
// build it from this type, so the pages read one shape wherever they run.
type Config struct {
	// APIBaseURL is the HTTP API's base URL, without a trailing slash.
	APIBaseURL string `json:"apiBaseUrl"`
	// Portal and Staff are the OIDC clients of the two audiences.
	Portal OIDCClient `json:"portal"`
	Staff  OIDCClient `json:"staff"`
	// PollSeconds, when set, is how often the pages poll their summaries
	// instead of their own pace (staff 15 s, portal 30 s); the browser
	// tests shorten it so news shows within a step.
	PollSeconds int `json:"pollSeconds,omitempty"`
}

// OIDCClient is one audience's public OIDC client: the pages sign in with the
// authorization code flow and PKCE, so there is no client secret.
type OIDCClient struct {
	Issuer       string `json:"issuer"`
	ClientID     string `json:"clientId"`
	AuthorizeURL string `json:"authorizeUrl"`
	TokenURL     string `json:"tokenUrl"`
	// RevokeURL ends the refresh token on sign-out (RFC 7009); Cognito's
	// is /oauth2/revoke beside the token endpoint, on the same origin.
	RevokeURL string `json:"revokeUrl"`
	LogoutURL string `json:"logoutUrl"`
	Scope     string `json:"scope"` // "openid portal/messages" or "openid staff/messages"
}

// ConnectOrigins returns the distinct origins the pages fetch from: the API
// and both token endpoints. Pass them to CSP. Authorize and logout URLs are
// navigations, not fetches, so they are not listed.
func (c Config) ConnectOrigins() []string {
	var out []string
	for _, raw := range []string{c.APIBaseURL, c.Portal.TokenURL, c.Staff.TokenURL} {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme == "" || u.Host == "" {
			continue
		}
		o := u.Scheme + "://" + u.Host
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// NewSiteHandler serves the pages in dir and config.json from cfg. Every
// response, errors included, carries SecurityHeaders(csp), so a 404 or a
// redirect is no weaker than a page. It never lists a directory, never
// serves dot-files, and cannot be led outside dir: files are opened through
// an os.Root, which also refuses symlinks that point out of it.
func NewSiteHandler(dir string, cfg Config, csp string) http.Handler {
	configJSON, err := json.Marshal(cfg)
	if err != nil { // Config holds only strings; this cannot fail.
		panic(err)
	}
	return &siteHandler{dir: dir, config: configJSON, headers: SecurityHeaders(csp)}
}

type siteHandler struct {
	dir     string
	config  []byte
	headers map[string]string
}

func (s *siteHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for k, v := range s.headers {
		w.Header().Set(k, v)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		plainError(w, http.StatusMethodNotAllowed)
		return
	}
	name, ok := cleanPath(r.URL.Path)
	if !ok {
		plainError(w, http.StatusNotFound)
		return
	}
	if name == ConfigFile {
		// Regenerated on every deploy; a stale copy would point at old
		// endpoints.
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet {
			_, _ = w.Write(s.config)
		}
		return
	}
	s.serveFile(w, r, name)
}

func (s *siteHandler) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	// Opening the root per request keeps the handler correct when the
	// folder is rebuilt or replaced while the dev server runs.
	root, err := os.OpenRoot(s.dir)
	if err != nil {
		plainError(w, http.StatusInternalServerError)
		return
	}
	defer root.Close()

	f, err := root.Open(name)
	if err != nil {
		plainError(w, statusFor(err))
		return
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		plainError(w, statusFor(err))
		return
	}
	if info.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			// /staff -> /staff/, so relative URLs and the OIDC redirect URI
			// (origin + "/staff/") resolve the same way everywhere.
			redirectToFolder(w, name)
			return
		}
		name = path.Join(name, "index.html")
		f.Close()
		if f, err = root.Open(name); err != nil {
			plainError(w, statusFor(err)) // no index: 404, never a listing
			return
		}
		defer f.Close()
		if info, err = f.Stat(); err != nil || info.IsDir() {
			plainError(w, http.StatusNotFound)
			return
		}
	}
	// Pages are not fingerprinted, so let browsers revalidate every time.
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, info.Name(), info.ModTime(), f)
}

// redirectToFolder answers 301 to the folder's own URL with a trailing
// slash. The Location is built from name, the cleaned site-relative path
// (never from the request's path, which a browser may read as another host:
// "//evil", "/\evil", "/<tab>/evil"), and escaped. So it always starts with one
// "/" followed by a path character: a same-origin path in every browser.
// The query is dropped; no folder URL takes one.
func redirectToFolder(w http.ResponseWriter, name string) {
	loc := (&url.URL{Path: "/" + name + "/"}).EscapedPath()
	if !sameOriginPath(loc) { // cannot happen for a name cleanPath accepted
		plainError(w, http.StatusNotFound)
		return
	}
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusMovedPermanently)
}

// sameOriginPath reports whether loc is a path-absolute reference that no
// browser resolves to another origin: one leading "/", then neither "/" nor
// "\\", and no character a URL parser strips or treats as a separator.
func sameOriginPath(loc string) bool {
	if len(loc) < 2 || loc[0] != '/' || loc[1] == '/' || loc[1] == '\\' {
		return false
	}
	for _, c := range []byte(loc) {
		if c <= ' ' || c == 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// cleanPath turns a URL path into a name relative to the site root. It
// refuses dot-segments and dot-files (build folders, editor files) instead of
// resolving them, so nothing outside the published pages can be named, and
// backslashes and control characters, which no page name holds and which
// browsers read as separators or strip.
func cleanPath(p string) (string, bool) {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\") || strings.ContainsFunc(p, isControl) {
		return "", false
	}
	trimmed := strings.Trim(p, "/")
	if trimmed == "" {
		return ".", true
	}
	for seg := range strings.SplitSeq(trimmed, "/") {
		if seg == "" || strings.HasPrefix(seg, ".") {
			return "", false
		}
	}
	return trimmed, true
}

// statusFor maps a failure to open or stat a file to a status. Missing,
// unreadable and escaping names (os.Root refuses those with an error of its
// own) all get the same 404, so a probe learns nothing.
func statusFor(err error) int {
	var pe *fs.PathError
	if errors.Is(err, fs.ErrNotExist) || errors.As(err, &pe) {
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

func plainError(w http.ResponseWriter, code int) {
	w.Header().Del("Cache-Control")
	http.Error(w, http.StatusText(code), code)
}
