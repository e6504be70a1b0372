package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAuthorizeParamSpelling: response_type, prompt and
// code_challenge_method are read strictly; a spelling fosite would split
// or trim differently is refused before any login page, by error redirect
// since the redirect URI is valid (RFC 6749 §4.1.2.1).
func TestAuthorizeParamSpelling(t *testing.T) {
	h := newOIDCHarness(t, config{})
	cases := []struct {
		name, param, value string
		del                bool
		want               string
	}{
		{name: "response_type trailing space", param: "response_type", value: "code ", want: "invalid_request"},
		{name: "response_type leading space", param: "response_type", value: " code", want: "invalid_request"},
		{name: "response_type tab", param: "response_type", value: "code\t", want: "invalid_request"},
		// fosite refuses these itself: no registered response type matches.
		{name: "response_type twice", param: "response_type", value: "code code", want: "unsupported_response_type"},
		{name: "response_type NUL", param: "response_type", value: "code\x00", want: "unsupported_response_type"},
		{name: "response_type capitalised", param: "response_type", value: "Code", want: "unsupported_response_type"},
		{name: "response_type token", param: "response_type", value: "token", want: "unsupported_response_type"},
		{name: "prompt tab-separated", param: "prompt", value: "login\tconsent", want: "invalid_request"},
		{name: "prompt double space", param: "prompt", value: "login  consent", want: "invalid_request"},
		{name: "prompt trailing space", param: "prompt", value: "login ", want: "invalid_request"},
		{name: "prompt capitalised", param: "prompt", value: "Login", want: "invalid_request"},
		{name: "prompt repeated value", param: "prompt", value: "login login", want: "invalid_request"},
		{name: "prompt unknown", param: "prompt", value: "bogus", want: "invalid_request"},
		{name: "prompt none with login", param: "prompt", value: "none login", want: "invalid_request"},
		{name: "prompt none padded", param: "prompt", value: " none", want: "invalid_request"},
		{name: "method trailing space", param: "code_challenge_method", value: "S256 ", want: "invalid_request"},
		{name: "method lower case", param: "code_challenge_method", value: "s256", want: "invalid_request"},
		{name: "method plain", param: "code_challenge_method", value: "plain", want: "invalid_request"},
		{name: "method empty", param: "code_challenge_method", value: "", want: "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			b := h.newBrowser(t)
			v, _ := acParams(acApp, "openid")
			v.Set(tc.param, tc.value)
			p := b.open(h.acAuthorizeURL(v))
			h.wantErrorRedirect(t, p, acAppRedirect, tc.want, v.Get("state"))
		})
	}
	t.Run("method without challenge", func(t *testing.T) {
		h.t = t
		b := h.newBrowser(t)
		v, _ := acParams(acLegacy, "openid")
		v.Del("code_challenge")
		p := b.open(h.acAuthorizeURL(v))
		h.wantErrorRedirect(t, p, acLegacyRedirect, "invalid_request", v.Get("state"))
	})
	t.Run("exact spellings still work", func(t *testing.T) {
		h.t = t
		for _, prompt := range []string{"", "login", "login consent", "consent select_account"} {
			b := h.newBrowser(t)
			v, _ := acParams(acApp, "openid")
			if prompt != "" {
				v.Set("prompt", prompt)
			}
			if loc := b.authorize(v, aliceEmail, alicePassword); !callback(t, loc, acAppRedirect).Has("code") {
				t.Errorf("prompt %q: no code in %s", prompt, loc)
			}
		}
	})
}

// TestTokenTypeHintSpelling: revocation accepts exactly access_token and
// refresh_token (or no hint) and answers any other hint
// unsupported_token_type (RFC 7009 §2.2.1), revoking nothing;
// introspection ignores an unknown hint (RFC 7662 §2.1) and still finds
// the token.
func TestTokenTypeHintSpelling(t *testing.T) {
	h := newHarness(t, config{})
	tk := h.login(webClient, aliceEmail, alicePassword, "read")
	bad := []string{"refresh_token ", " access_token", "Refresh_Token", "ACCESS_TOKEN", "refresh_token\t",
		"refresh_token refresh_token", "access_token,refresh_token", "id_token", "refresh_token\u00a0", strings.Repeat("x", 2000)}
	for _, hint := range bad {
		t.Run("revoke "+hint[:min(len(hint), 30)], func(t *testing.T) {
			h.t = t
			for _, token := range []string{tk.Refresh, tk.Access} {
				wantOAuthError(t, h.revoke(webClient, token, hint), http.StatusBadRequest, "unsupported_token_type")
			}
			if !h.active(tk.Access) {
				t.Fatal("a refused revocation revoked the token")
			}
		})
		t.Run("introspect "+hint[:min(len(hint), 30)], func(t *testing.T) {
			h.t = t
			for _, token := range []string{tk.Refresh, tk.Access} {
				v := url.Values{"token": {token}, "token_type_hint": {hint}}
				r := h.post("/oauth2/introspect", "application/x-www-form-urlencoded", v.Encode(), &auditorClient)
				if r.Status != http.StatusOK || r.JSON["active"] != true {
					t.Fatalf("introspect with hint %q: %d %s", hint, r.Status, r.Raw)
				}
			}
		})
	}
	t.Run("exact hints", func(t *testing.T) {
		h.t = t
		other := h.login(webClient, aliceEmail, alicePassword, "read")
		for _, hint := range []string{"", "access_token", "refresh_token"} {
			v := url.Values{"token": {other.Access}}
			if hint != "" {
				v.Set("token_type_hint", hint)
			}
			r := h.post("/oauth2/introspect", "application/x-www-form-urlencoded", v.Encode(), &rsClient)
			if r.Status != http.StatusOK || r.JSON["active"] != true {
				t.Fatalf("introspect with hint %q: %d %s", hint, r.Status, r.Raw)
			}
		}
		if r := h.revoke(webClient, other.Refresh, "refresh_token"); r.Status != http.StatusOK {
			t.Fatalf("revoke with exact hint: %d %s", r.Status, r.Raw)
		}
		if h.active(other.Access) {
			t.Error("revoked family's access token still active")
		}
	})
}
