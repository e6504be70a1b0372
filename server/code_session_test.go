package server_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestCodeOfEndedSignInRefused: an authorization code is worth no more
// than the sign-in session it was issued through. Once that session has
// ended (the browser's RP-initiated logout, or sign out everywhere while
// the code is in flight), exchanging the code gets invalid_grant and
// mints no family, so a stolen SSO cookie can't keep a code for after
// the incident response.
func TestCodeOfEndedSignInRefused(t *testing.T) {
	h := newOIDCHarness(t, config{})
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, b *browser, own codeTokens)
	}{
		{name: "RP-initiated logout", end: func(t *testing.T, b *browser, own codeTokens) {
			if p := b.get(h.URL + "/oauth2/logout?" + url.Values{"id_token_hint": {own.IDToken}}.Encode()); p.Status != http.StatusOK || hasForm(p, "/oauth2/logout") {
				t.Fatalf("logout: status %d, want the signed-out page", p.Status)
			}
		}},
		{name: "sign out everywhere", end: func(t *testing.T, _ *browser, _ codeTokens) {
			u, err := h.store.UserByEmail(t.Context(), aliceEmail)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.store.SignOutEverywhere(t.Context(), u.ID, "admin_revoked"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := h.newBrowser(t)
			own := signedInAs(h, b, aliceEmail, alicePassword)
			code, verifier := b.acCode(acApp, "openid")
			tc.end(t, b, own)
			wantOAuthError(t, h.exchange(acApp, code, verifier, acAppRedirect), http.StatusBadRequest, "invalid_grant")
			if ssoAlive(h, b) {
				t.Error("the browser is still signed in")
			}
		})
	}
	t.Run("a live session's code is exchanged", func(t *testing.T) {
		b := h.newBrowser(t)
		code, verifier := b.acCode(acApp, "openid")
		if r := h.exchange(acApp, code, verifier, acAppRedirect); r.Status != http.StatusOK {
			t.Fatalf("exchange: %d %s", r.Status, r.Raw)
		}
	})
}
