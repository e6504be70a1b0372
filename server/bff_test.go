package server_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var base64url43 = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func randomB64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// /bff/login starts the authorization code flow with state and an S256
// PKCE challenge, remembered in a Lax, HttpOnly, Secure login cookie.
func TestBFFLoginStartsCodeFlowWithPKCE(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	r := h.send(bffReq{url: "/bff/login?return_to=%2Fapp%2F"})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("status = %d, want 303 (body %s)", r.Status, r.Raw)
	}
	loc := r.location(t)
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != h.URL+"/oauth2/authorize" {
		t.Errorf("redirects to %s, want the authorization endpoint", got)
	}
	q := loc.Query()
	for k, want := range map[string]string{
		"response_type":         "code",
		"client_id":             bffClientID,
		"redirect_uri":          h.URL + "/bff/callback",
		"code_challenge_method": "S256",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if len(q.Get("state")) < 16 {
		t.Errorf("state = %q, want a random value", q.Get("state"))
	}
	if ch := q.Get("code_challenge"); !base64url43.MatchString(ch) {
		t.Errorf("code_challenge = %q, want 43 base64url characters (S256)", ch)
	}
	for _, s := range strings.Fields(q.Get("scope")) {
		if s != "openid" && s != "email" && s != "offline_access" {
			t.Errorf("unexpected scope %q", s)
		}
	}
	ck := r.cookie(bffLoginName)
	if ck == nil || ck.Value == "" {
		t.Fatalf("no login cookie; Set-Cookie: %q", r.Header.Values("Set-Cookie"))
	}
	if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
		t.Errorf("login cookie: HttpOnly=%v Secure=%v SameSite=%v Path=%q, want HttpOnly, Secure, Lax, /",
			ck.HttpOnly, ck.Secure, ck.SameSite, ck.Path)
	}
	if strings.Contains(ck.Value, q.Get("state")) {
		t.Errorf("login cookie holds the state in clear")
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}

	// A second login gets its own state and challenge.
	q2 := h.send(bffReq{url: "/bff/login"}).location(t).Query()
	if q2.Get("state") == q.Get("state") || q2.Get("code_challenge") == q.Get("code_challenge") {
		t.Errorf("two logins share state or code_challenge")
	}
}

// return_to must be a path on this site: anything a browser could read as
// another origin, or that would split the Location header, is refused.
func TestBFFLoginReturnTo(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	for _, tc := range []struct {
		name, returnTo string
		ok             bool
	}{
		{name: "absolute URL", returnTo: "https://evil.example/"},
		{name: "scheme-relative", returnTo: "//evil.example"},
		{name: "triple slash", returnTo: "///evil.example"},
		{name: "backslash", returnTo: `/\evil.example`},
		{name: "scheme without slashes", returnTo: "http:evil"},
		{name: "javascript URL", returnTo: "javascript:alert(1)"},
		{name: "CRLF", returnTo: "/app/\r\nSet-Cookie: x=y"},
		{name: "LF", returnTo: "/app/\nx"},
		{name: "tab between slashes", returnTo: "/\t/evil.example"},
		{name: "no leading slash", returnTo: "evil.example"},
		{name: "too long", returnTo: "/" + strings.Repeat("a", 3000)},
		{name: "path with query", returnTo: "/app/x?y=1", ok: true},
		{name: "root", returnTo: "/", ok: true},
		{name: "default", returnTo: "", ok: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.send(bffReq{url: "/bff/login?" + url.Values{"return_to": {tc.returnTo}}.Encode()})
			if tc.ok {
				if r.Status != http.StatusSeeOther || r.cookie(bffLoginName) == nil {
					t.Fatalf("status = %d, login cookie %v; want 303 with a login cookie (body %s)", r.Status, r.cookie(bffLoginName) != nil, r.Raw)
				}
				return
			}
			wantBFFError(t, r, http.StatusBadRequest, "invalid_request")
			if ck := r.cookie(bffLoginName); ck != nil {
				t.Errorf("a refused login set the login cookie")
			}
		})
	}
}

