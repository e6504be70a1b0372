package server_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
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
	if len(login)%4 != 0 { // the last character has bits a lenient decoder ignores
		before = append(before, callbackCase{name: "login cookie in another spelling", url: cb.String(), header: loginCookie(flipLow(login))})
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
