package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"
)

// TestIntrospectActiveTokens checks the RFC 7662 §2.2 fields for access
// and refresh tokens of each grant.
func TestIntrospectActiveTokens(t *testing.T) {
	h := newHarness(t, config{})
	login := h.login(webClient, aliceEmail, alicePassword, "read write")
	cc := h.mustTokens(h.form("/oauth2/token", serviceClient, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}))
	alice := h.users[aliceEmail].ID
	for _, tc := range []struct {
		name, token, tokenType, sub, client, scope string
		exp                                        bool
	}{
		{name: "password access token", token: login.Access, tokenType: "Bearer", sub: alice, client: webClient.ID, scope: "read write", exp: true},
		{name: "refresh token", token: login.Refresh, tokenType: "refresh_token", sub: alice, client: webClient.ID, scope: "read write", exp: true},
		{name: "client_credentials access token", token: cc.Access, tokenType: "Bearer", sub: serviceClient.ID, client: serviceClient.ID, scope: "read", exp: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.introspect(tc.token)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d, body %s", r.Status, r.Raw)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			if r.JSON["active"] != true {
				t.Fatalf("inactive: %s", r.Raw)
			}
			for k, want := range map[string]string{
				"scope": tc.scope, "client_id": tc.client, "sub": tc.sub, "token_type": tc.tokenType, "iss": h.URL,
			} {
				if got := r.str(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			aud, _ := r.JSON["aud"].([]any)
			if !slices.Contains(aud, any(testAudience)) {
				t.Errorf("aud = %v, want to contain %s", r.JSON["aud"], testAudience)
			}
			now := float64(time.Now().Unix())
			iat, _ := r.JSON["iat"].(float64)
			if iat < now-60 || iat > now+5 {
				t.Errorf("iat = %v, want about now (%v)", iat, now)
			}
			exp, _ := r.JSON["exp"].(float64)
			if tc.exp && exp <= now {
				t.Errorf("exp = %v, want in the future", exp)
			}
		})
	}
	// The access token's exp agrees with the JWT's own claim.
	r := h.introspect(login.Access)
	if got, want := r.JSON["exp"], jwtClaims(t, login.Access)["exp"]; got != want {
		t.Errorf("introspected exp %v != JWT exp %v", got, want)
	}
}

// TestIntrospectInactive: everything that is not a live token is
// {"active": false} with 200, and nothing else.
func TestIntrospectInactive(t *testing.T) {
	h := newHarness(t, config{noGrace: true})
	t0 := h.login(webClient, aliceEmail, alicePassword, "")
	t1 := h.mustRefresh(webClient, t0.Refresh)
	// A forged JWT: a real token with its signature replaced.
	forged := t1.Access[:len(t1.Access)-10] + "AAAAAAAAAA"
	for _, tc := range []struct {
		name, token string
	}{
		{name: "garbage", token: "garbage"},
		{name: "rotated refresh token", token: t0.Refresh},
		{name: "rotated-out access token", token: t0.Access},
		{name: "forged signature", token: forged},
		{name: "empty-ish", token: " "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.introspect(tc.token)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d, body %s", r.Status, r.Raw)
			}
			if r.JSON["active"] != false || len(r.JSON) != 1 {
				t.Errorf("want exactly {\"active\":false}, got %s", r.Raw)
			}
		})
	}
}

// TestIntrospectClientAuth: only an authenticated confidential client may
// introspect; failures are 401 invalid_client with WWW-Authenticate.
func TestIntrospectClientAuth(t *testing.T) {
	h := newHarness(t, config{})
	tk := h.login(webClient, aliceEmail, alicePassword, "")
	form := url.Values{"token": {tk.Access}}.Encode()
	wrong := rsClient
	wrong.Secret = "not-the-secret"
	unknown := testClient{ID: "nobody", Secret: "whatever"}
	public := testClient{ID: mobileClient.ID, Secret: ""}
	for _, tc := range []struct {
		name  string
		basic *testClient
		form  string
	}{
		{name: "wrong secret", basic: &wrong, form: form},
		{name: "unknown client", basic: &unknown, form: form},
		{name: "public client without secret", basic: &public, form: form},
		{name: "no authorization", form: form},
		{name: "credentials in body only", form: form + "&client_id=" + rsClient.ID + "&client_secret=" + url.QueryEscape(rsClient.Secret)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.post("/oauth2/introspect", "application/x-www-form-urlencoded", tc.form, tc.basic)
			wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
			if _, leaked := r.JSON["active"]; leaked {
				t.Errorf("failed authentication leaked token state: %s", r.Raw)
			}
		})
	}
	t.Run("bearer token of the token itself", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, h.URL+"/oauth2/introspect", stringsReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+tk.Access)
		wantOAuthError(t, h.do(req), http.StatusUnauthorized, "invalid_client")
	})
	// An authenticated confidential client learns only about its own
	// tokens and those of the resources it serves (see
	// TestIntrospectionWhoMayLearnWhat).
	r := h.post("/oauth2/introspect", "application/x-www-form-urlencoded", form, &otherClient)
	if r.Status != http.StatusOK || r.JSON["active"] != false || len(r.JSON) != 1 {
		t.Errorf("another client's introspection of web's token: %d %s", r.Status, r.Raw)
	}
	r = h.post("/oauth2/introspect", "application/x-www-form-urlencoded", form, &webClient)
	if r.Status != http.StatusOK || r.JSON["active"] != true {
		t.Errorf("the token's own client's introspection: %d %s", r.Status, r.Raw)
	}
}

// TestIntrospectAfterFamilyRevocation: introspection reads storage, so a
// revoked JWT is inactive although its signature still verifies.
func TestIntrospectAfterFamilyRevocation(t *testing.T) {
	h := newHarness(t, config{})
	tk := h.login(mobileClient, bobEmail, bobPassword, "read")
	if !h.active(tk.Access) || !h.active(tk.Refresh) {
		t.Fatal("fresh tokens inactive")
	}
	found, err := h.store.RevokeFamily(t.Context(), familyOf(t, h, tk.Refresh), "test")
	if err != nil || !found {
		t.Fatalf("RevokeFamily: %v %v", found, err)
	}
	if h.active(tk.Access) || h.active(tk.Refresh) {
		t.Error("tokens of a revoked family still active")
	}
	jwks := h.fetchJWKS(t)
	if _, err := verifyWithJWKS(tk.Access, jwks); err != nil {
		t.Errorf("revoked token's signature should still verify: %v", err)
	}
}

// familyOf finds a refresh token's family in the database.
func familyOf(t *testing.T, h *harness, rt string) string {
	t.Helper()
	var id string
	if err := h.openDB().QueryRow(`SELECT request_id FROM refresh_tokens WHERE signature = ?`, refreshSignature(rt)).Scan(&id); err != nil {
		t.Fatalf("family of refresh token: %v", err)
	}
	return id
}
