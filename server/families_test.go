package server_test

import (
	"net/http"
	"testing"
	"time"
)

// Clocks: fosite stamps refresh-token expiry with time.Now in its password
// and refresh handlers and checks it with time.Now in ValidateRefreshToken,
// so neither storage.Options.Now nor server.Options.Now can move the idle
// deadline. The family's absolute deadline is stamped with the storage
// clock but also compared by fosite against time.Now. Both timeout tests
// therefore use short real TTLs and sleep. The grace window, by contrast,
// is decided entirely on the storage clock (rotated_at vs Now), so the
// grace tests move storage.Options.Now instead of sleeping.

// TestRefreshIdleTimeout: the idle TTL resets on every refresh, and a
// token unused for longer than it is invalid_grant.
func TestRefreshIdleTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps ~6s")
	}
	// fosite rounds expiries to the second, so a 2s TTL is 1.5s-2.5s.
	h := newHarness(t, config{refreshIdleTTL: 2 * time.Second})
	tk := h.login(webClient, aliceEmail, alicePassword, "")
	start := time.Now()
	// Three refreshes 1s apart: the chain outlives the login's own
	// idle deadline (at most 2.5s) only because each refresh resets it.
	for range 3 {
		time.Sleep(time.Second)
		tk = h.mustRefresh(webClient, tk.Refresh)
	}
	if time.Since(start) < 3*time.Second {
		t.Fatalf("chain too short to prove the reset")
	}
	time.Sleep(3 * time.Second)
	r := h.refresh(webClient, tk.Refresh)
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	if n := h.queryInt(h.openDB(), `SELECT COUNT(*) FROM token_families WHERE revoked_at IS NOT NULL`); n != 0 {
		t.Errorf("idle expiry revoked %d families; expiry is not reuse", n)
	}
}

// TestSessionMaxTTL: refreshing keeps the idle deadline fresh but never
// extends the absolute lifetime counted from login.
func TestSessionMaxTTL(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps ~2.5s")
	}
	h := newHarness(t, config{refreshIdleTTL: time.Hour, sessionMaxTTL: 2 * time.Second})
	tk := h.login(mobileClient, aliceEmail, alicePassword, "")
	login := time.Now()
	tk = h.mustRefresh(mobileClient, tk.Refresh)
	time.Sleep(time.Second)
	tk = h.mustRefresh(mobileClient, tk.Refresh) // idle deadline now an hour away
	time.Sleep(time.Until(login.Add(2500 * time.Millisecond)))
	r := h.refresh(mobileClient, tk.Refresh)
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
	// A new login starts a new session.
	fresh := h.login(mobileClient, aliceEmail, alicePassword, "")
	h.mustRefresh(mobileClient, fresh.Refresh)
}

// TestReuseRevokesFamily: presenting a rotated refresh token (its
// successor already used) is invalid_grant and revokes the family.
func TestReuseRevokesFamily(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  config
	}{
		{name: "grace on", cfg: config{}},
		{name: "grace off", cfg: config{noGrace: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg)
			t0 := h.login(webClient, aliceEmail, alicePassword, "read")
			t1 := h.mustRefresh(webClient, t0.Refresh)
			t2 := h.mustRefresh(webClient, t1.Refresh)
			if !h.active(t2.Access) {
				t.Fatal("newest access token inactive before reuse")
			}
			// An unrelated family of the same user must survive.
			bystander := h.login(webClient, aliceEmail, alicePassword, "")

			r := h.refresh(webClient, t0.Refresh)
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")

			r = h.refresh(webClient, t2.Refresh)
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
			for i, at := range []string{t0.Access, t1.Access, t2.Access} {
				if h.active(at) {
					t.Errorf("access token %d of the revoked family still active", i)
				}
			}
			db := h.openDB()
			if n := h.queryInt(db, `SELECT COUNT(*) FROM token_families WHERE revoked_at IS NOT NULL AND revoked_reason = 'refresh_token_reuse'`); n != 1 {
				t.Errorf("families revoked for reuse = %d, want 1", n)
			}
			if !h.active(bystander.Access) {
				t.Error("reuse in one family revoked another family")
			}
			h.mustRefresh(webClient, bystander.Refresh)
		})
	}
}

