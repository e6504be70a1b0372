package server_test

import (
	"net/http"
	"testing"
)

// TestRevokeRefreshTokenRevokesFamily: RFC 7009 on a refresh token ends
// the whole family: its access tokens and its refresh token.
func TestRevokeRefreshTokenRevokesFamily(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client testClient
		hint   string
	}{
		{name: "basic auth, hinted", client: webClient, hint: "refresh_token"},
		{name: "basic auth, wrong hint", client: webClient, hint: "access_token"},
		{name: "client_secret_post, no hint", client: postClient},
		{name: "public client", client: mobileClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, config{})
			t0 := h.login(tc.client, aliceEmail, alicePassword, "")
			t1 := h.mustRefresh(tc.client, t0.Refresh)
			other := h.login(tc.client, aliceEmail, alicePassword, "")

			r := h.revoke(tc.client, t1.Refresh, tc.hint)
			if r.Status != http.StatusOK {
				t.Fatalf("revoke: status %d, body %s", r.Status, r.Raw)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			if h.active(t1.Access) {
				t.Error("access token of the revoked family still active")
			}
			if h.active(t1.Refresh) {
				t.Error("revoked refresh token introspects active")
			}
			wantOAuthError(t, h.refresh(tc.client, t1.Refresh), http.StatusBadRequest, "invalid_grant")
			// Revoking again, or revoking an older token of the family, is still 200.
			if r := h.revoke(tc.client, t1.Refresh, tc.hint); r.Status != http.StatusOK {
				t.Errorf("second revoke: status %d", r.Status)
			}
			if r := h.revoke(tc.client, t0.Refresh, ""); r.Status != http.StatusOK {
				t.Errorf("revoke of rotated token: status %d", r.Status)
			}
			// The user's other login is untouched.
			if !h.active(other.Access) {
				t.Error("revocation reached another family")
			}
			h.mustRefresh(tc.client, other.Refresh)
			if n := h.queryInt(h.openDB(), `SELECT COUNT(*) FROM token_families WHERE revoked_reason = 'revocation_endpoint'`); n != 1 {
				t.Errorf("families revoked by the endpoint = %d, want 1", n)
			}
		})
	}
}

// TestRevokeAccessToken: a revoked access token introspects inactive;
// revoking it ends its family too.
func TestRevokeAccessToken(t *testing.T) {
	for _, tc := range []struct {
		name string
		hint string
	}{
		{name: "hinted", hint: "access_token"},
		{name: "no hint", hint: ""},
		{name: "wrong hint", hint: "refresh_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, config{})
			tk := h.login(webClient, aliceEmail, alicePassword, "read")
			if !h.active(tk.Access) {
				t.Fatal("fresh access token inactive")
			}
			r := h.revoke(webClient, tk.Access, tc.hint)
			if r.Status != http.StatusOK {
				t.Fatalf("revoke: status %d, body %s", r.Status, r.Raw)
			}
			if h.active(tk.Access) {
				t.Error("revoked access token still active")
			}
			wantOAuthError(t, h.refresh(webClient, tk.Refresh), http.StatusBadRequest, "invalid_grant")
		})
	}
}

// TestRevokeClientCredentialsToken: a token without a refresh token can
// be revoked too.
func TestRevokeClientCredentialsToken(t *testing.T) {
	h := newHarness(t, config{})
	tk := h.mustTokens(h.form("/oauth2/token", serviceClient, urlValues("grant_type", "client_credentials")))
	if r := h.revoke(serviceClient, tk.Access, ""); r.Status != http.StatusOK {
		t.Fatalf("revoke: status %d, body %s", r.Status, r.Raw)
	}
	if h.active(tk.Access) {
		t.Error("revoked client_credentials token still active")
	}
}

// TestRevokeUnknownToken: RFC 7009 §2.2 answers 200 for an invalid token.
func TestRevokeUnknownToken(t *testing.T) {
	h := newHarness(t, config{})
	for _, tc := range []struct {
		name, token string
	}{
		{name: "garbage", token: "not-a-token"},
		{name: "refresh-shaped", token: "ory_rt_AAAA.BBBB"},
		{name: "jwt-shaped", token: "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.revoke(webClient, tc.token, "")
			if r.Status != http.StatusOK {
				t.Errorf("status %d, want 200; body %s", r.Status, r.Raw)
			}
		})
	}
}

// TestRevokeOtherClientsToken: a client can't revoke another client's
// tokens; the victim's tokens keep working.
func TestRevokeOtherClientsToken(t *testing.T) {
	h := newHarness(t, config{})
	victim := h.login(webClient, aliceEmail, alicePassword, "")
	for _, tc := range []struct {
		name, token, hint string
		attacker          testClient
	}{
		{name: "refresh token, confidential attacker", token: victim.Refresh, hint: "refresh_token", attacker: otherClient},
		{name: "access token, confidential attacker", token: victim.Access, hint: "access_token", attacker: otherClient},
		{name: "refresh token, public attacker", token: victim.Refresh, attacker: mobileClient},
		{name: "access token, public attacker", token: victim.Access, attacker: mobileClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.revoke(tc.attacker, tc.token, tc.hint)
			if r.Status == http.StatusOK {
				t.Fatalf("another client's revocation answered 200")
			}
			wantOAuthError(t, r, http.StatusBadRequest, "unauthorized_client")
			if !h.active(victim.Access) {
				t.Error("victim's access token was revoked")
			}
		})
	}
	next := h.mustRefresh(webClient, victim.Refresh)
	if !h.active(next.Access) {
		t.Error("victim's refreshed access token inactive")
	}
}

// TestRevokeRequiresClientAuth: revocation needs a valid client.
func TestRevokeRequiresClientAuth(t *testing.T) {
	h := newHarness(t, config{})
	tk := h.login(webClient, aliceEmail, alicePassword, "")
	wrong := webClient
	wrong.Secret = "wrong-secret"
	unknown := testClient{ID: "nobody", Secret: "x", AuthMethod: "client_secret_basic"}
	for _, tc := range []struct {
		name string
		do   func() response
	}{
		{name: "wrong secret", do: func() response { return h.revoke(wrong, tk.Refresh, "") }},
		{name: "unknown client", do: func() response { return h.revoke(unknown, tk.Refresh, "") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantOAuthError(t, tc.do(), http.StatusUnauthorized, "invalid_client")
		})
	}
	// No credentials at all: fosite calls the request malformed
	// (invalid_request) rather than invalid_client.
	t.Run("no client", func(t *testing.T) {
		r := h.post("/oauth2/revoke", "application/x-www-form-urlencoded", "token="+tk.Refresh, nil)
		wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client") // RFC 6749 §5.2
	})
	h.mustRefresh(webClient, tk.Refresh)
}