// The callback ends at return_to without code or state, with an opaque,
// HttpOnly, Secure, Strict session cookie; every /bff/ cookie states
// SameSite.
func TestBFFCallbackSetsOpaqueSession(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	b := h.newBrowser()
	r := b.signIn("/app/x?y=1")
	loc := r.location(t)
	if loc.String() != "/app/x?y=1" {
		t.Errorf("final redirect = %q, want /app/x?y=1", loc)
	}
	if q := loc.Query(); q.Has("code") || q.Has("state") || q.Has("iss") {
		t.Errorf("final redirect carries %v", q)
	}
	ck := r.cookie(bffSessionName)
	if ck == nil {
		t.Fatalf("no session cookie")
	}
	if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" {
		t.Errorf("session cookie: HttpOnly=%v Secure=%v SameSite=%v Path=%q, want HttpOnly, Secure, Strict, /",
			ck.HttpOnly, ck.Secure, ck.SameSite, ck.Path)
	}
	if lc := r.cookie(bffLoginName); lc == nil || lc.MaxAge >= 0 {
		t.Errorf("callback did not clear the login cookie")
	}

	stored := h.storedSession(h.users[aliceEmail].ID)
	v := ck.Value
	if strings.Contains(v, ".") || !base64url43.MatchString(v) {
		t.Errorf("session cookie %q is not an opaque random value", v)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(v); err == nil && json.Valid(raw) {
		t.Errorf("session cookie decodes to JSON")
	}
	for name, tok := range map[string]string{"access": stored.Access, "refresh": stored.Refresh, "id": stored.ID} {
		if hasSubstringOf(v, tok, 20) {
			t.Errorf("session cookie contains part of the %s token", name)
		}
	}

	if len(b.bffSetCookies) < 3 {
		t.Errorf("saw %d Set-Cookie lines under /bff/, want login, cleared login and session", len(b.bffSetCookies))
	}
	for _, line := range b.bffSetCookies {
		if !regexp.MustCompile(`(?i);\s*SameSite=(Lax|Strict)`).MatchString(line) {
			t.Errorf("Set-Cookie under /bff/ without an explicit SameSite: %q", line)
		}
	}
}

// A callback that does not match the sign-in in progress, or replays one
// that finished, is a 400, never a 500 and never a session.
func TestBFFCallbackRejects(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	b := h.newBrowser()
	cb := b.authorize(b.startLogin("/app/"), aliceEmail, alicePassword)
	login := b.jar[bffLoginName]
	if login == "" {
		t.Fatal("no login cookie in the jar")
	}
	other := h.newBrowser()
	other.startLogin("/app/")
	otherLogin := other.jar[bffLoginName]

	withQuery := func(mut func(q url.Values)) string {
		u := *cb
		q := u.Query()
		mut(q)
		u.RawQuery = q.Encode()
		return u.String()
	}
	loginCookie := func(v string) map[string]string {
		return map[string]string{"Cookie": bffLoginName + "=" + v}
	}
	none := map[string]string{"Cookie": ""}

	type callbackCase struct {
		name   string
		url    string
		header map[string]string
		code   string
	}
	before := []callbackCase{
		{name: "no login cookie", url: cb.String(), header: none},
		{name: "garbage login cookie", url: cb.String(), header: loginCookie("garbage")},
		{name: "non-base64 login cookie", url: cb.String(), header: loginCookie("%%%***")},
		{name: "5 KB login cookie", url: cb.String(), header: loginCookie(strings.Repeat("A", 5<<10))},
		{name: "forged login cookie", url: cb.String(), header: loginCookie(randomB64(120))},
		{name: "login cookie of another sign-in", url: cb.String(), header: loginCookie(otherLogin)},
		{name: "session cookie name for login", url: cb.String(), header: map[string]string{"Cookie": bffSessionName + "=" + login}},
		{name: "tampered state", url: withQuery(func(q url.Values) { q.Set("state", q.Get("state")+"x") }), header: loginCookie(login)},
		{name: "empty state", url: withQuery(func(q url.Values) { q.Set("state", "") }), header: loginCookie(login)},
		{name: "no state", url: withQuery(func(q url.Values) { q.Del("state") }), header: loginCookie(login)},
		{name: "wrong iss", url: withQuery(func(q url.Values) { q.Set("iss", bffEvilOrigin) }), header: loginCookie(login)},
		{name: "iss with trailing slash", url: withQuery(func(q url.Values) { q.Set("iss", h.URL+"/") }), header: loginCookie(login)},
		{name: "no iss", url: withQuery(func(q url.Values) { q.Del("iss") }), header: loginCookie(login)},
	}
	for _, tc := range before {
		t.Run(tc.name, func(t *testing.T) {
			r := h.send(bffReq{url: tc.url, header: tc.header})
			wantBFFError(t, r, http.StatusBadRequest, "invalid_request")
			if r.cookie(bffSessionName) != nil && r.cookie(bffSessionName).MaxAge >= 0 {
				t.Errorf("a refused callback set a session cookie")
			}
		})
	}
	if n := h.queryInt(h.openDB(), `SELECT COUNT(*) FROM bff_sessions`); n != 0 {
		t.Fatalf("%d BFF sessions after refused callbacks, want 0", n)
	}

	// None of the refused callbacks spent the code: the real one works.
	r := h.send(bffReq{url: cb.String(), header: loginCookie(login)})
	if r.Status != http.StatusSeeOther || r.cookie(bffSessionName) == nil {
		t.Fatalf("genuine callback: status %d, body %s", r.Status, r.Raw)
	}

	for _, tc := range []callbackCase{
		{name: "replay with the login cookie", url: cb.String(), header: loginCookie(login), code: "invalid_grant"},
		{name: "replay without the login cookie", url: cb.String(), header: none, code: "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.send(bffReq{url: tc.url, header: tc.header})
			wantBFFError(t, r, http.StatusBadRequest, tc.code)
			if ck := r.cookie(bffSessionName); ck != nil && ck.MaxAge >= 0 {
				t.Errorf("a replayed callback set a session cookie")
			}
		})
	}
	if n := h.queryInt(h.openDB(), `SELECT COUNT(*) FROM bff_sessions`); n != 1 {
		t.Errorf("%d BFF sessions after the replays, want the 1 genuine one", n)
	}
}

