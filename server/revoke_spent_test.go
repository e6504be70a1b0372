package server_test

import (
	"net/http"
	"sync"
	"testing"
)

// TestRevokeSpentTokenRevokesFamily: RFC 7009 §2.1, RFC 9700 §4.14.2. An
// app that signs out with a token it still holds, already rotated by a
// thief, ends the family: the newest refresh token and its access token
// die too.
func TestRevokeSpentTokenRevokesFamily(t *testing.T) {
	for _, tc := range []struct {
		name string
		pick func(gen []tokens) string
		hint string
	}{
		{name: "first refresh token, spent", pick: func(g []tokens) string { return g[0].Refresh }},
		{name: "second refresh token, spent, hinted", pick: func(g []tokens) string { return g[1].Refresh }, hint: "refresh_token"},
		{name: "spent refresh token, wrong hint", pick: func(g []tokens) string { return g[0].Refresh }, hint: "access_token"},
		{name: "retired access token of the login", pick: func(g []tokens) string { return g[0].Access }},
		{name: "retired access token of a rotation, hinted", pick: func(g []tokens) string { return g[1].Access }, hint: "access_token"},
		{name: "retired access token, wrong hint", pick: func(g []tokens) string { return g[1].Access }, hint: "refresh_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, config{})
			gen := []tokens{h.login(webClient, aliceEmail, alicePassword, "")}
			gen = append(gen, h.mustRefresh(webClient, gen[0].Refresh))
			gen = append(gen, h.mustRefresh(webClient, gen[1].Refresh)) // the thief's, say
			other := h.login(webClient, aliceEmail, alicePassword, "")

			r := h.revoke(webClient, tc.pick(gen), tc.hint)
			if r.Status != http.StatusOK {
				t.Fatalf("revoke: status %d, body %s", r.Status, r.Raw)
			}
			wantOAuthError(t, h.refresh(webClient, gen[2].Refresh), http.StatusBadRequest, "invalid_grant")
			if h.active(gen[2].Access) {
				t.Error("the newest access token is still active")
			}
			if n := h.queryInt(h.openDB(), `SELECT COUNT(*) FROM token_families WHERE revoked_reason = 'revocation_endpoint'`); n != 1 {
				t.Errorf("families revoked by the endpoint = %d, want 1", n)
			}
			// A spent token of the already-revoked family: 200, nothing else.
			if r := h.revoke(webClient, gen[0].Refresh, ""); r.Status != http.StatusOK {
				t.Errorf("revoking again: status %d", r.Status)
			}
			if n := h.queryInt(h.openDB(), `SELECT COUNT(*) FROM audit_events WHERE type = 'family_revoked'`); n != 1 {
				t.Errorf("family_revoked events = %d, want 1", n)
			}
			if !h.active(other.Access) {
				t.Error("revocation reached the user's other login")
			}
			h.mustRefresh(webClient, other.Refresh)
		})
	}
}

// TestRevokeSpentTokenOfAnotherClient: RFC 7009 §2.1, the server checks
// that the token was issued to the requesting client: another client's
// spent token revokes nothing.
func TestRevokeSpentTokenOfAnotherClient(t *testing.T) {
	for _, tc := range []struct {
		name     string
		attacker testClient
		pick     func(gen []tokens) string
	}{
		{name: "spent refresh token, confidential client", attacker: otherClient, pick: func(g []tokens) string { return g[0].Refresh }},
		{name: "retired access token, confidential client", attacker: otherClient, pick: func(g []tokens) string { return g[0].Access }},
		{name: "spent refresh token, public client", attacker: mobileClient, pick: func(g []tokens) string { return g[0].Refresh }},
		{name: "retired access token of a rotation, client_secret_post", attacker: postClient, pick: func(g []tokens) string { return g[1].Access }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, config{})
			gen := []tokens{h.login(webClient, aliceEmail, alicePassword, "")}
			gen = append(gen, h.mustRefresh(webClient, gen[0].Refresh))
			gen = append(gen, h.mustRefresh(webClient, gen[1].Refresh))

			wantOAuthError(t, h.revoke(tc.attacker, tc.pick(gen), ""), http.StatusBadRequest, "unauthorized_client")
			if !h.active(gen[2].Access) {
				t.Error("another client's revocation revoked the family")
			}
			if n := h.queryInt(h.openDB(), `SELECT COUNT(*) FROM token_families WHERE revoked_at IS NOT NULL`); n != 0 {
				t.Errorf("revoked families = %d, want 0", n)
			}
			h.mustRefresh(webClient, gen[2].Refresh)
		})
	}
}

// TestRevokeSpentTokenDuringRefresh: a revocation of a spent token racing
// a refresh of the newest one leaves no live token in the family,
// whichever commits first.
func TestRevokeSpentTokenDuringRefresh(t *testing.T) {
	h := newHarness(t, config{})
	for round := range 5 {
		t0 := h.login(webClient, aliceEmail, alicePassword, "")
		t1 := h.mustRefresh(webClient, t0.Refresh)
		var (
			wg      sync.WaitGroup
			revoked response
			fresh   response
		)
		wg.Add(2)
		go func() { defer wg.Done(); revoked = h.revoke(webClient, t0.Refresh, "") }()
		go func() { defer wg.Done(); fresh = h.refresh(webClient, t1.Refresh) }()
		wg.Wait()
		if revoked.Status != http.StatusOK {
			t.Fatalf("round %d: revoke: status %d, body %s", round, revoked.Status, revoked.Raw)
		}
		live := []string{t1.Access}
		if fresh.Status == http.StatusOK {
			next := h.mustTokens(fresh)
			live = append(live, next.Access)
			wantOAuthError(t, h.refresh(webClient, next.Refresh), http.StatusBadRequest, "invalid_grant")
		} else {
			wantOAuthError(t, fresh, http.StatusBadRequest, "invalid_grant")
		}
		for _, at := range live {
			if h.active(at) {
				t.Errorf("round %d: an access token of the revoked family is active", round)
			}
		}
	}
}
