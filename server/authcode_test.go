package server_test

import (
	"net/http"
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