// The cookies that name no session: /bff/session, /bff/api/* and
// /bff/logout answer 401 JSON (never a redirect, never a 500).
func TestBFFNoSession(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	b := h.newBrowser()
	b.signIn("/app/")
	real := b.session()

	// Signed in: who, and until when.
	r := b.get("/bff/session", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET /bff/session: status %d, body %s", r.Status, r.Raw)
	}
	if r.str("email") != aliceEmail || r.str("sub") != h.users[aliceEmail].ID {
		t.Errorf("session = %s, want alice's email and sub", r.Raw)
	}
	exp, err := time.Parse(time.RFC3339, r.str("expires_at"))
	if err != nil || !exp.After(time.Now()) {
		t.Errorf("expires_at = %q, want a future RFC 3339 time", r.str("expires_at"))
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}

	cookies := []struct{ name, header string }{
		{"no cookie", ""},
		{"empty value", bffSessionName + "="},
		{"garbage", bffSessionName + "=garbage"},
		{"non-base64", bffSessionName + "=%%%***"},
		{"5 KB", bffSessionName + "=" + strings.Repeat("A", 5<<10)},
		{"forged session id", bffSessionName + "=" + randomB64(32)},
		{"real id with a byte more", bffSessionName + "=" + real + "A"},
		{"real id truncated", bffSessionName + "=" + real[:42]},
		{"JWT-looking", bffSessionName + "=eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0."},
		{"login cookie name", bffLoginName + "=" + real},
	}
	endpoints := []struct {
		name, method, path string
	}{
		{"session", http.MethodGet, "/bff/session"},
		{"api GET", http.MethodGet, "/bff/api/hello"},
		{"api POST", http.MethodPost, "/bff/api/hello"},
		{"logout", http.MethodPost, "/bff/logout"},
	}
	for _, ep := range endpoints {
		for _, ck := range cookies {
			t.Run(ep.name+"/"+ck.name, func(t *testing.T) {
				r := h.send(bffReq{method: ep.method, url: ep.path,
					header: map[string]string{"Cookie": ck.header, "X-CSRF": "1"}})
				wantBFFError(t, r, http.StatusUnauthorized, "unauthorized")
			})
		}
	}
	// None of that ended the real session.
	if r := b.get("/bff/session", nil); r.Status != http.StatusOK {
		t.Errorf("real session after the bad cookies: status %d", r.Status)
	}
}

