package server_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/rotorauth/rotor/server"
)

// Client addresses: every test dials from these loopback addresses, so
// the server sees three different client IPs.
const (
	attackerIP = "127.0.0.2"
	userIP     = "127.0.0.3"
	spoofedIP  = "127.0.0.77"
)

// throttleOpts keeps the account cap low (4 s) so the backoff reaches it
// in a few steps; waits are taken on the store's clock, except where the
// test waits for real.
var throttleOpts = server.ThrottleOptions{AccountMaxDelay: 4 * time.Second, IPMaxDelay: 30 * time.Second}

// wait lets d pass for the throttle (which reads the store's clock).
func (h *harness) wait(d time.Duration) { h.storeClock.Advance(d) }

// TestSignInThrottle: password guessing on the password grant and on the
// login form is throttled per account and per client IP, with free
// attempts then exponential backoff, answered 429 with Retry-After; a
// success resets the account; nobody is locked out for longer than the
// documented bounds.
func TestSignInThrottle(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, s signInSurface, a *abuseHarness)
	}{
		{name: "account: 5 free failures, then backoff doubling to the cap", run: func(t *testing.T, s signInSurface, a *abuseHarness) {
			c := clientFrom(t, attackerIP)
			for i := 1; i <= 5; i++ {
				s.wantFailed(t, s.try(t, a.harness, c, aliceEmail, "wrong", nil), fmt.Sprintf("free failure %d", i))
			}
			// Failure 6 is still answered normally, and costs 1 s; each
			// further one (made once the wait is over) doubles it up to
			// the 4 s cap.
			for i, want := range []int{1, 2, 4, 4, 4} {
				s.wantFailed(t, s.try(t, a.harness, c, aliceEmail, "wrong", nil), fmt.Sprintf("failure %d", 6+i))
				// Even the right password is refused while the wait runs.
				got := s.wantThrottled(t, s.try(t, a.harness, c, aliceEmail, alicePassword, nil), fmt.Sprintf("right password after failure %d", 6+i))
				if got != want {
					t.Errorf("after failure %d: Retry-After %d, want %d", 6+i, got, want)
				}
				a.wait(time.Duration(got) * time.Second)
			}
			// Waiting Retry-After is enough: backoff, not lockout.
			s.wantOK(t, s.try(t, a.harness, c, aliceEmail, alicePassword, nil), "right password after the wait")
		}},
		{name: "account: waiting Retry-After in real time unblocks", run: func(t *testing.T, s signInSurface, a *abuseHarness) {
			c := clientFrom(t, attackerIP)
			for i := 1; i <= 6; i++ {
				s.wantFailed(t, s.try(t, a.harness, c, aliceEmail, "wrong", nil), fmt.Sprintf("failure %d", i))
			}
			secs := s.wantThrottled(t, s.try(t, a.harness, c, aliceEmail, alicePassword, nil), "right password while blocked")
			time.Sleep(time.Duration(secs)*time.Second + 50*time.Millisecond)
			s.wantOK(t, s.try(t, a.harness, c, aliceEmail, alicePassword, nil), "right password after sleeping Retry-After")
		}},
		{name: "account: a success resets the count", run: func(t *testing.T, s signInSurface, a *abuseHarness) {
			c := clientFrom(t, userIP)
			for i := 1; i <= 6; i++ {
				s.wantFailed(t, s.try(t, a.harness, c, aliceEmail, "wrong", nil), fmt.Sprintf("failure %d", i))
			}
			secs := s.wantThrottled(t, s.try(t, a.harness, c, aliceEmail, alicePassword, nil), "blocked")
			a.wait(time.Duration(secs) * time.Second)
			s.wantOK(t, s.try(t, a.harness, c, aliceEmail, alicePassword, nil), "success after the wait")
			// Without the reset, the next failure would be the 7th and
			// block for 2 s; with it, five are free again.
			for i := 1; i <= 5; i++ {
				s.wantFailed(t, s.try(t, a.harness, c, aliceEmail, "wrong", nil), fmt.Sprintf("free failure %d after the success", i))
			}
			s.wantOK(t, s.try(t, a.harness, c, aliceEmail, alicePassword, nil), "success after five new failures")
			// Another account is unaffected by all this.
			s.wantOK(t, s.try(t, a.harness, c, bobEmail, bobPassword, nil), "bob")
		}},
		{name: "account: an attack from elsewhere delays the real user by at most account_max_delay", run: func(t *testing.T, s signInSurface, a *abuseHarness) {
			attacker := clientFrom(t, attackerIP)
			for i := 1; i <= 12; i++ {
				r := s.try(t, a.harness, attacker, aliceEmail, fmt.Sprintf("guess-%d", i), nil)
				if r.Status == http.StatusTooManyRequests {
					secs := s.wantThrottled(t, r, "attacker")
					if time.Duration(secs)*time.Second > throttleOpts.AccountMaxDelay {
						t.Fatalf("attacker's guess %d: Retry-After %d s beyond account_max_delay %s", i, secs, throttleOpts.AccountMaxDelay)
					}
					a.wait(time.Duration(secs) * time.Second)
					r = s.try(t, a.harness, attacker, aliceEmail, fmt.Sprintf("guess-%d", i), nil)
				}
				s.wantFailed(t, r, fmt.Sprintf("attacker's guess %d", i))
			}
			// The account is now at its cap. Alice, from an address with no
			// failures, waits at most the cap and is then let in.
			user := clientFrom(t, userIP)
			secs := s.wantThrottled(t, s.try(t, a.harness, user, aliceEmail, alicePassword, nil), "alice from a clean IP")
			if time.Duration(secs)*time.Second > throttleOpts.AccountMaxDelay {
				t.Fatalf("alice waits %d s, beyond account_max_delay %s", secs, throttleOpts.AccountMaxDelay)
			}
			a.wait(time.Duration(secs) * time.Second)
			s.wantOK(t, s.try(t, a.harness, user, aliceEmail, alicePassword, nil), "alice after the wait")
		}},
		{name: "IP: 20 free failures, then every account from that IP waits; X-Forwarded-For does not escape", run: func(t *testing.T, s signInSurface, a *abuseHarness) {
			attacker := clientFrom(t, attackerIP)
			// One guess per account: no account reaches its limit.
			for i := 1; i <= 21; i++ {
				s.wantFailed(t, s.try(t, a.harness, attacker, fmt.Sprintf("user%d@example.com", i), "guess", nil), fmt.Sprintf("failure %d", i))
			}
			s.wantThrottled(t, s.try(t, a.harness, attacker, bobEmail, bobPassword, nil), "bob from the attacker's IP")
			for _, hdr := range []http.Header{
				{"X-Forwarded-For": {spoofedIP}},
				{"X-Forwarded-For": {spoofedIP + ", 10.0.0.1"}},
				{"X-Real-Ip": {spoofedIP}},
				{"Forwarded": {"for=" + spoofedIP}},
			} {
				s.wantThrottled(t, s.try(t, a.harness, attacker, bobEmail, bobPassword, hdr), fmt.Sprintf("bob from the attacker's IP with %v", hdr))
			}
			// Another address is not affected, for the same account.
			s.wantOK(t, s.try(t, a.harness, clientFrom(t, userIP), bobEmail, bobPassword, nil), "bob from another IP")
			// The IP's block is backoff too, capped by ip_max_delay.
			a.wait(time.Second)
			s.wantOK(t, s.try(t, a.harness, attacker, bobEmail, bobPassword, nil), "bob from the attacker's IP after the wait")
		}},
		{name: "replicas: a second server on the same database sees the block and the reset", run: func(t *testing.T, s signInSurface, a *abuseHarness) {
			replica := a.replica(t)
			c := clientFrom(t, attackerIP)
			for i := 1; i <= 6; i++ {
				s.wantFailed(t, s.try(t, a.harness, c, aliceEmail, "wrong", nil), fmt.Sprintf("failure %d on the first server", i))
			}
			s.wantThrottled(t, s.try(t, replica, c, aliceEmail, alicePassword, nil), "right password on the replica")
			a.wait(time.Second)
			s.wantOK(t, s.try(t, replica, c, aliceEmail, alicePassword, nil), "right password on the replica after the wait")
			// The replica's success reset the account for the first server.
			for i := 1; i <= 5; i++ {
				s.wantFailed(t, s.try(t, a.harness, c, aliceEmail, "wrong", nil), fmt.Sprintf("free failure %d after the reset", i))
			}
			s.wantOK(t, s.try(t, a.harness, c, aliceEmail, alicePassword, nil), "first server after the reset")
		}},
	}
	for _, s := range signInSurfaces {
		t.Run(s.name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					a := newAbuseHarness(t, abuseConfig{throttle: throttleOpts, oidc: true})
					sc.run(t, s, a)
				})
			}
		})
	}
}

