package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

var testConfig = Config{
	APIBaseURL: "http://127.0.0.1:9002",
	Portal: OIDCClient{
		Issuer: "http://127.0.0.1:9003/portal", ClientID: "portal-web",
		AuthorizeURL: "http://127.0.0.1:9003/portal/oauth2/authorize", TokenURL: "http://127.0.0.1:9003/portal/oauth2/token",
		LogoutURL: "http://127.0.0.1:9003/portal/logout", Scope: "openid portal/messages",
	},
	Staff: OIDCClient{
		Issuer: "http://127.0.0.1:9003/staff", ClientID: "staff-web",
		AuthorizeURL: "http://127.0.0.1:9003/staff/oauth2/authorize", TokenURL: "http://127.0.0.1:9003/staff/oauth2/token",
		LogoutURL: "http://127.0.0.1:9003/staff/logout", Scope: "openid staff/messages",
	},
}

// siteFixture builds a small site folder, with a secret file next to it that
// no request may reach.
func siteFixture(t *testing.T) (dir, secret string) {
	t.Helper()
	parent := t.TempDir()
	dir = filepath.Join(parent, "site")
	files := map[string]string{
		"index.html":        "<!doctype html><title>home</title>",
		"staff/index.html":  "<!doctype html><title>staff</title>",
		"js/app.js":         "export const x = 1;",
		"css/app.css":       "body{}",
		"empty/.keep":       "",
		".esbuild/cache.js": "hidden",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	secret = filepath.Join(parent, "secret.txt")
	if err := os.WriteFile(secret, []byte("TOP-SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A symlink out of the site must not be followed.
	if err := os.Symlink(secret, filepath.Join(dir, "leak.txt")); err != nil {
		t.Fatal(err)
	}
	return dir, secret
}

func serve(t *testing.T, h http.Handler, method, target string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, "http://site.test/", nil)
	// Set the raw path by hand: httptest.NewRequest would clean "..".
	req.URL.Path = target
	req.URL.RawPath = ""
	req.RequestURI = target
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestSiteHandler(t *testing.T) {
	dir, _ := siteFixture(t)
	csp := CSP(Origins{Connect: testConfig.ConnectOrigins()})
	h := NewSiteHandler(dir, testConfig, csp)

	tests := []struct {
		name, method, path string
		wantStatus         int
		wantBody           string // substring; "" to skip
		wantType           string // prefix; "" to skip
	}{
		{"root index", "GET", "/", 200, "<title>home</title>", "text/html"},
		{"folder index", "GET", "/staff/", 200, "<title>staff</title>", "text/html"},
		{"folder without slash redirects", "GET", "/staff", 301, "", ""},
		{"script", "GET", "/js/app.js", 200, "export const x", "text/javascript"},
		{"stylesheet", "GET", "/css/app.css", 200, "body{}", "text/css"},
		{"head", "HEAD", "/js/app.js", 200, "", "text/javascript"},
		{"missing file", "GET", "/nope.html", 404, "Not Found", "text/plain"},
		{"no directory listing", "GET", "/js/", 404, "", ""},
		{"no listing of folder without index", "GET", "/empty/", 404, "", ""},
		{"dot folder hidden", "GET", "/.esbuild/cache.js", 404, "", ""},
		{"traversal", "GET", "/../secret.txt", 404, "", ""},
		{"nested traversal", "GET", "/js/../../secret.txt", 404, "", ""},
		{"dot segment", "GET", "/./index.html", 404, "", ""},
		{"backslash traversal", "GET", "/..\\secret.txt", 404, "", ""},
		{"symlink out of the site", "GET", "/leak.txt", 404, "", ""},
		{"post refused", "POST", "/index.html", 405, "", ""},
		{"config", "GET", "/config.json", 200, `"apiBaseUrl":"http://127.0.0.1:9002"`, "application/json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := serve(t, h, tc.method, tc.path)
			body, _ := io.ReadAll(res.Body)
			if got, want := res.StatusCode, tc.wantStatus; got != want {
				t.Fatalf("status = %d, want %d (body %q)", got, want, body)
			}
			if strings.Contains(string(body), "TOP-SECRET") || strings.Contains(string(body), "hidden") {
				t.Fatalf("leaked content: %q", body)
			}
			if tc.wantBody != "" && !strings.Contains(string(body), tc.wantBody) {
				t.Errorf("body = %q, want it to contain %q", body, tc.wantBody)
			}
			if tc.wantType != "" && !strings.HasPrefix(res.Header.Get("Content-Type"), tc.wantType) {
				t.Errorf("Content-Type = %q, want %q…", res.Header.Get("Content-Type"), tc.wantType)
			}
			// Every response, errors and redirects included, carries every
			// security header with the exact value.
			for k, want := range SecurityHeaders(csp) {
				if got := res.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if strings.Contains(string(body), "<pre>") || strings.Contains(string(body), `href="app.js"`) {
				t.Errorf("looks like a directory listing: %q", body)
			}
		})
	}
}

func TestSiteHandlerConfig(t *testing.T) {
	dir, _ := siteFixture(t)
	res := serve(t, NewSiteHandler(dir, testConfig, CSP(Origins{})), "GET", "/config.json")
	if got, want := res.Header.Get("Cache-Control"), "no-store"; got != want {
		t.Errorf("Cache-Control = %q, want %q", got, want)
	}
	// The exact keys the pages read: a renamed JSON tag would break them.
	var raw map[string]any
	if err := json.NewDecoder(res.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	keys := func(m map[string]any) []string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	if got, want := keys(raw), []string{"apiBaseUrl", "portal", "staff"}; !slices.Equal(got, want) {
		t.Errorf("top-level keys = %v, want %v", got, want)
	}
	wantClient := []string{"authorizeUrl", "clientId", "issuer", "logoutUrl", "revokeUrl", "scope", "tokenUrl"}
	for _, aud := range []string{"portal", "staff"} {
		m, _ := raw[aud].(map[string]any)
		if got := keys(m); !slices.Equal(got, wantClient) {
			t.Errorf("%s keys = %v, want %v", aud, got, wantClient)
		}
		if got, want := m["scope"], "openid "+aud+"/messages"; got != want {
			t.Errorf("%s scope = %v, want %v", aud, got, want)
		}
	}
}

func TestConnectOrigins(t *testing.T) {
	got := testConfig.ConnectOrigins()
	want := []string{"http://127.0.0.1:9002", "http://127.0.0.1:9003"}
	if !slices.Equal(got, want) {
		t.Errorf("ConnectOrigins = %v, want %v", got, want)
	}
	csp := CSP(Origins{Connect: got})
	if !strings.Contains(csp, "connect-src 'self' http://127.0.0.1:9002 http://127.0.0.1:9003;") {
		t.Errorf("CSP connect-src wrong: %s", csp)
	}
}

// TestCSPFileOrigins: the upload bucket may be posted to and the chart
// bucket may serve images, each for that alone.
func TestCSPFileOrigins(t *testing.T) {
	csp := CSP(Origins{Connect: []string{"https://api"}, Uploads: "https://up", Files: "https://files"})
	for _, want := range []string{
		"connect-src 'self' https://api https://up;",
		"img-src 'self' data: https://files;",
		"form-action 'self' https://api;",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP lacks %q: %s", want, csp)
		}
	}
	if strings.Count(csp, "https://up") != 1 || strings.Count(csp, "https://files") != 1 {
		t.Errorf("a bucket's origin is allowed for more than its use: %s", csp)
	}
}

// TestSitePages guards the real pages: every HTML page declares a language,
// loads only same-origin files and has no inline script or style (the CSP
// would block them), and no script writes markup from strings.
func TestSitePages(t *testing.T) {
	root := filepath.Join("site")
	var pages, scripts int
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`)
	markupSinks := regexp.MustCompile(`\.(innerHTML|outerHTML|insertAdjacentHTML)\b|document\.write|\beval\(|new Function\(|setTimeout\(\s*['"]`)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		s := string(data)
		switch filepath.Ext(p) {
		case ".html":
			pages++
			if !regexp.MustCompile(`<html lang="[a-z]{2}`).MatchString(s) {
				t.Errorf("%s: no lang attribute on <html>", p)
			}
			if !strings.Contains(s, `name="viewport"`) {
				t.Errorf("%s: no viewport meta", p)
			}
			if inlineScript.MatchString(s) || strings.Contains(s, "<style") || regexp.MustCompile(`\sstyle="|\son[a-z]+="`).MatchString(s) {
				t.Errorf("%s: inline script, style or event handler (blocked by the CSP)", p)
			}
			if regexp.MustCompile(`(src|href)="(https?:)?//`).MatchString(s) {
				t.Errorf("%s: loads something from another origin", p)
			}
		case ".js":
			scripts++
			if m := markupSinks.FindString(s); m != "" {
				t.Errorf("%s: uses %s; render text with textContent/createElement", p, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"index.html", "staff/index.html", "portal/index.html"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("missing page %s", p)
		}
	}
	if pages < 3 || scripts < 3 {
		t.Errorf("found %d pages and %d scripts; the walk is broken", pages, scripts)
	}
}

// browserResolve resolves a Location header against base the way a browser
// does for an https URL (WHATWG URL): tabs and newlines anywhere are
// dropped, leading and trailing control characters and spaces trimmed, and
// a backslash is a slash. Go's own url package does none of that, which is
// how "/\evil" and "/<tab>/evil" slip past a naive check.
func browserResolve(t *testing.T, base, loc string) *url.URL {
	t.Helper()
	loc = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, loc)
	loc = strings.TrimFunc(loc, func(r rune) bool { return r <= ' ' })
	loc = strings.ReplaceAll(loc, `\`, "/")
	b, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q does not parse: %v", loc, err)
	}
	return b.ResolveReference(ref)
}

// hostilePaths name an existing folder (staff) or another host in every
// way a browser might read a Location built from them as a
// scheme-relative URL.
var hostilePaths = []string{
	"//evil.example", "//evil.example/", "//staff", "///staff", "////staff",
	`/\evil.example`, `/\staff`, `\\evil`, `\\staff`, `/\/staff`,
	"/%2F%2Fevil.example", "/%2f%2fstaff", "/%5Cevil.example", "/%5cstaff", "/%2F/staff",
	"/\t/evil.example", "/\t/staff", "/\n/staff", "/\r\n/staff", "/%09/staff", "/%0A/staff",
	"/ /staff", "/staff\t", "//staff\t", "/%00/staff",
}

func TestSiteRedirectsNeverLeaveTheSite(t *testing.T) {
	dir, _ := siteFixture(t)
	h := NewSiteHandler(dir, testConfig, CSP(Origins{}))
	const base = "http://site.test/"
	for _, p := range hostilePaths {
		// GIVEN a hostile path, both as the decoded path a server sees and,
		// where it is a valid request target, as sent on the wire
		reqs := map[string]*http.Request{}
		decoded, err := url.PathUnescape(p)
		if err != nil {
			decoded = p
		}
		r := httptest.NewRequest("GET", base, nil)
		r.URL.Path, r.URL.RawPath, r.RequestURI = decoded, "", decoded
		reqs["decoded"] = r
		if u, err := url.ParseRequestURI(p); err == nil {
			r := httptest.NewRequest("GET", base, nil)
			r.URL, r.RequestURI = u, p
			reqs["raw"] = r
		}
		for how, req := range reqs {
			t.Run(how+" "+strings.ReplaceAll(p, "/", "∕"), func(t *testing.T) {
				// WHEN the server answers it
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				loc := rec.Header().Get("Location")
				if loc == "" {
					return // not a redirect at all: fine
				}
				// THEN any redirect stays on the site, as a plain path
				if got := browserResolve(t, base, loc); got.Host != "site.test" || got.Scheme != "http" {
					t.Fatalf("%q → %d Location %q, which a browser opens at %s", p, rec.Code, loc, got)
				}
				if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\\\t\r\n ") {
					t.Errorf("Location %q is not a plain path", loc)
				}
			})
		}
	}

	// AND a folder named with extra leading slashes is still found, at its
	// one canonical URL
	for _, p := range []string{"/staff", "//staff", "///staff"} {
		res := serve(t, h, "GET", p)
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/staff/" {
			t.Errorf("%s → %d %q, want 301 /staff/", p, res.StatusCode, res.Header.Get("Location"))
		}
	}
}
