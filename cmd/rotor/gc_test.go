package main

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
)

// TestGCCommand revokes and rotates tokens, then runs `rotor gc` once on
// each database kind.
func TestGCCommand(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T) *instance
	}{
		{name: "sqlite", setup: func(t *testing.T) *instance { return newInstance(t) }},
		{name: "postgres", setup: func(t *testing.T) *instance { _, ins := replicas(t, 1); return ins[0] }},
	}
	deleted := regexp.MustCompile(`^deleted (\d+) rows\n$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.setup(t)
			setupUserAndClient(t, in)
			in.start()
			// The refresh retires the first access token: garbage. (The
			// second lives in the refresh token's row, which stays for reuse
			// detection until it expires.)
			tr := mustToken(t, in.baseURL(), passwordForm(publicClient, testEmail, testPassword))
			if tr.status != http.StatusOK {
				t.Fatalf("password grant: status %d error %q", tr.status, tr.Error)
			}
			rt := mustToken(t, in.baseURL(), refreshForm(publicClient, tr.RefreshToken))
			if rt.status != http.StatusOK {
				t.Fatalf("refresh: status %d error %q", rt.status, rt.Error)
			}
			if status, body := postForm(t, http.DefaultClient, in.baseURL(), "/oauth2/revoke",
				url.Values{"token": {rt.AccessToken}, "client_id": {publicClient}}); status != http.StatusOK {
				t.Fatalf("revoke: status %d: %s", status, body)
			}
			runs := []struct {
				name    string
				atLeast int
				atMost  int
			}{
				{name: "first run deletes the spent access token", atLeast: 1, atMost: 1 << 30},
				{name: "second run finds nothing", atLeast: 0, atMost: 0},
			}
			for _, r := range runs {
				t.Run(r.name, func(t *testing.T) {
					out := in.cli("", "gc") // fails the test on a non-zero exit
					m := deleted.FindStringSubmatch(out)
					if m == nil {
						t.Fatalf("output %q, want \"deleted N rows\"", out)
					}
					if n, _ := strconv.Atoi(m[1]); n < r.atLeast || n > r.atMost {
						t.Errorf("deleted %d rows, want %s", n, fmt.Sprintf("between %d and %d", r.atLeast, r.atMost))
					}
				})
			}
		})
	}
}