// /bff/api/* and /bff/logout need X-CSRF: 1 and, when the browser names
// one, a same-origin Origin (or Referer).
func TestBFFCSRF(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	b := h.newBrowser()
	b.signIn("/app/")
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		status             int
	}{
		{name: "api GET without X-CSRF", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{}, status: http.StatusForbidden},
		{name: "api POST without X-CSRF", method: http.MethodPost, path: "/bff/api/hello",
			header: map[string]string{}, status: http.StatusForbidden},
		{name: "api X-CSRF 0", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "0"}, status: http.StatusForbidden},
		{name: "logout without X-CSRF", method: http.MethodPost, path: "/bff/logout",
			header: map[string]string{"Origin": h.URL}, status: http.StatusForbidden},
		{name: "api foreign Origin", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1", "Origin": bffEvilOrigin}, status: http.StatusForbidden},
		{name: "api Origin null", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1", "Origin": "null"}, status: http.StatusForbidden},
		{name: "api Origin same host other scheme", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1", "Origin": "https" + strings.TrimPrefix(h.URL, "http")}, status: http.StatusForbidden},
		{name: "api foreign Referer without Origin", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1", "Referer": bffEvilOrigin + "/page"}, status: http.StatusForbidden},
		{name: "api foreign Origin with same-origin Referer", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1", "Origin": bffEvilOrigin, "Referer": h.URL + "/app/"}, status: http.StatusForbidden},
		{name: "logout foreign Origin", method: http.MethodPost, path: "/bff/logout",
			header: map[string]string{"X-CSRF": "1", "Origin": bffEvilOrigin}, status: http.StatusForbidden},
		{name: "logout foreign Referer", method: http.MethodPost, path: "/bff/logout",
			header: map[string]string{"X-CSRF": "1", "Referer": bffEvilOrigin + "/"}, status: http.StatusForbidden},
		{name: "api same Origin", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1", "Origin": h.URL}, status: http.StatusOK},
		{name: "api same-origin Referer", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1", "Referer": h.URL + "/app/"}, status: http.StatusOK},
		{name: "api neither Origin nor Referer", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1"}, status: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := b.send(bffReq{method: tc.method, url: tc.path, header: tc.header})
			if tc.status == http.StatusOK {
				if r.Status != http.StatusOK || r.str("sub") != h.users[aliceEmail].ID {
					t.Errorf("status = %d, body %s; want 200 from the demo API", r.Status, r.Raw)
				}
				return
			}
			wantBFFError(t, r, tc.status, "csrf")
		})
	}
	// The refused logouts did not sign out.
	if r := b.get("/bff/session", nil); r.Status != http.StatusOK {
		t.Errorf("session after refused logouts: status %d", r.Status)
	}
}

// Rotor grants no CORS: nothing under /bff/ nor the token endpoint answers
// with Access-Control-Allow-Origin, whatever the Origin.
func TestBFFNoCORS(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	b := h.newBrowser()
	b.signIn("/app/")
	tokenForm := url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}}.Encode()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(webClient.ID+":"+webClient.Secret))
	preflight := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-csrf, content-type"}
	for _, origin := range []string{bffEvilOrigin, h.URL} {
		for _, tc := range []struct {
			name, method, path, body string
			header                   map[string]string
		}{
			{name: "login", method: http.MethodGet, path: "/bff/login"},
			{name: "callback", method: http.MethodGet, path: "/bff/callback?code=x&state=y"},
			{name: "session", method: http.MethodGet, path: "/bff/session"},
			{name: "api", method: http.MethodGet, path: "/bff/api/hello", header: map[string]string{"X-CSRF": "1"}},
			{name: "api preflight", method: http.MethodOptions, path: "/bff/api/hello", header: preflight},
			{name: "logout preflight", method: http.MethodOptions, path: "/bff/logout", header: preflight},
			{name: "token", method: http.MethodPost, path: "/oauth2/token", body: tokenForm,
				header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": basic}},
			{name: "token preflight", method: http.MethodOptions, path: "/oauth2/token", header: preflight},
		} {
			t.Run(origin+"/"+tc.name, func(t *testing.T) {
				hdr := map[string]string{"Origin": origin}
				for k, v := range tc.header {
					hdr[k] = v
				}
				r := b.send(bffReq{method: tc.method, url: tc.path, body: tc.body, header: hdr})
				if r.Status >= 500 {
					t.Errorf("status %d", r.Status)
				}
				for k := range r.Header {
					if strings.HasPrefix(strings.ToLower(k), "access-control-") {
						t.Errorf("CORS header %s: %q", k, r.Header.Get(k))
					}
				}
			})
		}
	}
}

// /bff/api/hello reaches the demo API with the user's token.
func TestBFFProxyToDemoAPI(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	b := h.newBrowser()
	b.signIn("/app/")
	r := b.api(http.MethodGet, "hello")
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, body %s", r.Status, r.Raw)
	}
	if r.str("sub") != h.users[aliceEmail].ID || r.str("client_id") != bffClientID || r.str("message") == "" {
		t.Errorf("demo API answered %s, want alice's sub and client_id %s", r.Raw, bffClientID)
	}
	stored := h.storedSession(h.users[aliceEmail].ID)
	if hasSubstringOf(string(r.Raw), stored.Access, 20) {
		t.Errorf("the API answer contains the access token")
	}
	// Any other path is the API's own answer: it routes only /hello.
	if r := b.api(http.MethodGet, "nope"); r.Status != http.StatusNotFound {
		t.Errorf("/bff/api/nope: status %d, want the API's 404 (body %s)", r.Status, r.Raw)
	}
	// The proxy can't be walked out of /demo-api to the server's other
	// routes.
	r = b.send(bffReq{url: "/bff/api/%2e%2e/metrics", header: map[string]string{"X-CSRF": "1"}})
	wantBFFError(t, r, http.StatusBadRequest, "invalid_request")
}

// upstreamRecord is what a separate upstream API received.
type upstreamRecord struct {
	Method, Path, RawQuery, RequestURI string
	Header                             http.Header
	Body                               []byte
}

// A separate upstream gets a real HTTP request: method, path, query and
// body forwarded, the session's access token as Bearer, and none of the
// browser's Cookie, X-CSRF or Authorization.
func TestBFFProxyToSeparateUpstream(t *testing.T) {
	var mu sync.Mutex
	var got []upstreamRecord
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, upstreamRecord{r.Method, r.URL.Path, r.URL.RawQuery, r.RequestURI, r.Header.Clone(), body})
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "upstream", Value: "1", Path: "/"})
		w.Header().Set("X-Upstream", "yes")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(up.Close)
	h := newBFFHarness(t, bffConfig{upstream: up.URL + "/base"})
	b := h.newBrowser()
	b.signIn("/app/")
	stored := h.storedSession(h.users[aliceEmail].ID)

	for _, tc := range []struct {
		name, method, path, query, body, contentType string
	}{
		{name: "POST with body", method: http.MethodPost, path: "echo", query: "q=1", body: `{"hello":"world"}`, contentType: "application/json"},
		{name: "GET nested path", method: http.MethodGet, path: "a/b", query: "x=1&x=2"},
		{name: "DELETE", method: http.MethodDelete, path: "items/7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			hdr := map[string]string{
				"X-CSRF":        "1",
				"Origin":        h.URL,
				"Authorization": "Bearer browser-sent-token",
				"Accept":        "application/json",
			}
			if tc.contentType != "" {
				hdr["Content-Type"] = tc.contentType
			}
			u := "/bff/api/" + tc.path
			if tc.query != "" {
				u += "?" + tc.query
			}
			r := b.send(bffReq{method: tc.method, url: u, body: tc.body, header: hdr})
			if r.Status != http.StatusCreated || r.Header.Get("X-Upstream") != "yes" {
				t.Fatalf("status %d, X-Upstream %q; want the upstream's 201 (body %s)", r.Status, r.Header.Get("X-Upstream"), r.Raw)
			}
			if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("the upstream's Set-Cookie reached the browser: %q", sc)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("upstream got %d requests, want 1", len(got))
			}
			rec := got[0]
			if rec.Method != tc.method || rec.Path != "/base/"+tc.path || rec.RawQuery != tc.query || string(rec.Body) != tc.body {
				t.Errorf("upstream got %s %s?%s body %q; want %s /base/%s?%s body %q",
					rec.Method, rec.Path, rec.RawQuery, rec.Body, tc.method, tc.path, tc.query, tc.body)
			}
			if a := rec.Header.Values("Authorization"); len(a) != 1 || a[0] != "Bearer "+stored.Access {
				t.Errorf("upstream Authorization = %q, want the session's access token as Bearer", a)
			}
			for _, k := range []string{"Cookie", "X-Csrf", "Origin"} {
				if v := rec.Header.Values(k); len(v) != 0 {
					t.Errorf("upstream received %s: %q", k, v)
				}
			}
			if tc.contentType != "" && rec.Header.Get("Content-Type") != tc.contentType {
				t.Errorf("upstream Content-Type = %q, want %q", rec.Header.Get("Content-Type"), tc.contentType)
			}
			if rec.Header.Get("Accept") != "application/json" {
				t.Errorf("upstream Accept = %q, want it forwarded", rec.Header.Get("Accept"))
			}
		})
	}

	// The upstream sees the path as the browser sent it, under its base
	// path; dot segments that would climb out of the base are refused.
	for _, tc := range []struct {
		name, path string
		upstream   string // the upstream's request URI; "" when refused
	}{
		{name: "dot-dot", path: "/bff/api/../../secret"},
		{name: "escaped dot-dot", path: "/bff/api/%2e%2e/secret"},
		{name: "upper-case escaped dot-dot", path: "/bff/api/a/%2E%2E/%2E%2E/secret"},
		{name: "dot", path: "/bff/api/./x"},
		{name: "double-escaped dot-dot stays escaped", path: "/bff/api/%252e%252e/secret", upstream: "/base/%252e%252e/secret"},
		{name: "escaped percent stays escaped", path: "/bff/api/a%2525b", upstream: "/base/a%2525b"},
		{name: "escaped slash stays escaped", path: "/bff/api/a%2Fb", upstream: "/base/a%2Fb"},
	} {
		t.Run("path/"+tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			r := b.send(bffReq{url: tc.path, header: map[string]string{"X-CSRF": "1"}})
			mu.Lock()
			defer mu.Unlock()
			if tc.upstream == "" {
				wantBFFError(t, r, http.StatusBadRequest, "invalid_request")
				if len(got) != 0 {
					t.Errorf("upstream got %s", got[0].RequestURI)
				}
				return
			}
			if r.Status != http.StatusCreated || len(got) != 1 {
				t.Fatalf("status %d, %d upstream requests; want the upstream's 201", r.Status, len(got))
			}
			if got[0].RequestURI != tc.upstream {
				t.Errorf("upstream request URI = %q, want %q", got[0].RequestURI, tc.upstream)
			}
		})
	}
}

