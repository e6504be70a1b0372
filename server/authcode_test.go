package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestAuthCodeFlowBrowser drives the whole flow like a browser: x/oauth2
// builds the request, the real login and consent forms are parsed and
// posted, the code is exchanged with x/oauth2, the ID token is verified
// with go-oidc, and the tokens are refreshed through a TokenSource.
func TestAuthCodeFlowBrowser(t *testing.T) {
	h := newOIDCHarness(t, config{})
	ctx := h.acCtx()
	conf := h.acOAuth2Config(acApp, "openid", "email", "offline_access")
	verifier := oauth2.GenerateVerifier()
	nonce := "n-" + oauth2.GenerateVerifier()[:20]
	state := "st-" + oauth2.GenerateVerifier()[:20]
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", nonce))
	b := h.newBrowser(t)

	// 1. The authorization endpoint shows the login page.
	loginPage := b.open(authURL)
	if loginPage.Status != http.StatusOK {
		t.Fatalf("authorize: status %d, body %s", loginPage.Status, loginPage.Body)
	}
	wantPageHeaders(t, loginPage)
	lf := mustForm(t, loginPage, "/login")
	if lf.Fields.Get("csrf_token") == "" {
		t.Fatal("login form has no csrf_token")
	}

	// 2. Signing in answers 303 and sets the session cookie.
	afterLogin := b.login(loginPage, aliceEmail, alicePassword)
	if afterLogin.Status != http.StatusSeeOther {
		t.Fatalf("login POST: status %d, want 303 (body %s)", afterLogin.Status, afterLogin.Body)
	}
	var session *http.Cookie
	for _, c := range afterLogin.Cookies {
		if c.Name == "rotor_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("login set no rotor_session cookie: %v", afterLogin.Header["Set-Cookie"])
	}
	if !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure || session.Path != "/" {
		t.Errorf("session cookie HttpOnly=%v SameSite=%v Secure=%v Path=%q; want HttpOnly, Lax, not Secure on http, /",
			session.HttpOnly, session.SameSite, session.Secure, session.Path)
	}

	// 3. Consent page for the third-party app.
	consent := b.follow(afterLogin)
	if consent.Status != http.StatusOK {
		t.Fatalf("after login: status %d, body %s", consent.Status, consent.Body)
	}
	wantPageHeaders(t, consent)
	if !strings.Contains(consent.Body, acAppName) {
		t.Errorf("consent page does not name the client %q", acAppName)
	}

	// 4. Allow: 303 to the redirect URI with code, state and iss.
	final := b.decide(consent, "allow")
	if final.Status != http.StatusSeeOther {
		t.Fatalf("consent POST: status %d, want 303 (body %s)", final.Status, final.Body)
	}
	q := callback(t, final.Location, acAppRedirect)
	if q.Get("state") != state {
		t.Errorf("state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("iss") != h.URL {
		t.Errorf("iss = %q, want %q", q.Get("iss"), h.URL)
	}
	code := q.Get("code")
	if code == "" {
		t.Fatalf("no code in %s", final.Location)
	}

	// 5. Exchange with x/oauth2.
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || !strings.EqualFold(tok.TokenType, "bearer") {
		t.Fatalf("token = %+v", tok)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		t.Fatal("token response has no id_token")
	}

	// 6. go-oidc verifies the ID token with nothing but the client ID.
	verifierOIDC := h.acVerifier(t, acApp.ID)
	idt, err := verifierOIDC.Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc Verify: %v", err)
	}
	alice := h.users[aliceEmail].ID
	if idt.Subject != alice || idt.Issuer != h.URL || !slices.Equal(idt.Audience, []string{acApp.ID}) {
		t.Errorf("ID token sub=%q iss=%q aud=%v", idt.Subject, idt.Issuer, idt.Audience)
	}
	if idt.Nonce != nonce {
		t.Errorf("nonce = %q, want %q", idt.Nonce, nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var claims struct {
		AuthTime int64  `json:"auth_time"`
		SID      string `json:"sid"`
		AtHash   string `json:"at_hash"`
		Iat      int64  `json:"iat"`
		Exp      int64  `json:"exp"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if claims.AuthTime == 0 || claims.SID == "" || claims.AtHash != atHash(tok.AccessToken) || claims.Iat == 0 || claims.Exp <= claims.Iat {
		t.Errorf("ID token claims = %+v", claims)
	}
	var loggedIn time.Time
	if err := h.openDB().QueryRow(`SELECT auth_time FROM browser_sessions`).Scan(&loggedIn); err != nil {
		t.Fatalf("read the browser session: %v", err)
	}
	if claims.AuthTime != loggedIn.Unix() {
		t.Errorf("auth_time = %d, want the login's %d", claims.AuthTime, loggedIn.Unix())
	}
	hdr := jwtHeader(t, rawID)
	if hdr["alg"] != "RS256" {
		t.Errorf("ID token alg = %v, want RS256", hdr["alg"])
	}
	kid, _ := hdr["kid"].(string)
	jwks := h.acJWKS(t)
	if kid == "" || len(jwks.Key(kid)) != 1 {
		t.Errorf("ID token kid %q is not in the JWKS", kid)
	}

	// 7. The access token works at /userinfo.
	ui := h.userinfo(tok.AccessToken)
	if ui.Status != http.StatusOK || ui.str("sub") != alice || ui.str("email") != aliceEmail {
		t.Errorf("userinfo: %d %s", ui.Status, ui.Raw)
	}

	// 8. Refresh through a TokenSource: rotation and a new ID token with
	// the same subject and auth_time.
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	next, err := conf.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh through TokenSource: %v", err)
	}
	if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken || next.AccessToken == tok.AccessToken {
		t.Error("refresh did not rotate the tokens")
	}
	rawID2, _ := next.Extra("id_token").(string)
	idt2, err := verifierOIDC.Verify(ctx, rawID2)
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	var claims2 struct {
		AuthTime int64 `json:"auth_time"`
	}
	_ = idt2.Claims(&claims2)
	if idt2.Subject != alice || claims2.AuthTime != claims.AuthTime {
		t.Errorf("refreshed ID token sub=%q auth_time=%d, want %q and %d", idt2.Subject, claims2.AuthTime, alice, claims.AuthTime)
	}

	// 9. Same browser, second authorization: no login, no consent (SSO).
	v, _ := acParams(acApp, "openid email offline_access")
	again := b.open(h.acAuthorizeURL(v))
	q2 := callback(t, again.Location, acAppRedirect)
	if again.Status != http.StatusSeeOther || q2.Get("code") == "" || q2.Get("iss") != h.URL {
		t.Errorf("second authorization: %d %v", again.Status, q2)
	}
}

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

// TestPKCEAtTokenEndpoint: the verifier must match the S256 challenge; a
// verifier without a challenge is refused; only a confidential client
// registered PKCEOptional may skip PKCE.
func TestPKCEAtTokenEndpoint(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	// Sign in and consent for every client once.
	for _, c := range []testClient{acApp, acSPA, acLegacy} {
		b.acCode(c, "openid")
	}
	codeWith := func(c testClient, pkce bool) (string, string) {
		v, verifier := acParams(c, "openid")
		if !pkce {
			delPKCE(v)
			verifier = ""
		}
		q := callback(t, b.authorize(v, aliceEmail, alicePassword), acRedirectOf(c))
		return q.Get("code"), verifier
	}
	for _, tc := range []struct {
		name     string
		client   testClient
		pkce     bool   // send a challenge at authorize
		verifier string // "" keeps the right one; "-" sends none
		ok       bool
	}{
		{name: "right verifier, confidential", client: acApp, pkce: true, ok: true},
		{name: "right verifier, public", client: acSPA, pkce: true, ok: true},
		{name: "wrong verifier", client: acApp, pkce: true, verifier: oauth2.GenerateVerifier()},
		{name: "wrong verifier, public", client: acSPA, pkce: true, verifier: oauth2.GenerateVerifier()},
		{name: "missing verifier", client: acSPA, pkce: true, verifier: "-"},
		{name: "verifier too short", client: acApp, pkce: true, verifier: "short"},
		{name: "PKCEOptional client without PKCE", client: acLegacy, pkce: false, verifier: "-", ok: true},
		{name: "PKCEOptional client with PKCE", client: acLegacy, pkce: true, ok: true},
		{name: "PKCEOptional client, wrong verifier", client: acLegacy, pkce: true, verifier: oauth2.GenerateVerifier()},
		{name: "verifier without a challenge at authorize", client: acLegacy, pkce: false, verifier: oauth2.GenerateVerifier()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, verifier := codeWith(tc.client, tc.pkce)
			switch tc.verifier {
			case "":
			case "-":
				verifier = ""
			default:
				verifier = tc.verifier
			}
			r := h.exchange(tc.client, code, verifier, acRedirectOf(tc.client))
			if tc.ok {
				if r.Status != http.StatusOK || r.str("access_token") == "" || r.str("id_token") == "" {
					t.Errorf("exchange: %d %s", r.Status, r.Raw)
				}
				return
			}
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
		})
	}
}

// TestCodeExchangeRejected: a code is bound to its client and redirect
// URI, and expires after 60 seconds.
func TestCodeExchangeRejected(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	b.acCode(acApp, "openid")
	for _, tc := range []struct {
		name     string
		exchange func(code, verifier string) response
		status   int
		errCode  string
	}{
		{name: "another client", exchange: func(code, verifier string) response {
			return h.exchange(acFirstParty, code, verifier, acAppRedirect)
		}, status: http.StatusBadRequest, errCode: "invalid_grant"},
		{name: "another registered redirect URI", exchange: func(code, verifier string) response {
			return h.exchange(acApp, code, verifier, acAppLoopback)
		}, status: http.StatusBadRequest, errCode: "invalid_grant"},
		{name: "no redirect URI", exchange: func(code, verifier string) response {
			return h.exchange(acApp, code, verifier, "")
		}, status: http.StatusBadRequest, errCode: "invalid_grant"},
		{name: "made-up code", exchange: func(_, verifier string) response {
			return h.exchange(acApp, "ory_ac_"+oauth2.GenerateVerifier()+"."+oauth2.GenerateVerifier(), verifier, acAppRedirect)
		}, status: http.StatusBadRequest, errCode: "invalid_grant"},
		{name: "wrong client secret", exchange: func(code, verifier string) response {
			c := acApp
			c.Secret = "wrong"
			return h.exchange(c, code, verifier, acAppRedirect)
		}, status: http.StatusUnauthorized, errCode: "invalid_client"},
		{name: "expired code", exchange: func(code, verifier string) response {
			h.expireCode(t, code)
			return h.exchange(acApp, code, verifier, acAppRedirect)
		}, status: http.StatusBadRequest, errCode: "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, verifier := b.acCode(acApp, "openid")
			wantOAuthError(t, tc.exchange(code, verifier), tc.status, tc.errCode)
		})
	}
	t.Run("code lifetime is 60 seconds", func(t *testing.T) {
		b.acCode(acApp, "openid")
		var secs float64
		row := h.openDB().QueryRow(`SELECT (julianday(expires_at) - julianday(requested_at)) * 86400 FROM authorize_codes ORDER BY requested_at DESC LIMIT 1`)
		if err := row.Scan(&secs); err != nil {
			t.Fatal(err)
		}
		if secs < 59 || secs > 61 {
			t.Errorf("code lifetime = %.1f s, want 60", secs)
		}
	})
}

// expireCode moves a stored code's expiry into the past, as if 60 seconds
// had gone by (fosite checks it against the wall clock).
func (h *harness) expireCode(t *testing.T, code string) {
	t.Helper()
	db := h.openDB()
	var n int
	rows, err := db.Query(`SELECT signature, data FROM authorize_codes WHERE active = 1`)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		sig  string
		data []byte
	}
	var recs []rec
	for rows.Next() {
		var r rec
		if err := rows.Scan(&r.sig, &r.data); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	rows.Close()
	past := time.Now().Add(-time.Second).UTC()
	for _, r := range recs {
		var stored map[string]json.RawMessage
		if err := json.Unmarshal(r.data, &stored); err != nil {
			t.Fatal(err)
		}
		var sess map[string]any
		if err := json.Unmarshal(stored["session"], &sess); err != nil {
			t.Fatal(err)
		}
		exp, _ := sess["expires_at"].(map[string]any)
		if exp == nil {
			exp = map[string]any{}
		}
		exp["authorize_code"] = past
		sess["expires_at"] = exp
		stored["session"], _ = json.Marshal(sess)
		data, _ := json.Marshal(stored)
		if _, err := db.Exec(`UPDATE authorize_codes SET data = ?, expires_at = ? WHERE signature = ?`, data, past, r.sig); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("no active code to expire for %s", code[:8])
	}
}

// TestAuthCodeReuseRevokesTokens: a code works once; presenting it again
// fails and revokes every token issued from it.
func TestAuthCodeReuseRevokesTokens(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	for _, c := range []testClient{acApp, acSPA} {
		t.Run(c.ID, func(t *testing.T) {
			code, verifier := b.acCode(c, "openid offline_access")
			first := h.mustExchange(c, code, verifier)
			if !h.active(first.Access) {
				t.Fatal("fresh access token inactive")
			}
			wantOAuthError(t, h.exchange(c, code, verifier, acRedirectOf(c)), http.StatusBadRequest, "invalid_grant")
			if h.active(first.Access) {
				t.Error("access token from a reused code is still active")
			}
			wantOAuthError(t, h.refresh(c, first.Refresh), http.StatusBadRequest, "invalid_grant")
			if r := h.userinfo(first.Access); r.Status != http.StatusUnauthorized {
				t.Errorf("userinfo with a revoked token: %d", r.Status)
			}
		})
	}
}

// TestAuthCodeRefreshFamily: refresh tokens from the code flow rotate, a
// reused one revokes the family, and each refresh with openid carries a
// new ID token for the same user and login.
func TestAuthCodeRefreshFamily(t *testing.T) {
	h := newOIDCHarness(t, config{noGrace: true})
	b := h.newBrowser(t)
	code, verifier := b.acCode(acApp, "openid email offline_access")
	first := h.mustExchange(acApp, code, verifier)
	verify := h.acVerifier(t, acApp.ID)
	idt, err := verify.Verify(h.acCtx(), first.IDToken)
	if err != nil {
		t.Fatal(err)
	}
	authTime := jwtClaims(t, first.IDToken)["auth_time"]

	r := h.refresh(acApp, first.Refresh)
	second := h.mustTokens(r)
	if second.Refresh == "" || second.Refresh == first.Refresh {
		t.Fatal("refresh did not rotate")
	}
	id2 := r.str("id_token")
	idt2, err := verify.Verify(h.acCtx(), id2)
	if err != nil {
		t.Fatalf("refreshed ID token: %v", err)
	}
	if idt2.Subject != idt.Subject || jwtClaims(t, id2)["auth_time"] != authTime {
		t.Errorf("refreshed ID token sub=%s auth_time=%v, want %s and %v", idt2.Subject, jwtClaims(t, id2)["auth_time"], idt.Subject, authTime)
	}
	if err := idt2.VerifyAccessToken(second.Access); err != nil {
		t.Errorf("refreshed at_hash: %v", err)
	}

	// Reuse of the spent token: invalid_grant and the family is revoked.
	wantOAuthError(t, h.refresh(acApp, first.Refresh), http.StatusBadRequest, "invalid_grant")
	wantOAuthError(t, h.refresh(acApp, second.Refresh), http.StatusBadRequest, "invalid_grant")
	if h.active(second.Access) {
		t.Error("access token of a revoked family is active")
	}
}
