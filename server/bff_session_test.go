package server_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The cookies that name no session: /bff/session and /bff/api/* answer
// 401 JSON (never a redirect, never a 500); /bff/logout still hands the
// browser the OP's logout URL (see wantLogoutWithoutSession).
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
				if ep.path == "/bff/logout" {
					wantLogoutWithoutSession(t, h, r)
					return
				}
				wantBFFError(t, r, http.StatusUnauthorized, "unauthorized")
			})
		}
	}
	// None of that ended the real session.
	if r := b.get("/bff/session", nil); r.Status != http.StatusOK {
		t.Errorf("real session after the bad cookies: status %d", r.Status)
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
	if r.Status != http.StatusOK || !strings.HasPrefix(r.str("end_session_url"), h.URL+"/oauth2/logout?") {
		t.Fatalf("logout: status %d, want 200 with the OP's end_session_url (body %s)", r.Status, r.Raw)
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
			if tc.path == "/bff/logout" {
				wantLogoutWithoutSession(t, h, r)
				return
			}
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

// How a session ends besides logout: a family revoked elsewhere (at the
// next request, logout included), or the session's lifetime.
func TestBFFSessionEnds(t *testing.T) {
	type step struct {
		method, path string
		status       int
	}
	gone := []step{
		{http.MethodGet, "/bff/session", http.StatusUnauthorized},
		{http.MethodGet, "/bff/api/hello", http.StatusUnauthorized},
		{http.MethodPost, "/bff/logout", http.StatusOK},
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
		}, steps: append([]step{{http.MethodPost, "/bff/logout", http.StatusOK}}, gone...)},
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

// wantLogoutWithoutSession: /bff/logout with no live BFF session clears
// the cookie and answers the OP's logout URL without a hint, so that the
// browser can still end its sign-in session there (the OP asks first).
func wantLogoutWithoutSession(t *testing.T, h *bffHarness, r bffResp) {
	t.Helper()
	end := r.str("end_session_url")
	if r.Status != http.StatusOK || !strings.HasPrefix(end, h.URL+"/oauth2/logout?") || strings.Contains(end, "id_token_hint") {
		t.Fatalf("logout without a session: status %d, body %s; want 200 with the OP's logout URL and no hint", r.Status, r.Raw)
	}
	if ck := r.cookie(bffSessionName); ck == nil || ck.MaxAge >= 0 {
		t.Errorf("logout without a session does not clear the cookie")
	}
	page := h.send(bffReq{url: end})
	if page.Status != http.StatusOK || !strings.Contains(string(page.Raw), "csrf_token") {
		t.Errorf("the OP's logout URL: status %d, want the confirmation page (body %.300s)", page.Status, page.Raw)
	}
}