// The demo API accepts a valid Rotor access token for its audience and
// nothing else, and never echoes what it was sent.
func TestDemoAPI(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	b := h.newBrowser()
	b.signIn("/app/")
	access := h.storedSession(h.users[aliceEmail].ID).Access
	otherAudience := h.login(webClient, aliceEmail, alicePassword, "").Access
	tampered := access[:len(access)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(access, "AA")]

	for _, tc := range []struct {
		name, auth string
		status     int
	}{
		{name: "valid token", auth: "Bearer " + access, status: http.StatusOK},
		{name: "lower-case scheme", auth: "bearer " + access, status: http.StatusOK},
		{name: "no Authorization", auth: "", status: http.StatusUnauthorized},
		{name: "garbage token", auth: "Bearer not-a-token", status: http.StatusUnauthorized},
		{name: "Basic scheme", auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("a:"+access)), status: http.StatusUnauthorized},
		{name: "token for another audience", auth: "Bearer " + otherAudience, status: http.StatusUnauthorized},
		{name: "tampered signature", auth: "Bearer " + tampered, status: http.StatusUnauthorized},
		{name: "token with trailing junk", auth: "Bearer " + access + " junk", status: http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			r := h.send(bffReq{url: "/demo-api/hello", header: hdr})
			if tc.status == http.StatusOK {
				if r.Status != http.StatusOK || r.str("sub") != h.users[aliceEmail].ID {
					t.Errorf("status %d, body %s; want 200 with alice's sub", r.Status, r.Raw)
				}
			} else {
				wantOAuthError(t, r.response, tc.status, "invalid_token")
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", r.Header.Get("WWW-Authenticate"))
				}
			}
			var all strings.Builder
			all.Write(r.Raw)
			for k, vs := range r.Header {
				all.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
			}
			for _, secret := range []string{access, otherAudience, "not-a-token"} {
				if hasSubstringOf(all.String(), secret, 20) || (len(secret) < 20 && strings.Contains(all.String(), secret)) {
					t.Errorf("the answer echoes the token it was sent")
				}
			}
		})
	}
}

