package server_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestBFFFollowsFamilyAtOnce: a BFF session whose family was revoked or
// ended answers 401 at the very next request, before its access token is
// due for a refresh, on /bff/session and /bff/api/* alike.
func TestBFFFollowsFamilyAtOnce(t *testing.T) {
	familyID := func(h *bffHarness) string {
		var id string
		if err := h.openDB().QueryRow(`SELECT id FROM token_families WHERE subject = ? AND client_id = ?`, h.users[aliceEmail].ID, bffClientID).Scan(&id); err != nil {
			h.t.Fatal(err)
		}
		return id
	}
	for _, tc := range []struct {
		name  string
		first string // the first request after the revocation
		end   func(h *bffHarness, b *bffBrowser)
	}{
		{name: "family revoked, then session", first: "/bff/session", end: func(h *bffHarness, _ *bffBrowser) {
			if ok, err := h.store.RevokeFamily(context.Background(), familyID(h), "test"); err != nil || !ok {
				h.t.Fatalf("RevokeFamily = %v, %v", ok, err)
			}
		}},
		{name: "family revoked, then API", first: "/bff/api/hello", end: func(h *bffHarness, _ *bffBrowser) {
			if ok, err := h.store.RevokeFamily(context.Background(), familyID(h), "test"); err != nil || !ok {
				h.t.Fatalf("RevokeFamily = %v, %v", ok, err)
			}
		}},
		{name: "user's families revoked", first: "/bff/api/hello", end: func(h *bffHarness, _ *bffBrowser) {
			if _, err := h.store.RevokeSubjectFamilies(context.Background(), h.users[aliceEmail].ID, "test"); err != nil {
				h.t.Fatal(err)
			}
		}},
		{name: "signed out of the OP on its confirmation page", first: "/bff/session", end: func(h *bffHarness, b *bffBrowser) {
			page := b.get("/oauth2/logout", nil)
			csrf := bffCSRFField.FindSubmatch(page.Raw)
			if page.Status != http.StatusOK || csrf == nil {
				h.t.Fatalf("GET /oauth2/logout: %d %s", page.Status, page.Raw)
			}
			r := b.send(bffReq{method: http.MethodPost, url: "/oauth2/logout",
				body:   url.Values{"csrf_token": {html.UnescapeString(string(csrf[1]))}}.Encode(),
				header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
			if r.Status != http.StatusOK {
				h.t.Fatalf("confirm logout: %d %s", r.Status, r.Raw)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newBFFHarness(t, bffConfig{})
			b := h.newBrowser()
			b.signIn("/app/")
			cookie := b.session()
			if r := b.api(http.MethodGet, "hello"); r.Status != http.StatusOK {
				t.Fatalf("before: status %d, body %s", r.Status, r.Raw)
			}
			tc.end(h, b)
			for _, path := range []string{tc.first, "/bff/session", "/bff/api/hello"} {
				r := h.send(bffReq{url: path, header: withSession(cookie, map[string]string{"X-CSRF": "1"})})
				wantBFFError(t, r, http.StatusUnauthorized, "unauthorized")
			}
			if n := h.queryInt(h.openDB(), `SELECT COUNT(*) FROM bff_sessions`); n != 0 {
				t.Errorf("%d BFF sessions left, want 0", n)
			}
			if v := h.metric("rotor_bff_refresh_total"); v != 0 {
				t.Errorf("BFF refreshes = %v, want 0", v)
			}
		})
	}
}

// TestBFFLogoutEndsOPSession: /bff/logout hands the SPA the OP's
// end-session URL with the BFF's ID token as hint; following it signs the
// browser out of the OP at once and lands on return_to, and the next
// /bff/login shows the login page instead of signing in silently.
func TestBFFLogoutEndsOPSession(t *testing.T) {
	for _, tc := range []struct {
		name     string
		returnTo string
		wantTo   string
		// expire waits until the ID token (as long-lived as the access
		// token) has expired: fosite dates it by the real clock.
		expire bool
	}{
		{name: "default return path", wantTo: "/app/"},
		{name: "explicit return path", returnTo: "/app/bye?x=1", wantTo: "/app/bye?x=1"},
		{name: "ID token expired: refreshed first", wantTo: "/app/", expire: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := bffConfig{}
			if tc.expire {
				cfg.accessTTL = 2 * time.Second
			}
			h := newBFFHarness(t, cfg)
			b := h.newBrowser()
			b.signIn("/app/")
			stored := h.storedSession(h.users[aliceEmail].ID)
			if tc.expire {
				time.Sleep(2*time.Second + 200*time.Millisecond)
			}
			path := "/bff/logout"
			if tc.returnTo != "" {
				path += "?" + url.Values{"return_to": {tc.returnTo}}.Encode()
			}
			r := b.send(bffReq{method: http.MethodPost, url: path, header: map[string]string{"X-CSRF": "1", "Origin": h.URL}})
			end := r.str("end_session_url")
			if r.Status != http.StatusOK || !strings.HasPrefix(end, h.URL+"/oauth2/logout?") {
				t.Fatalf("POST /bff/logout: %d %s", r.Status, r.Raw)
			}
			u, _ := url.Parse(end)
			if q := u.Query(); q.Get("client_id") != bffClientID || q.Get("post_logout_redirect_uri") != h.URL+"/bff/logged-out" || q.Get("id_token_hint") == "" {
				t.Errorf("end_session_url query = %v", q)
			}
			if h.active(stored.Refresh) {
				t.Error("the BFF's refresh token is still active")
			}
			op := b.get(end, nil)
			if op.Status != http.StatusSeeOther {
				t.Fatalf("GET end_session_url: status %d, want 303 (body %s)", op.Status, op.Raw)
			}
			back := op.location(t)
			if back.String() != h.URL+"/bff/logged-out?state="+url.QueryEscape(or(tc.returnTo, "/app/")) {
				t.Errorf("OP redirected to %s", back)
			}
			if loc := b.get(back.String(), nil).location(t); loc.String() != tc.wantTo {
				t.Errorf("/bff/logged-out redirected to %s, want %s", loc, tc.wantTo)
			}
			if n := h.queryInt(h.openDB(), `SELECT COUNT(*) FROM browser_sessions WHERE ended_at IS NULL`); n != 0 {
				t.Errorf("%d live browser sessions, want 0", n)
			}
			page := b.get(b.startLogin("/app/").String(), nil)
			if page.Status != http.StatusOK || bffCSRFField.FindSubmatch(page.Raw) == nil || !strings.Contains(string(page.Raw), `action="/login"`) {
				t.Errorf("/bff/login after logout: status %d, want the login page", page.Status)
			}
		})
	}
}

// TestBFFLoggedOutRedirectsOnSite: /bff/logged-out goes on only to a path
// on this site, whatever state says.
func TestBFFLoggedOutRedirectsOnSite(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	for _, tc := range []struct{ name, state, want string }{
		{name: "path", state: "/app/x", want: "/app/x"},
		{name: "none", state: "", want: "/app/"},
		{name: "absolute URL", state: "https://evil.example/", want: "/app/"},
		{name: "scheme-relative", state: "//evil.example/", want: "/app/"},
		{name: "backslash", state: "/\\evil.example/", want: "/app/"},
		{name: "header split", state: "/app/\r\nSet-Cookie: x=y", want: "/app/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.send(bffReq{url: "/bff/logged-out?" + url.Values{"state": {tc.state}}.Encode()})
			if r.Status != http.StatusSeeOther || r.Header.Get("Location") != tc.want {
				t.Errorf("status %d, Location %q; want 303 to %q", r.Status, r.Header.Get("Location"), tc.want)
			}
		})
	}
	r := h.send(bffReq{method: http.MethodPost, url: "/bff/logout?return_to=https://evil.example/", header: map[string]string{"X-CSRF": "1"}})
	wantBFFError(t, r, http.StatusBadRequest, "invalid_request")
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
