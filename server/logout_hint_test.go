package server_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// signedInAs runs the code flow for acApp in b as email and returns the
// tokens.
func signedInAs(h *harness, b *browser, email, password string) codeTokens {
	h.t.Helper()
	v, verifier := acParams(acApp, "openid")
	q := callback(h.t, b.authorize(v, email, password), acAppRedirect)
	return h.mustExchange(acApp, q.Get("code"), verifier)
}

// ssoAlive reports whether b still gets a code without signing in.
func ssoAlive(h *harness, b *browser) bool {
	v, _ := acParams(acApp, "openid")
	v.Set("prompt", "none")
	p := b.get(h.acAuthorizeURL(v))
	return p.Location != nil && p.Location.Query().Get("code") != ""
}

// passwordIDToken is an ID token of the password grant: no sid.
func passwordIDToken(h *harness, email, password string) string {
	h.t.Helper()
	r := h.form("/oauth2/token", acPassword, url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}, "scope": {"openid"}})
	if r.Status != http.StatusOK || r.str("id_token") == "" {
		h.t.Fatalf("password grant: %d %s", r.Status, r.Raw)
	}
	return r.str("id_token")
}

// TestLogoutHintMustNameTheBrowserSession: an id_token_hint signs the
// browser out at once only when it names the browser's own session (its
// sub is the session's user and its sid, if any, the session's sid).
// Another user's or another session's hint, or a request without the
// browser's cookies, gets the confirmation page, revokes nothing and ends
// no session, neither the browser's nor the one the hint names.
func TestLogoutHintMustNameTheBrowserSession(t *testing.T) {
	h := newOIDCHarness(t, config{})
	bobBrowser := h.newBrowser(t)
	bob := signedInAs(h, bobBrowser, bobEmail, bobPassword)
	aliceElsewhere := h.newBrowser(t)
	elsewhere := signedInAs(h, aliceElsewhere, aliceEmail, alicePassword)

	for _, tc := range []struct {
		name string
		// hint picks the id_token_hint given alice's own tokens here.
		hint      func(own codeTokens) string
		redirect  bool
		noCookies bool
		post      bool
		immediate bool
	}{
		{name: "own hint", hint: func(own codeTokens) string { return own.IDToken }, redirect: true, immediate: true},
		{name: "own hint by POST", hint: func(own codeTokens) string { return own.IDToken }, redirect: true, post: true, immediate: true},
		{name: "same user's hint without sid", hint: func(codeTokens) string { return passwordIDToken(h, aliceEmail, alicePassword) }, immediate: true},
		{name: "another user's hint", hint: func(codeTokens) string { return bob.IDToken }},
		{name: "another user's hint by POST", hint: func(codeTokens) string { return bob.IDToken }, post: true},
		{name: "another user's hint without sid", hint: func(codeTokens) string { return passwordIDToken(h, bobEmail, bobPassword) }},
		{name: "another user's hint with a redirect", hint: func(codeTokens) string { return bob.IDToken }, redirect: true},
		{name: "same user, another browser's session", hint: func(codeTokens) string { return elsewhere.IDToken }, redirect: true},
		{name: "own hint without the browser's cookies", hint: func(own codeTokens) string { return own.IDToken }, redirect: true, noCookies: true},
		{name: "own hint by POST without cookies", hint: func(own codeTokens) string { return own.IDToken }, post: true, noCookies: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := h.newBrowser(t)
			own := signedInAs(h, b, aliceEmail, alicePassword)
			params := url.Values{"id_token_hint": {tc.hint(own)}, "state": {"s1"}}
			if tc.redirect {
				params.Set("post_logout_redirect_uri", acAppLogout)
				params.Set("client_id", acApp.ID)
			}
			caller := b
			if tc.noCookies {
				caller = h.newBrowser(t) // a relying party calling from its server
			}
			var p page
			if tc.post {
				p = caller.post(h.URL+"/oauth2/logout", params)
			} else {
				p = caller.get(h.URL + "/oauth2/logout?" + params.Encode())
			}
			if tc.immediate {
				if tc.redirect {
					if q := callback(t, p.Location, acAppLogout); q.Get("state") != "s1" {
						t.Errorf("state = %q, want s1", q.Get("state"))
					}
				} else if p.Status != http.StatusOK || hasForm(p, "/oauth2/logout") {
					t.Errorf("status %d, want the signed-out page", p.Status)
				}
				if ssoAlive(h, b) {
					t.Error("the browser is still signed in")
				}
				wantOAuthError(t, h.refresh(acApp, own.Refresh), http.StatusBadRequest, "invalid_grant")
			} else {
				if p.Status != http.StatusOK || p.Location != nil || !hasForm(p, "/oauth2/logout") {
					t.Fatalf("status %d, Location %v: want the confirmation page", p.Status, p.Location)
				}
				if !ssoAlive(h, b) {
					t.Error("the browser was signed out without confirming")
				}
				if !h.active(own.Access) {
					t.Error("the browser's tokens were revoked without confirming")
				}
			}
			// Never the session the hint names, when it is not this one.
			if !ssoAlive(h, bobBrowser) || !h.active(bob.Access) {
				t.Error("bob's browser session or family was ended")
			}
			if !ssoAlive(h, aliceElsewhere) || !h.active(elsewhere.Access) {
				t.Error("alice's other browser session or family was ended")
			}
		})
	}
}