// With a short access token, a burst of API calls on one session spends
// the refresh token once; the family lives on.
func TestBFFSingleFlightRefresh(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	h := newBFFHarness(t, bffConfig{accessTTL: ttl})
	b := h.newBrowser()
	b.signIn("/app/")
	if r := b.api(http.MethodGet, "hello"); r.Status != http.StatusOK {
		t.Fatalf("first call: status %d, body %s", r.Status, r.Raw)
	}
	time.Sleep(ttl + 500*time.Millisecond) // the access token has expired

	bffBefore, refreshBefore := h.metric("rotor_bff_refresh_total"), h.metric("rotor_token_refresh_total")
	const n = 20
	statuses := make([]int, n)
	bodies := make([][]byte, n)
	cookie := b.session()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest(http.MethodGet, h.URL+"/bff/api/hello", nil)
			req.Header.Set("Cookie", bffSessionName+"="+cookie)
			req.Header.Set("X-CSRF", "1")
			res, err := h.noRedirect.Do(req)
			if err != nil {
				return
			}
			defer res.Body.Close()
			statuses[i] = res.StatusCode
			bodies[i], _ = io.ReadAll(res.Body)
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if statuses[i] != http.StatusOK || !strings.Contains(string(bodies[i]), h.users[aliceEmail].ID) {
			t.Errorf("call %d: status %d, body %s", i, statuses[i], bodies[i])
		}
	}
	if d := h.metric("rotor_bff_refresh_total") - bffBefore; d != 1 {
		t.Errorf("BFF refreshes during the burst = %v, want 1", d)
	}
	if d := h.metric("rotor_token_refresh_total") - refreshBefore; d != 1 {
		t.Errorf("refresh grants during the burst = %v, want 1", d)
	}
	if v := h.metric("rotor_refresh_reuse_detected_total"); v != 0 {
		t.Errorf("reuse detected %v times, want 0", v)
	}

	// The family is alive: once the new token expires too, the next call
	// refreshes again with the rotated refresh token.
	time.Sleep(ttl + 500*time.Millisecond)
	if r := b.api(http.MethodGet, "hello"); r.Status != http.StatusOK {
		t.Fatalf("call after the second expiry: status %d, body %s", r.Status, r.Raw)
	}
	if d := h.metric("rotor_bff_refresh_total") - bffBefore; d != 2 {
		t.Errorf("BFF refreshes after the second expiry = %v, want 2", d)
	}
	if v := h.metric("rotor_refresh_reuse_detected_total"); v != 0 {
		t.Errorf("reuse detected %v times, want 0", v)
	}
	db := h.openDB()
	if n := h.queryInt(db, `SELECT COUNT(*) FROM token_families WHERE subject = ? AND revoked_at IS NULL`, h.users[aliceEmail].ID); n != 1 {
		t.Errorf("%d live families for alice, want 1", n)
	}
}

