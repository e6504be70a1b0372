package server_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"
)

// proxyIP is the loopback address the "load balancer" dials from.
const proxyIP = "127.0.0.1"

// TestThrottleBehindTrustedProxy: behind a trusted proxy, 21 failures from
// one client throttle that client's address only, not everyone else who
// comes through the same proxy; audit events name the client. A
// connection from elsewhere can't borrow the header.
func TestThrottleBehindTrustedProxy(t *testing.T) {
	const attacker, user = "203.0.113.66", "203.0.113.7"
	xff := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }
	for _, s := range signInSurfaces {
		t.Run(s.name, func(t *testing.T) {
			a := newAbuseHarness(t, abuseConfig{throttle: throttleOpts, oidc: true,
				proxies: []netip.Prefix{netip.MustParsePrefix(proxyIP + "/32")}})
			lb := clientFrom(t, proxyIP)
			for i := 1; i <= 21; i++ {
				s.wantFailed(t, s.try(t, a.harness, lb, fmt.Sprintf("user%d@example.com", i), "guess", xff(attacker)), fmt.Sprintf("failure %d", i))
			}
			s.wantThrottled(t, s.try(t, a.harness, lb, bobEmail, bobPassword, xff(attacker)), "bob from the attacker's address")
			// The same client, spelled as a proxy would also write it.
			s.wantThrottled(t, s.try(t, a.harness, lb, bobEmail, bobPassword, http.Header{"X-Forwarded-For": {"198.51.100.1, " + attacker + ":4711"}}), "attacker with a port and a spoofed left entry")
			s.wantThrottled(t, s.try(t, a.harness, lb, bobEmail, bobPassword, http.Header{"Forwarded": {`for="` + attacker + `:4711"`}}), "attacker via Forwarded")
			// Everyone else behind the same proxy signs in.
			s.wantOK(t, s.try(t, a.harness, lb, bobEmail, bobPassword, xff(user)), "bob from another address behind the proxy")
			s.wantOK(t, s.try(t, a.harness, lb, aliceEmail, alicePassword, xff("2001:db8::7")), "alice over IPv6 behind the proxy")

			// Failures were counted for the client, not the proxy.
			db := a.openDB()
			if n := a.queryInt(db, `SELECT COUNT(*) FROM login_throttle WHERE throttle_key = ?`, "ip:"+proxyIP); n != 0 {
				t.Errorf("login_throttle rows for the proxy: %d, want 0", n)
			}
			for _, e := range a.auditEvents() {
				if e.Type == "login_failed" && e.IP != attacker {
					t.Errorf("login_failed event with IP %q, want %q", e.IP, attacker)
				}
			}
		})
	}
}

// TestForwardedHeadersNeedTrust: with trusted proxies set, a connection
// from an address that is not one of them is judged by its own address,
// whatever X-Forwarded-For or Forwarded says.
func TestForwardedHeadersNeedTrust(t *testing.T) {
	s := signInSurfaces[0]
	a := newAbuseHarness(t, abuseConfig{throttle: throttleOpts,
		proxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	c := clientFrom(t, attackerIP)
	for i := 1; i <= 21; i++ {
		hdr := http.Header{"X-Forwarded-For": {fmt.Sprintf("203.0.113.%d", i)}, "Forwarded": {fmt.Sprintf("for=198.51.100.%d", i)}}
		s.wantFailed(t, s.try(t, a.harness, c, fmt.Sprintf("user%d@example.com", i), "guess", hdr), fmt.Sprintf("failure %d", i))
	}
	s.wantThrottled(t, s.try(t, a.harness, c, bobEmail, bobPassword, http.Header{"X-Forwarded-For": {"203.0.113.200"}}), "bob from the attacker's socket")
	for _, e := range a.auditEvents() {
		if e.Type == "login_failed" && e.IP != attackerIP {
			t.Errorf("login_failed event with IP %q, want the socket's %q", e.IP, attackerIP)
		}
	}
}

// TestThrottleIPv6ByPrefix: an IPv6 client picks any address of its /64,
// so failures count against the /64: 21 guesses from as many addresses
// of one /64 throttle the whole /64, not a neighbouring one.
func TestThrottleIPv6ByPrefix(t *testing.T) {
	s := signInSurfaces[0]
	a := newAbuseHarness(t, abuseConfig{throttle: throttleOpts,
		proxies: []netip.Prefix{netip.MustParsePrefix(proxyIP + "/32")}})
	lb := clientFrom(t, proxyIP)
	xff := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }
	for i := 1; i <= 21; i++ {
		s.wantFailed(t, s.try(t, a.harness, lb, fmt.Sprintf("user%d@example.com", i), "guess", xff(fmt.Sprintf("2001:db8:1:2::%x", i))), fmt.Sprintf("failure %d", i))
	}
	for _, ip := range []string{"2001:db8:1:2::ffff", "2001:db8:1:2:8000::1", "[2001:DB8:1:2:0:0:0:abcd]:443"} {
		s.wantThrottled(t, s.try(t, a.harness, lb, bobEmail, bobPassword, xff(ip)), "bob from "+ip)
	}
	s.wantOK(t, s.try(t, a.harness, lb, bobEmail, bobPassword, xff("2001:db8:1:3::1")), "bob from the next /64")
	for _, e := range a.auditEvents() {
		if e.Type == "login_failed" && e.IP == "2001:db8:1:2::/64" {
			t.Errorf("audit event names the /64, want the address")
		}
	}
}
