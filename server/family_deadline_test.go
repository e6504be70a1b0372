package server_test

import (
	"net/url"
	"testing"
	"time"
)

// TestRefreshedTokensEndWithFamily: a refresh near the end of a session
// issues tokens that expire with the session (its absolute lifetime from
// login), not a full lifespan later, and the token response, the JWT, the
// stored rows and introspection all say so. Far from the end, lifespans
// apply unchanged.
func TestRefreshedTokensEndWithFamily(t *testing.T) {
	for _, tc := range []struct {
		name       string
		sessionMax time.Duration
		capped     bool
	}{
		{"session ends before the lifespans", 20 * time.Second, true},
		{"session ends long after them", 24 * time.Hour, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, config{accessTTL: time.Hour, refreshIdleTTL: time.Hour, sessionMaxTTL: tc.sessionMax})
			first := h.login(mobileClient, aliceEmail, alicePassword, "")
			db := h.openDB()
			var deadline time.Time
			if err := db.QueryRow(`SELECT expires_at FROM token_families`).Scan(&deadline); err != nil {
				t.Fatal(err)
			}
			before := time.Now()
			tk := h.mustRefresh(mobileClient, first.Refresh)

			want := before.Add(time.Hour) // the lifespans
			if tc.capped {
				want = deadline
			}
			// JWT exp has whole seconds; fosite rounds lifespans to the second.
			near := func(what string, got int64) {
				t.Helper()
				if d := got - want.Unix(); d < -2 || d > 2 {
					t.Errorf("%s = %s, want %s (±2s)", what, time.Unix(got, 0).UTC(), want.UTC())
				}
			}
			near("access token exp", int64(jwtClaims(t, tk.Access)["exp"].(float64)))
			near("now + expires_in", before.Unix()+int64(tk.ExpiresIn))
			near("introspected access token exp", int64(h.introspect(tk.Access).JSON["exp"].(float64)))
			near("introspected refresh token exp", int64(h.introspect(tk.Refresh).JSON["exp"].(float64)))
			var stored time.Time
			if err := db.QueryRow(`SELECT expires_at FROM refresh_tokens ORDER BY requested_at DESC LIMIT 1`).Scan(&stored); err != nil {
				t.Fatal(err)
			}
			near("stored refresh token expiry", stored.Unix())
			if tc.capped {
				// The session's end is the end: the next refresh keeps it.
				next := h.mustRefresh(mobileClient, tk.Refresh)
				near("next access token exp", int64(jwtClaims(t, next.Access)["exp"].(float64)))
			}
		})
	}
}

// TestRefreshedIDTokenEndsWithFamily: the ID token a refresh issues near
// the end of a session expires with it too, and go-oidc still accepts it.
func TestRefreshedIDTokenEndsWithFamily(t *testing.T) {
	h := newOIDCHarness(t, config{accessTTL: time.Hour, refreshIdleTTL: time.Hour, sessionMaxTTL: 20 * time.Second})
	r := h.form("/oauth2/token", acPassword, url.Values{
		"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}, "scope": {"openid"},
	})
	first := h.mustTokens(r)
	var deadline time.Time
	if err := h.openDB().QueryRow(`SELECT expires_at FROM token_families`).Scan(&deadline); err != nil {
		t.Fatal(err)
	}
	rr := h.refresh(acPassword, first.Refresh)
	h.mustTokens(rr)
	raw := rr.str("id_token")
	if _, err := h.acVerifier(t, acPassword.ID).Verify(h.acCtx(), raw); err != nil {
		t.Fatalf("go-oidc Verify: %v", err)
	}
	if exp := int64(jwtClaims(t, raw)["exp"].(float64)); exp > deadline.Unix()+1 || exp < deadline.Unix()-2 {
		t.Errorf("ID token exp = %s, want the family's end %s (±2s)", time.Unix(exp, 0).UTC(), deadline.UTC())
	}
}