// TestThrottleDefaults: without options the documented caps apply, and
// the block is visible in the database (so every replica shares it).
func TestThrottleDefaults(t *testing.T) {
	a := newAbuseHarness(t, abuseConfig{})
	s := signInSurfaces[0]
	c := clientFrom(t, attackerIP)
	for i := 1; i <= 40; i++ {
		r := s.try(t, a.harness, c, aliceEmail, "wrong", nil)
		if r.Status == http.StatusTooManyRequests {
			secs := s.wantThrottled(t, r, "blocked")
			if secs > 60 {
				t.Fatalf("account wait %d s beyond the default account_max_delay of 1m", secs)
			}
			a.wait(time.Duration(secs) * time.Second)
			continue
		}
		s.wantFailed(t, r, fmt.Sprintf("failure %d", i))
	}
	db := a.openDB()
	if n := a.queryInt(db, `SELECT COUNT(*) FROM login_throttle WHERE throttle_key = ?`, "acct:"+aliceEmail); n != 1 {
		t.Errorf("login_throttle rows for alice: %d, want 1", n)
	}
	if n := a.queryInt(db, `SELECT failures FROM login_throttle WHERE throttle_key = ?`, "ip:"+attackerIP); n < 20 {
		t.Errorf("failures counted for the attacker's IP: %d, want at least 20", n)
	}
}