// TestRefreshGrace covers the grace window for a lost refresh response.
func TestRefreshGrace(t *testing.T) {
	t.Run("replay within grace returns the same successor", func(t *testing.T) {
		h := newHarness(t, config{grace: 10 * time.Second})
		t0 := h.login(webClient, aliceEmail, alicePassword, "read")
		t1 := h.mustRefresh(webClient, t0.Refresh)
		h.storeClock.Advance(5 * time.Second)
		replay := h.mustRefresh(webClient, t0.Refresh)
		if replay.Refresh != t1.Refresh {
			t.Fatal("grace replay returned a different refresh token")
		}
		if !h.active(replay.Access) || jwtClaims(t, replay.Access)["scope"] != "read" {
			t.Error("grace replay's access token is not a valid token of the session")
		}
		// The successor is still the live head of the chain, and using it
		// retires both access tokens that came with it.
		t2 := h.mustRefresh(webClient, t1.Refresh)
		if h.active(t1.Access) || h.active(replay.Access) || !h.active(t2.Access) {
			t.Errorf("after the successor's rotation: first %v, replay's %v, newest %v; want only the newest active",
				h.active(t1.Access), h.active(replay.Access), h.active(t2.Access))
		}
		if n := h.queryInt(h.openDB(), `SELECT COUNT(*) FROM refresh_tokens WHERE parent_signature = ?`, refreshSignature(t0.Refresh)); n != 1 {
			t.Errorf("parent has %d successor rows, want 1", n)
		}
		// Now the successor was used: the parent is plain reuse.
		r := h.refresh(webClient, t0.Refresh)
		wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
		wantOAuthError(t, h.refresh(webClient, t2.Refresh), http.StatusBadRequest, "invalid_grant")
		for i, at := range []string{t1.Access, replay.Access, t2.Access} {
			if h.active(at) {
				t.Errorf("access token %d still active after reuse", i)
			}
		}
	})
	t.Run("replay after grace revokes the family", func(t *testing.T) {
		h := newHarness(t, config{grace: 10 * time.Second})
		t0 := h.login(webClient, aliceEmail, alicePassword, "")
		t1 := h.mustRefresh(webClient, t0.Refresh)
		h.storeClock.Advance(11 * time.Second)
		wantOAuthError(t, h.refresh(webClient, t0.Refresh), http.StatusBadRequest, "invalid_grant")
		wantOAuthError(t, h.refresh(webClient, t1.Refresh), http.StatusBadRequest, "invalid_grant")
		if h.active(t1.Access) {
			t.Error("successor's access token active after reuse")
		}
	})
	t.Run("grace 0 disables replay", func(t *testing.T) {
		h := newHarness(t, config{noGrace: true})
		t0 := h.login(webClient, aliceEmail, alicePassword, "")
		t1 := h.mustRefresh(webClient, t0.Refresh)
		wantOAuthError(t, h.refresh(webClient, t0.Refresh), http.StatusBadRequest, "invalid_grant")
		wantOAuthError(t, h.refresh(webClient, t1.Refresh), http.StatusBadRequest, "invalid_grant")
		if h.active(t1.Access) {
			t.Error("successor's access token active after reuse")
		}
	})
	t.Run("replay of another client's parent is refused without revoking", func(t *testing.T) {
		h := newHarness(t, config{grace: 10 * time.Second})
		t0 := h.login(webClient, aliceEmail, alicePassword, "")
		t1 := h.mustRefresh(webClient, t0.Refresh)
		r := h.refresh(otherClient, t0.Refresh)
		if r.Status == http.StatusOK {
			t.Fatalf("another client replayed the parent: %s", r.Raw)
		}
		wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
		h.mustRefresh(webClient, t1.Refresh)
	})
}

// TestFamilySharedAcrossRotation: every token of one login has the same
// family (fosite request ID) in the database, and the rotated-out access
// token retires with its refresh token.
func TestFamilySharedAcrossRotation(t *testing.T) {
	h := newHarness(t, config{})
	t0 := h.login(postClient, bobEmail, bobPassword, "")
	t1 := h.mustRefresh(postClient, t0.Refresh)
	t2 := h.mustRefresh(postClient, t1.Refresh)
	db := h.openDB()
	if n := h.queryInt(db, `SELECT COUNT(DISTINCT request_id) FROM refresh_tokens`); n != 1 {
		t.Errorf("refresh tokens span %d families, want 1", n)
	}
	if n := h.queryInt(db, `SELECT COUNT(*) FROM refresh_tokens`); n != 3 {
		t.Errorf("refresh token rows = %d, want 3", n)
	}
	if n := h.queryInt(db, `SELECT COUNT(DISTINCT request_id) FROM access_tokens`); n != 1 {
		t.Errorf("access tokens span %d families, want 1", n)
	}
	if n := h.queryInt(db, `SELECT COUNT(*) FROM token_families`); n != 1 {
		t.Errorf("families = %d, want 1", n)
	}
	if h.active(t0.Access) || h.active(t1.Access) {
		t.Error("access token of a rotated refresh token still active")
	}
	if !h.active(t2.Access) {
		t.Error("newest access token inactive")
	}
}
