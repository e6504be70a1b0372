package server_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rotorauth/rotor/storage"
)

// TestHashPoolBusyIsUnavailable: when every argon2id slot stays busy for
// the whole wait, a password sign-in is answered 503
// temporarily_unavailable (never 500, never invalid_grant), for unknown
// users too (they are hashed like real ones); it is not counted as a
// failed attempt; and the server answers normally once a slot is free.
func TestHashPoolBusyIsUnavailable(t *testing.T) {
	hasher := storage.NewPasswordHasher(64, 1, 1).Bound(1, 50*time.Millisecond)
	a := newAbuseHarness(t, abuseConfig{hasher: hasher, throttle: throttleOpts, oidc: true})

	// A user whose stored hash is expensive: verifying it holds the only
	// slot for a good while (Verify uses the hash's own parameters).
	const slowEmail, slowPassword = "slow@example.com", "slow password"
	other, err := storage.Open(context.Background(), a.dbPath, storage.Options{Hasher: storage.NewPasswordHasher(16*1024, 8, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.CreateUser(context.Background(), slowEmail, slowPassword); err != nil {
		t.Fatal(err)
	}
	_ = other.Close()

	passwordGrant := func(email, password string, normal int) func(t *testing.T) bool {
		return func(t *testing.T) bool {
			t.Helper()
			r := a.form("/oauth2/token", webClient, url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}})
			if r.Status == http.StatusServiceUnavailable {
				wantOAuthError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
				return true
			}
			if r.Status != normal {
				t.Fatalf("status %d, want %d or 503 (body %s)", r.Status, normal, r.Raw)
			}
			return false
		}
	}
	tests := []struct {
		name string
		// try sends one request and reports whether it was turned away
		// because the pool was busy, failing the test on any other
		// unexpected answer.
		try func(t *testing.T) bool
	}{
		{name: "password grant, right password", try: passwordGrant(aliceEmail, alicePassword, http.StatusOK)},
		{name: "password grant, wrong password", try: passwordGrant(bobEmail, "wrong", http.StatusBadRequest)},
		{name: "password grant, unknown user", try: passwordGrant("nobody@example.com", "guess", http.StatusBadRequest)},
		{
			// The login page sends the error back to the client's
			// redirect URI (RFC 6749 §4.1.2.1), never a 500.
			name: "login form",
			try: func(t *testing.T) bool {
				t.Helper()
				r := tryLoginForm(t, a.harness, clientFrom(t, userIP), aliceEmail, alicePassword, nil)
				if r.Status != http.StatusSeeOther {
					t.Fatalf("status %d, want 303 (body %.300s)", r.Status, r.Raw)
				}
				loc, err := url.Parse(r.Location)
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(r.Location, "/oauth2/authorize?") {
					return false // signed in
				}
				q := callback(t, loc, acFirstRedirect)
				if q.Get("error") != "temporarily_unavailable" || q.Get("iss") != a.URL || q.Get("state") == "" {
					t.Fatalf("error redirect %s, want error=temporarily_unavailable with state and iss", loc)
				}
				return true
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a.t = t
			// Hold the slot with the slow user's sign-in and send tc's
			// request meanwhile; start over if the slow sign-in ended
			// before a request found the pool busy.
			busy := false
			for round := 0; round < 5 && !busy; round++ {
				done := make(chan struct{})
				go func() {
					defer close(done)
					_, _ = a.store.Authenticate(context.Background(), slowEmail, slowPassword)
				}()
				for !busy {
					finished := false
					select {
					case <-done:
						finished = true
					default:
					}
					busy = tc.try(t)
					if finished {
						break
					}
				}
				<-done
			}
			if !busy {
				t.Fatal("no request found the pool busy in 5 rounds")
			}
		})
	}
	a.t = t
	// The turned-away attempts were not counted as failures: alice only
	// ever sent her right password, so she has no failure on record.
	for _, e := range a.auditEvents() {
		if e.Email == aliceEmail && e.Type != "login_succeeded" {
			t.Errorf("alice's busy sign-ins left an event: %+v", e)
		}
	}
	if n := a.queryInt(a.openDB(), `SELECT COUNT(*) FROM login_throttle WHERE throttle_key = ?`, "acct:"+aliceEmail); n != 0 {
		t.Errorf("alice has %d throttle rows after only busy and successful sign-ins", n)
	}
	r := a.form("/oauth2/token", webClient, url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}})
	if r.Status != http.StatusOK {
		t.Fatalf("after the busy spell: status %d, body %s", r.Status, r.Raw)
	}
}
