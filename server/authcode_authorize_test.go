package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// TestAuthorizeRejectsUnknownClientOrRedirectURI: an unknown client or a
// redirect URI that is not registered exactly gets an HTML error page and
// never a redirect.
func TestAuthorizeRejectsUnknownClientOrRedirectURI(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	for _, tc := range []struct {
		name     string
		clientID string
		redirect string
	}{
		{name: "unregistered host", clientID: acApp.ID, redirect: "https://evil.example.com/callback"},
		{name: "path prefix of a registered URI", clientID: acApp.ID, redirect: "https://app.example.com/"},
		{name: "registered URI plus a path", clientID: acApp.ID, redirect: acAppRedirect + "/more"},
		{name: "registered URI plus a query", clientID: acApp.ID, redirect: acAppRedirect + "?next=https://evil.example.com"},
		{name: "trailing slash", clientID: acApp.ID, redirect: acAppRedirect + "/"},
		{name: "http instead of https", clientID: acApp.ID, redirect: "http://app.example.com/callback"},
		{name: "other subdomain", clientID: acApp.ID, redirect: "https://evil.app.example.com/callback"},
		{name: "user info in authority", clientID: acApp.ID, redirect: "https://app.example.com@evil.example.com/callback"},
		{name: "loopback on another port", clientID: acApp.ID, redirect: "http://127.0.0.1:9999/callback"},
		{name: "loopback without port", clientID: acApp.ID, redirect: "http://127.0.0.1/callback"},
		{name: "localhost for 127.0.0.1", clientID: acApp.ID, redirect: "http://localhost:8765/callback"},
		{name: "another client's redirect URI", clientID: acApp.ID, redirect: acSPARedirect},
		{name: "unknown client", clientID: "nobody", redirect: acAppRedirect},
		{name: "unknown client without redirect URI", clientID: "nobody", redirect: ""},
		{name: "missing client_id", clientID: "", redirect: acAppRedirect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := acParams(acApp, "openid")
			v.Set("client_id", tc.clientID)
			v.Set("redirect_uri", tc.redirect)
			if tc.clientID == "" {
				v.Del("client_id")
			}
			if tc.redirect == "" {
				v.Del("redirect_uri")
			}
			wantErrorPage(t, b.get(h.acAuthorizeURL(v)), http.StatusBadRequest)
		})
	}
	t.Run("registered loopback URI with its exact port", func(t *testing.T) {
		v, _ := acParams(acApp, "openid")
		v.Set("redirect_uri", acAppLoopback)
		p := b.get(h.acAuthorizeURL(v))
		if p.Status != http.StatusOK || !hasForm(p, "/login") {
			t.Errorf("exact loopback URI: status %d, want the login page", p.Status)
		}
	})
}

// TestAuthorizeErrorsGoToRedirectURI: with a known client and registered
// redirect URI, errors go back to the client (303, error, state, iss).
func TestAuthorizeErrorsGoToRedirectURI(t *testing.T) {
	h := newOIDCHarness(t, config{})
	state := "s t+a/t=e&%?#é~" // returned byte for byte
	for _, tc := range []struct {
		name   string
		client testClient
		edit   func(url.Values)
		code   string
	}{
		{name: "response_type token", client: acApp, edit: func(v url.Values) { v.Set("response_type", "token") }, code: "unsupported_response_type"},
		{name: "response_type code id_token", client: acApp, edit: func(v url.Values) { v.Set("response_type", "code id_token") }, code: "unsupported_response_type"},
		{name: "scope the client may not ask for", client: acApp, edit: func(v url.Values) { v.Set("scope", "openid admin") }, code: "invalid_scope"},
		{name: "missing PKCE, confidential client", client: acApp, edit: delPKCE, code: "invalid_request"},
		{name: "missing PKCE, public client", client: acSPA, edit: delPKCE, code: "invalid_request"},
		{name: "missing PKCE, public client registered PKCEOptional", client: acPublicOptional, edit: delPKCE, code: "invalid_request"},
		{name: "PKCE plain", client: acApp, edit: func(v url.Values) {
			v.Set("code_challenge", oauth2.GenerateVerifier())
			v.Set("code_challenge_method", "plain")
		}, code: "invalid_request"},
		{name: "PKCE without method (plain)", client: acSPA, edit: func(v url.Values) {
			v.Set("code_challenge", oauth2.GenerateVerifier())
			v.Del("code_challenge_method")
		}, code: "invalid_request"},
		{name: "PKCE unknown method", client: acApp, edit: func(v url.Values) { v.Set("code_challenge_method", "S512") }, code: "invalid_request"},
		{name: "prompt=none without a session", client: acApp, edit: func(v url.Values) { v.Set("prompt", "none") }, code: "login_required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := acParams(tc.client, "openid")
			v.Set("state", state)
			tc.edit(v)
			// A fresh browser: the error must come before any login page.
			p := h.newBrowser(t).get(h.acAuthorizeURL(v))
			h.wantErrorRedirect(t, p, acRedirectOf(tc.client), tc.code, state)
		})
	}
}

func delPKCE(v url.Values) {
	v.Del("code_challenge")
	v.Del("code_challenge_method")
}

// TestAuthorizeStateEchoed: the state comes back byte for byte and iss is
// added on success.
func TestAuthorizeStateEchoed(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	for _, tc := range []struct{ name, state string }{
		{name: "reserved characters", state: "a b+c/d=e&f?g#h%20"},
		{name: "unicode", state: "état-∑-🙂-state"},
		{name: "long", state: strings.Repeat("xY-_.~", 100)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := acParams(acFirstParty, "openid")
			v.Set("state", tc.state)
			q := callback(t, b.authorize(v, aliceEmail, alicePassword), acFirstRedirect)
			if q.Get("state") != tc.state || q.Get("iss") != h.URL || q.Get("code") == "" {
				t.Errorf("callback query %v, want state %q and iss %q", q, tc.state, h.URL)
			}
		})
	}
}
