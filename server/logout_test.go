package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestLogoutEndsSessionAndFamilies: RP-initiated logout with an
// id_token_hint and a registered post_logout_redirect_uri ends the browser
// session and revokes the token families that session created, except
// those granted offline_access, and no other.
func TestLogoutEndsSessionAndFamilies(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	code, verifier := b.acCode(acApp, "openid")
	app := h.mustExchange(acApp, code, verifier)
	code, verifier = b.acCode(acSPA, "openid")
	spa := h.mustExchange(acSPA, code, verifier)
	// offline_access asks for access while the user is signed out (OIDC
	// Core §11): logging out of the browser leaves that family alone.
	code, verifier = b.acCode(acSPA, "openid offline_access")
	offline := h.mustExchange(acSPA, code, verifier)

	// Alice in another browser, and a password-grant login: not this session.
	other := h.newBrowser(t)
	code, verifier = other.acCode(acApp, "openid offline_access")
	elsewhere := h.mustExchange(acApp, code, verifier)
	password := h.login(acPassword, aliceEmail, alicePassword, "openid")

	state := "bye state/+= é"
	p := b.get(h.URL + "/oauth2/logout?" + url.Values{
		"id_token_hint":            {app.IDToken},
		"post_logout_redirect_uri": {acAppLogout},
		"state":                    {state},
	}.Encode())
	if p.Status != http.StatusSeeOther {
		t.Fatalf("logout: status %d, want 303 (body %s)", p.Status, p.Body)
	}
	q := callback(t, p.Location, acAppLogout)
	if q.Get("state") != state {
		t.Errorf("state = %q, want %q", q.Get("state"), state)
	}
	if b.cookie("rotor_session") != "" {
		t.Error("session cookie still set after logout")
	}

	t.Run("next authorize shows the login page", func(t *testing.T) {
		v, _ := acParams(acApp, "openid")
		if p := b.open(h.acAuthorizeURL(v)); !hasForm(p, "/login") {
			t.Errorf("status %d, want the login page", p.Status)
		}
	})
	t.Run("the old session cookie is dead", func(t *testing.T) {
		// A browser that kept the cookie (or a stolen copy) gets no SSO.
		v, _ := acParams(acApp, "openid")
		v.Set("prompt", "none")
		h.wantErrorRedirect(t, b.get(h.acAuthorizeURL(v)), acAppRedirect, "login_required", v.Get("state"))
	})
	for _, tc := range []struct {
		name    string
		client  testClient
		tk      codeTokens
		revoked bool
	}{
		{name: "family of the hinted client", client: acApp, tk: app, revoked: true},
		{name: "another client's family from the same session", client: acSPA, tk: spa, revoked: true},
		{name: "another client's offline_access family from the same session", client: acSPA, tk: offline},
		{name: "family from another browser", client: acApp, tk: elsewhere},
		{name: "password grant family", client: acPassword, tk: codeTokens{tokens: password}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := h.active(tc.tk.Access); got == tc.revoked {
				t.Errorf("access token active = %v, want %v", got, !tc.revoked)
			}
			r := h.refresh(tc.client, tc.tk.Refresh)
			if tc.revoked {
				wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
			} else if r.Status != http.StatusOK {
				t.Errorf("refresh: %d %s", r.Status, r.Raw)
			}
		})
	}
	t.Run("the other browser is still signed in", func(t *testing.T) {
		v, _ := acParams(acApp, "openid")
		if p := other.open(h.acAuthorizeURL(v)); p.Location == nil || p.Location.Query().Get("code") == "" {
			t.Errorf("other browser: status %d, want a code", p.Status)
		}
	})
}

