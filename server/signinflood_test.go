package server_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/rotorauth/rotor/server"
)

// TestSignInFloodIsShed: parallel sign-ins for one account beyond its free
// attempts wait for their turn at most TurnWait (security.hash_wait), then
// get 503 temporarily_unavailable as RFC 6749 §5.2 JSON (with Retry-After)
// instead of queueing for as long as the flood lasts. None gets anything
// else, and the metrics call it shedding, not a database error.
func TestSignInFloodIsShed(t *testing.T) {
	// The five free attempts take far longer than the turn wait, so the
	// others must give up.
	h := slowSignInHarness(t, func(o *server.Options) { o.Throttle.TurnWait = 100 * time.Millisecond })

	form := url.Values{"grant_type": {"password"}, "client_id": {mobileClient.ID}, "username": {aliceEmail}, "password": {alicePassword}}.Encode()
	const n = 12
	results := make([]response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = h.post("/oauth2/token", "application/x-www-form-urlencoded", form, nil)
		}()
	}
	wg.Wait()
	granted, shed := 0, 0
	for _, r := range results {
		switch {
		case r.Status == http.StatusOK && r.str("access_token") != "":
			granted++
		case r.Status == http.StatusServiceUnavailable && r.str("error") == "temporarily_unavailable" && r.Header.Get("Retry-After") != "":
			shed++
		default:
			t.Errorf("status %d %s, want 200 with tokens or 503 temporarily_unavailable with Retry-After", r.Status, r.Raw)
		}
	}
	if granted == 0 || shed == 0 {
		t.Errorf("%d granted, %d shed; want both", granted, shed)
	}
	// Load shedding is counted as such, not as database trouble.
	m := scrape(t, h)
	if got := m["rotor_signin_shed_total"]; got != float64(shed) {
		t.Errorf("rotor_signin_shed_total = %v, want %d", got, shed)
	}
	if got := m["rotor_database_errors_total"]; got != 0 {
		t.Errorf("rotor_database_errors_total = %v, want 0", got)
	}
	// The shed attempts never reached the hashing pool, so they are not
	// failed guesses: the account signs in at once afterwards.
	if r := h.post("/oauth2/token", "application/x-www-form-urlencoded", form, nil); r.Status != http.StatusOK {
		t.Errorf("sign-in after the flood: %d %s, want 200", r.Status, r.Raw)
	}
}
