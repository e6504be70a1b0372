package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestBenchSetupPlantsNoKnownCredentials: bench --setup generates the
// bench user's password and the confidential client's secret (a new pair
// on every run), and accepts chosen ones only for a loopback-only server
// reached over loopback.
func TestBenchSetupPlantsNoKnownCredentials(t *testing.T) {
	const system = "ROTOR_SECRETS_SYSTEM=0123456789abcdef0123456789abcdef"
	t.Run("chosen credentials", func(t *testing.T) {
		tests := []struct {
			name    string
			environ []string
			args    []string
			wantErr string
		}{
			{name: "loopback-only server, loopback URL", args: []string{"--confidential-secret", "chosen-secret-0123456789abcdef0123", "--url", "http://127.0.0.1:1"}},
			{name: "loopback-only server, chosen password", args: []string{"--password", "chosen-password", "--url", "http://localhost:1"}},
			{name: "exposed server", environ: []string{"ROTOR_HTTP_ADDR=0.0.0.0:8080", system, "ROTOR_BFF_ENABLED=false"},
				args: []string{"--confidential-secret", "chosen-secret-0123456789abcdef0123", "--url", "http://127.0.0.1:1"}, wantErr: "would plant known credentials"},
			{name: "public issuer", environ: []string{"ROTOR_ISSUER=https://id.example.com", system, "ROTOR_BFF_ENABLED=false"},
				args: []string{"--password", "chosen-password", "--url", "http://127.0.0.1:1"}, wantErr: "would plant known credentials"},
			{name: "non-loopback URL", args: []string{"--password", "chosen-password", "--url", "http://192.0.2.1:8080"}, wantErr: "would plant known credentials"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				environ, _ := testEnv(t, tt.environ...)
				args := append([]string{"bench", "--setup", "--scenarios", ""}, tt.args...)
				r := runCLI(t, environ, "", args...)
				if tt.wantErr == "" {
					if r.err != nil {
						t.Fatalf("bench --setup: %v", r.err)
					}
					return
				}
				assertOneLineError(t, r.err, tt.wantErr)
			})
		}
	})

	t.Run("generated and rotated", func(t *testing.T) {
		in := newInstance(t)
		in.start()
		secretLine := regexp.MustCompile(`generated confidential-secret: (\S+)`)
		passwordLine := regexp.MustCompile(`generated password: (\S+)`)
		setup := func() (password, secret string) {
			out := in.cli("", "bench", "--setup", "--scenarios", "", "--url", in.baseURL())
			s, p := secretLine.FindStringSubmatch(out), passwordLine.FindStringSubmatch(out)
			if s == nil || p == nil || len(s[1]) < 40 || len(p[1]) < 40 {
				t.Fatalf("bench --setup printed no generated credentials:\n%s", out)
			}
			return p[1], s[1]
		}
		cc := url.Values{"grant_type": {"client_credentials"}}
		p1, s1 := setup()
		if r := mustToken(t, in.baseURL(), cc, "bench-service", s1); r.status != http.StatusOK {
			t.Fatalf("client_credentials with the generated secret: %d %s", r.status, r.Error)
		}
		// The secret and password bench used to plant for everyone.
		if r := mustToken(t, in.baseURL(), cc, "bench-service", "bench-service-secret-0123456789abcdef"); r.status != http.StatusUnauthorized {
			t.Errorf("client_credentials with the old fixed secret: %d, want 401", r.status)
		}
		if r := mustToken(t, in.baseURL(), passwordForm("bench-mobile", "bench@example.com", "bench-password-123")); r.status == http.StatusOK {
			t.Errorf("password grant with the old fixed password succeeded")
		}
		p2, s2 := setup()
		if p1 == p2 || s1 == s2 {
			t.Fatal("a second setup generated the same credentials")
		}
		if r := mustToken(t, in.baseURL(), passwordForm("bench-mobile", "bench@example.com", p2)); r.status != http.StatusOK {
			t.Errorf("password grant with the new password: %d %s", r.status, r.Error)
		}
		if r := mustToken(t, in.baseURL(), passwordForm("bench-mobile", "bench@example.com", p1)); r.status == http.StatusOK {
			t.Errorf("password grant with the first run's password still works")
		}
		if out := in.cli("", "clients", "delete", "bench-service"); !strings.Contains(out, "deleted") {
			t.Errorf("clients delete bench-service: %q", out)
		}
	})

	t.Run("without setup the credentials are required", func(t *testing.T) {
		environ, _ := testEnv(t)
		r := runCLI(t, environ, "", "bench", "--scenarios", "jwks,client_credentials", "--url", "http://127.0.0.1:1")
		assertOneLineError(t, r.err, "scenario client_credentials needs --confidential-secret")
	})
}
