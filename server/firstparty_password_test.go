package server_test

import (
	"net/http"
	"net/url"
	"testing"
)

var (
	// thirdPartyClient has the password grant but is not first-party.
	thirdPartyClient = testClient{ID: "third", Secret: "third-secret-0123456789abcdef01234567", AuthMethod: "client_secret_basic",
		Grants: []string{"password", "refresh_token"}}
	// passwordOnlyClient is first-party without the refresh_token grant.
	passwordOnlyClient = testClient{ID: "pw-only", FirstParty: true, Secret: "pw-only-secret-0123456789abcdef0123456", AuthMethod: "client_secret_basic",
		Grants: []string{"password"}}
	// publicPasswordOnly is the same as a public client.
	publicPasswordOnly = testClient{ID: "pw-only-public", FirstParty: true, Public: true, AuthMethod: "none",
		Grants: []string{"password"}}
)

// TestPasswordGrantFirstPartyOnly: the password grant needs a first-party
// client; a third-party client registered with it is unauthorized_client
// before any password is checked (no failure counted, no audit row).
func TestPasswordGrantFirstPartyOnly(t *testing.T) {
	h := newHarness(t, config{})
	h.registerClients(t, thirdPartyClient)
	for _, tc := range []struct{ name, password string }{
		{"right password", alicePassword},
		{"wrong password", "wrong"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			for i := 0; i < 8; i++ {
				r := h.form("/oauth2/token", thirdPartyClient, url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {tc.password}})
				wantOAuthError(t, r, http.StatusBadRequest, "unauthorized_client")
			}
		})
	}
	h.t = t
	if n := h.countAudit("login_failed"); n != 0 {
		t.Errorf("%d login_failed rows for a client that may not use the grant", n)
	}
	h.login(webClient, aliceEmail, alicePassword, "")
}

// TestRefreshTokenNeedsGrant: a refresh token goes only to a client with
// the refresh_token grant.
func TestRefreshTokenNeedsGrant(t *testing.T) {
	h := newHarness(t, config{})
	h.registerClients(t, passwordOnlyClient, publicPasswordOnly)
	db := h.openDB()
	for _, c := range []testClient{passwordOnlyClient, publicPasswordOnly} {
		t.Run(c.ID, func(t *testing.T) {
			h.t = t
			for _, scope := range []string{"", "read", "read write"} {
				tk := h.login(c, aliceEmail, alicePassword, scope)
				if tk.Refresh != "" {
					t.Errorf("scope %q: refresh token issued to a client without the refresh_token grant", scope)
				}
				if !h.active(tk.Access) {
					t.Errorf("scope %q: access token not active", scope)
				}
			}
			if n := h.queryInt(db, `SELECT COUNT(*) FROM refresh_tokens WHERE client_id = ?`, c.ID); n != 0 {
				t.Errorf("%d refresh tokens stored", n)
			}
			if n := h.queryInt(db, `SELECT COUNT(*) FROM token_families WHERE client_id = ?`, c.ID); n != 0 {
				t.Errorf("%d token families stored", n)
			}
		})
	}
	t.Run("with the grant", func(t *testing.T) {
		h.t = t
		if tk := h.login(mobileClient, aliceEmail, alicePassword, ""); tk.Refresh == "" {
			t.Error("no refresh token for a client with the refresh_token grant")
		}
	})
}

// TestReuseMetricLiveFamiliesOnly: rotor_refresh_reuse_detected_total
// counts a spent token of a live family, not any token of a family that
// was revoked (signed out) before it came back.
func TestReuseMetricLiveFamiliesOnly(t *testing.T) {
	h := newHarness(t, config{noGrace: true})
	reused := func() float64 { return scrape(t, h)["rotor_refresh_reuse_detected_total"] }
	t.Run("revoked family", func(t *testing.T) {
		h.t = t
		first := h.login(mobileClient, aliceEmail, alicePassword, "")
		second := h.mustRefresh(mobileClient, first.Refresh)
		if r := h.revoke(mobileClient, second.Refresh, "refresh_token"); r.Status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.Status, r.Raw)
		}
		for _, rt := range []string{first.Refresh, second.Refresh, first.Refresh} {
			wantOAuthError(t, h.refresh(mobileClient, rt), http.StatusBadRequest, "invalid_grant")
		}
		if v := reused(); v != 0 {
			t.Errorf("reuse counted %v times for tokens of a revoked family", v)
		}
		if n := h.countAudit("refresh_reuse_detected"); n != 0 {
			t.Errorf("%d refresh_reuse_detected rows", n)
		}
	})
	t.Run("live family", func(t *testing.T) {
		h.t = t
		first := h.login(mobileClient, aliceEmail, alicePassword, "")
		second := h.mustRefresh(mobileClient, first.Refresh)
		wantOAuthError(t, h.refresh(mobileClient, first.Refresh), http.StatusBadRequest, "invalid_grant")
		if v := reused(); v != 1 {
			t.Errorf("reuse of a live family's spent token counted %v times, want 1", v)
		}
		// The family is dead now: its tokens are no further reuse.
		wantOAuthError(t, h.refresh(mobileClient, second.Refresh), http.StatusBadRequest, "invalid_grant")
		wantOAuthError(t, h.refresh(mobileClient, first.Refresh), http.StatusBadRequest, "invalid_grant")
		if v := reused(); v != 1 {
			t.Errorf("after the family died: counted %v, want 1", v)
		}
	})
}