// TestLogoutConfirmEndsOnlyThisBrowser: confirming on the page shown for
// another user's hint ends the browser's own session and its families,
// not the hinted user's, and redirects to the post_logout_redirect_uri
// checked against the hinted client.
func TestLogoutConfirmEndsOnlyThisBrowser(t *testing.T) {
	h := newOIDCHarness(t, config{})
	bobBrowser := h.newBrowser(t)
	bob := signedInAs(h, bobBrowser, bobEmail, bobPassword)
	b := h.newBrowser(t)
	own := signedInAs(h, b, aliceEmail, alicePassword)

	confirm := b.get(h.URL + "/oauth2/logout?" + url.Values{
		"id_token_hint": {bob.IDToken}, "post_logout_redirect_uri": {acAppLogout}, "state": {"st"},
	}.Encode())
	f := mustForm(t, confirm, "/oauth2/logout")
	t.Run("a tampered redirect in the form is refused", func(t *testing.T) {
		v := url.Values{}
		for k, vs := range f.Fields {
			v[k] = vs
		}
		v.Set("post_logout_redirect_uri", "https://evil.example.com/")
		wantErrorPage(t, b.post(h.URL+"/oauth2/logout", v), http.StatusBadRequest)
		if !ssoAlive(h, b) {
			t.Error("a refused confirmation signed the browser out")
		}
	})
	done := b.submit(confirm, f, nil)
	if q := callback(t, done.Location, acAppLogout); q.Get("state") != "st" {
		t.Errorf("state = %q, want st", q.Get("state"))
	}
	if ssoAlive(h, b) || h.active(own.Access) {
		t.Error("the confirmed logout left this browser signed in")
	}
	if !ssoAlive(h, bobBrowser) || !h.active(bob.Access) {
		t.Error("the confirmed logout ended the hinted user's session")
	}
}

// TestLogoutExpiredHint: an expired id_token_hint no longer speaks for the
// session: it gets the confirmation page, and confirming signs out.
func TestLogoutExpiredHint(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	own := signedInAs(h, b, aliceEmail, alicePassword)
	h.srvClock.Advance(11 * time.Minute) // ID tokens live as long as access tokens: 10 minutes

	p := b.get(h.URL + "/oauth2/logout?" + url.Values{"id_token_hint": {own.IDToken}, "post_logout_redirect_uri": {acAppLogout}}.Encode())
	if p.Status != http.StatusOK || p.Location != nil {
		t.Fatalf("expired hint: status %d, Location %v; want the confirmation page", p.Status, p.Location)
	}
	f := mustForm(t, p, "/oauth2/logout")
	var count int
	if err := h.openDB().QueryRow(`SELECT COUNT(*) FROM browser_sessions WHERE ended_at IS NULL`).Scan(&count); err != nil || count != 1 {
		t.Fatalf("live browser sessions = %d, %v; want 1", count, err)
	}
	callback(t, b.submit(p, f, nil).Location, acAppLogout)
	wantOAuthError(t, h.refresh(acApp, own.Refresh), http.StatusBadRequest, "invalid_grant")
}