// A family revoked elsewhere ends the BFF session once the access token
// needs a refresh: 401 from /bff/api/*, then from /bff/session.
func TestBFFFamilyRevokedElsewhere(t *testing.T) {
	for _, tc := range []struct {
		name   string
		revoke func(h *bffHarness, subject string)
	}{
		{name: "sign out everywhere", revoke: func(h *bffHarness, subject string) {
			if n, err := h.store.RevokeSubjectFamilies(context.Background(), subject, "test"); err != nil || n != 1 {
				h.t.Fatalf("RevokeSubjectFamilies = %d, %v; want 1 family", n, err)
			}
		}},
		{name: "revoke the family", revoke: func(h *bffHarness, subject string) {
			var id string
			if err := h.openDB().QueryRow(`SELECT id FROM token_families WHERE subject = ?`, subject).Scan(&id); err != nil {
				h.t.Fatal(err)
			}
			if ok, err := h.store.RevokeFamily(context.Background(), id, "test"); err != nil || !ok {
				h.t.Fatalf("RevokeFamily = %v, %v", ok, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newBFFHarness(t, bffConfig{})
			b := h.newBrowser()
			b.signIn("/app/")
			cookie := b.session()
			sub := h.users[aliceEmail].ID
			if r := b.api(http.MethodGet, "hello"); r.Status != http.StatusOK {
				t.Fatalf("before revocation: status %d, body %s", r.Status, r.Raw)
			}
			tc.revoke(h, sub)
			// The access token (10 minutes) is now due for a refresh.
			h.srvClock.Advance(10*time.Minute - 5*time.Second)

			r := h.send(bffReq{url: "/bff/api/hello", header: withSession(cookie, map[string]string{"X-CSRF": "1"})})
			wantBFFError(t, r, http.StatusUnauthorized, "unauthorized")
			if ck := r.cookie(bffSessionName); ck == nil || ck.MaxAge >= 0 || ck.SameSite != http.SameSiteStrictMode {
				t.Errorf("the 401 does not clear the session cookie (Strict): %q", r.Header.Values("Set-Cookie"))
			}
			r = h.send(bffReq{url: "/bff/session", header: withSession(cookie, nil)})
			wantBFFError(t, r, http.StatusUnauthorized, "unauthorized")
			if n := h.queryInt(h.openDB(), `SELECT COUNT(*) FROM bff_sessions`); n != 0 {
				t.Errorf("%d BFF sessions left, want 0", n)
			}
			if v := h.metric("rotor_bff_refresh_total"); v != 0 {
				t.Errorf("BFF refreshes = %v, want 0", v)
			}
		})
	}
}

// Logout revokes the family and forgets the session; the old cookie is
// worth nothing afterwards.
func TestBFFLogout(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	b := h.newBrowser()
	b.signIn("/app/")
	cookie := b.session()
	sub := h.users[aliceEmail].ID
	stored := h.storedSession(sub)
	if !h.active(stored.Refresh) || !h.active(stored.Access) {
		t.Fatalf("the session's tokens are not active before logout")
	}

	r := b.send(bffReq{method: http.MethodPost, url: "/bff/logout", header: map[string]string{"X-CSRF": "1", "Origin": h.URL}})
	if r.Status != http.StatusNoContent {
		t.Fatalf("logout: status %d, want 204 (body %s)", r.Status, r.Raw)
	}
	if ck := r.cookie(bffSessionName); ck == nil || ck.MaxAge >= 0 || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode {
		t.Errorf("logout does not clear the session cookie: %q", r.Header.Values("Set-Cookie"))
	}

	for _, tc := range []struct{ name, method, path string }{
		{"session", http.MethodGet, "/bff/session"},
		{"api", http.MethodGet, "/bff/api/hello"},
		{"logout again", http.MethodPost, "/bff/logout"},
	} {
		t.Run("old cookie/"+tc.name, func(t *testing.T) {
			r := h.send(bffReq{method: tc.method, url: tc.path, header: withSession(cookie, map[string]string{"X-CSRF": "1"})})
			wantBFFError(t, r, http.StatusUnauthorized, "unauthorized")
		})
	}
	if h.active(stored.Refresh) {
		t.Errorf("the refresh token is still active after logout")
	}
	if h.active(stored.Access) {
		t.Errorf("the access token is still active after logout")
	}
	db := h.openDB()
	if n := h.queryInt(db, `SELECT COUNT(*) FROM refresh_tokens WHERE subject = ? AND active = 1`, sub); n != 0 {
		t.Errorf("%d active refresh tokens for alice after logout, want 0", n)
	}
	if n := h.queryInt(db, `SELECT COUNT(*) FROM bff_sessions`); n != 0 {
		t.Errorf("%d BFF sessions after logout, want 0", n)
	}
}

// The stored row holds neither the cookie nor any token in clear, and its
// sealed tokens are bound to the session.
func TestBFFStoredSession(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	b := h.newBrowser()
	b.signIn("/app/")
	cookie := b.session()
	stored := h.storedSession(h.users[aliceEmail].ID)
	if stored.Email != aliceEmail {
		t.Errorf("stored email = %q", stored.Email)
	}
	if stored.IDHash == cookie || strings.Contains(stored.IDHash, cookie) || len(stored.IDHash) != 64 {
		t.Errorf("id_hash %q is not a hash of the cookie", stored.IDHash)
	}
	for name, tok := range map[string]string{"access": stored.Access, "refresh": stored.Refresh, "id": stored.ID} {
		if hasSubstringOf(string(stored.Sealed), tok, 20) {
			t.Errorf("sealed_tokens contains part of the %s token in clear", name)
		}
	}
	if _, err := bffOpen(stored.Sealed, []byte("another session")); err == nil {
		t.Errorf("sealed tokens open under another session's key")
	}
	// No other column of the database holds the tokens either.
	db := h.openDB()
	if n := h.queryInt(db, `SELECT COUNT(*) FROM bff_sessions WHERE instr(CAST(sealed_tokens AS TEXT), ?) > 0 OR instr(id_hash, ?) > 0`,
		stored.Refresh[:20], cookie); n != 0 {
		t.Errorf("bff_sessions holds the refresh token or the cookie in clear")
	}
}

// A sign-in left open longer than the login cookie's ten minutes can't be
// finished, even with the cookie still at hand.
func TestBFFCallbackLoginExpired(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	b := h.newBrowser()
	cb := b.authorize(b.startLogin("/app/"), aliceEmail, alicePassword)
	h.srvClock.Advance(11 * time.Minute)
	r := b.get(cb.String(), nil)
	wantBFFError(t, r, http.StatusBadRequest, "invalid_request")
	if ck := r.cookie(bffSessionName); ck != nil {
		t.Errorf("an expired sign-in set a session cookie")
	}
}

// How a session ends besides logout: a family revoked elsewhere (logout
// still answers 204), or the session's lifetime.
func TestBFFSessionEnds(t *testing.T) {
	type step struct {
		method, path string
		status       int
	}
	gone := []step{
		{http.MethodGet, "/bff/session", http.StatusUnauthorized},
		{http.MethodGet, "/bff/api/hello", http.StatusUnauthorized},
		{http.MethodPost, "/bff/logout", http.StatusUnauthorized},
	}
	for _, tc := range []struct {
		name  string
		end   func(h *bffHarness)
		steps []step
	}{
		{name: "family revoked, then logout", end: func(h *bffHarness) {
			if _, err := h.store.RevokeSubjectFamilies(context.Background(), h.users[aliceEmail].ID, "test"); err != nil {
				h.t.Fatal(err)
			}
		}, steps: append([]step{{http.MethodPost, "/bff/logout", http.StatusNoContent}}, gone...)},
		{name: "session lifetime over", end: func(h *bffHarness) {
			h.storeClock.Advance(25 * time.Hour)
		}, steps: gone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newBFFHarness(t, bffConfig{sessionTTL: 24 * time.Hour})
			b := h.newBrowser()
			b.signIn("/app/")
			cookie := b.session()
			tc.end(h)
			for _, st := range tc.steps {
				r := h.send(bffReq{method: st.method, url: st.path, header: withSession(cookie, map[string]string{"X-CSRF": "1"})})
				switch st.status {
				case http.StatusUnauthorized:
					wantBFFError(t, r, st.status, "unauthorized")
				default:
					if r.Status != st.status {
						t.Errorf("%s %s: status %d, want %d (body %s)", st.method, st.path, r.Status, st.status, r.Raw)
					}
				}
			}
		})
	}
}

// A refresh token left unused past the refresh idle TTL can't be
// refreshed: the API call that needs the refresh ends the session.
func TestBFFRefreshTokenIdleExpiry(t *testing.T) {
	t.Parallel()
	h := newBFFHarness(t, bffConfig{accessTTL: 2 * time.Second, refreshIdleTTL: 3 * time.Second})
	b := h.newBrowser()
	b.signIn("/app/")
	cookie := b.session()
	time.Sleep(3*time.Second + 500*time.Millisecond) // fosite checks refresh expiry with the real clock
	r := h.send(bffReq{url: "/bff/api/hello", header: withSession(cookie, map[string]string{"X-CSRF": "1"})})
	wantBFFError(t, r, http.StatusUnauthorized, "unauthorized")
	r = h.send(bffReq{url: "/bff/session", header: withSession(cookie, nil)})
	wantBFFError(t, r, http.StatusUnauthorized, "unauthorized")
	if v := h.metric("rotor_bff_refresh_total"); v != 0 {
		t.Errorf("BFF refreshes = %v, want 0", v)
	}
}