// TestLogoutRejectsOpenRedirects: a logout request that would redirect
// somewhere unproven gets a 400 page, never a Location, and signs no one
// out.
func TestLogoutRejectsOpenRedirects(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	code, verifier := b.acCode(acApp, "openid offline_access")
	tk := h.mustExchange(acApp, code, verifier)
	code, verifier = b.acCode(acSPA, "openid")
	spaToken := h.mustExchange(acSPA, code, verifier)

	// A foreign hint: right issuer, audience and kid, another RSA key.
	kid, _ := jwtHeader(t, tk.IDToken)["kid"].(string)
	foreign := signForeign(t, kid, jwtClaims(t, tk.IDToken))
	// A forged hint: claims changed, signature kept.
	forged := forgeClaims(t, tk.IDToken, map[string]any{"sub": "mallory", "sid": "someone-else"})

	for _, tc := range []struct {
		name   string
		params url.Values
	}{
		{name: "unregistered post_logout_redirect_uri", params: url.Values{"id_token_hint": {tk.IDToken}, "post_logout_redirect_uri": {"https://evil.example.com/"}}},
		{name: "registered URI plus a path", params: url.Values{"id_token_hint": {tk.IDToken}, "post_logout_redirect_uri": {acAppLogout + "/x"}}},
		{name: "registered URI plus a query", params: url.Values{"id_token_hint": {tk.IDToken}, "post_logout_redirect_uri": {acAppLogout + "?to=https://evil.example.com"}}},
		{name: "another client's URI", params: url.Values{"id_token_hint": {tk.IDToken}, "post_logout_redirect_uri": {acSPALogout}}},
		{name: "authorization redirect URI is not a logout URI", params: url.Values{"id_token_hint": {tk.IDToken}, "post_logout_redirect_uri": {acAppRedirect}}},
		{name: "redirect without id_token_hint", params: url.Values{"post_logout_redirect_uri": {acAppLogout}}},
		{name: "redirect with client_id but no id_token_hint", params: url.Values{"client_id": {acApp.ID}, "post_logout_redirect_uri": {acAppLogout}}},
		{name: "forged id_token_hint", params: url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {acAppLogout}}},
		{name: "foreign id_token_hint", params: url.Values{"id_token_hint": {foreign}, "post_logout_redirect_uri": {acAppLogout}}},
		{name: "garbage id_token_hint", params: url.Values{"id_token_hint": {"a.b.c"}, "post_logout_redirect_uri": {acAppLogout}}},
		{name: "access token as id_token_hint", params: url.Values{"id_token_hint": {tk.Access}, "post_logout_redirect_uri": {acAppLogout}}},
		{name: "client_id not in the hint's audience", params: url.Values{"id_token_hint": {tk.IDToken}, "client_id": {acSPA.ID}, "post_logout_redirect_uri": {acSPALogout}}},
		{name: "other client's hint with this client's URI", params: url.Values{"id_token_hint": {spaToken.IDToken}, "post_logout_redirect_uri": {acAppLogout}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := b.get(h.URL + "/oauth2/logout?" + tc.params.Encode())
			wantErrorPage(t, p, http.StatusBadRequest)
			if strings.Contains(p.Body, "evil.example.com") {
				t.Error("the page links to the rejected URI")
			}
		})
	}
	t.Run("POST form is checked the same way", func(t *testing.T) {
		p := b.post(h.URL+"/oauth2/logout", url.Values{"id_token_hint": {tk.IDToken}, "post_logout_redirect_uri": {"https://evil.example.com/"}})
		wantErrorPage(t, p, http.StatusBadRequest)
	})
	t.Run("still signed in", func(t *testing.T) {
		v, _ := acParams(acApp, "openid")
		if p := b.open(h.acAuthorizeURL(v)); p.Location == nil || p.Location.Query().Get("code") == "" {
			t.Errorf("after rejected logouts: status %d, want a code (SSO)", p.Status)
		}
		if !h.active(tk.Access) {
			t.Error("a rejected logout revoked tokens")
		}
	})
}

// TestLogoutWithoutHint: without an id_token_hint logout asks the user to
// confirm with a CSRF-protected form, so a cross-site link can't sign
// anyone out.
func TestLogoutWithoutHint(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	code, verifier := b.acCode(acApp, "openid")
	tk := h.mustExchange(acApp, code, verifier)

	confirm := b.get(h.URL + "/oauth2/logout")
	if confirm.Status != http.StatusOK {
		t.Fatalf("GET logout: %d", confirm.Status)
	}
	wantPageHeaders(t, confirm)
	f := mustForm(t, confirm, "/oauth2/logout")
	if f.Fields.Get("csrf_token") == "" {
		t.Fatal("logout form has no csrf_token")
	}
	if !h.active(tk.Access) {
		t.Fatal("showing the confirmation page signed out")
	}
	for _, tc := range []struct {
		name string
		vals url.Values
	}{
		{name: "csrf_token missing", vals: url.Values{}},
		{name: "csrf_token wrong", vals: url.Values{"csrf_token": {"x" + f.Fields.Get("csrf_token")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErrorPage(t, b.post(h.URL+"/oauth2/logout", tc.vals), http.StatusForbidden)
			if !h.active(tk.Access) {
				t.Error("a forged logout revoked tokens")
			}
		})
	}
	done := b.submit(confirm, f, nil)
	if done.Status != http.StatusOK || done.Location != nil {
		t.Fatalf("confirmed logout: %d %v", done.Status, done.Location)
	}
	if h.active(tk.Access) {
		t.Error("access token active after logout")
	}
	wantOAuthError(t, h.refresh(acApp, tk.Refresh), http.StatusBadRequest, "invalid_grant")
	v, _ := acParams(acApp, "openid")
	if p := b.open(h.acAuthorizeURL(v)); !hasForm(p, "/login") {
		t.Errorf("after logout: status %d, want the login page", p.Status)
	}
}

// signForeign signs claims with a key Rotor never had, under kid.
func signForeign(t *testing.T, kid string, claims map[string]any) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	claims["exp"] = time.Now().Add(time.Hour).Unix()
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// forgeClaims replaces claims in token's payload and keeps its signature.
func forgeClaims(t *testing.T, token string, set map[string]any) string {
	t.Helper()
	parts := strings.Split(token, ".")
	c := jwtClaims(t, token)
	for k, v := range set {
		c[k] = v
	}
	b, _ := json.Marshal(c)
	parts[1] = encodeRawURL(b)
	return strings.Join(parts, ".")
}
