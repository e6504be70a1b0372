package configs

import (
	"strings"
	"testing"
)

// TestExposedServerNeedsSecrets: the loopback shortcuts (a generated
// system secret, a self-registered BFF client) apply only when both the
// issuer and http.addr are loopback; otherwise start-up names what is
// missing in one line.
func TestExposedServerNeedsSecrets(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	const sysMissing = "secrets.system: required when the server is not loopback-only"
	const bffMissing = "bff.client_secret: required when the server is not loopback-only"
	tests := []struct {
		name    string
		environ []string
		want    []string // fragments of the one-line error; none: valid
	}{
		{name: "defaults are loopback-only", environ: nil},
		{name: "127.0.0.2 listener is loopback", environ: []string{"ROTOR_HTTP_ADDR=127.0.0.2:8080"}},
		{name: "IPv6 loopback listener", environ: []string{"ROTOR_HTTP_ADDR=[::1]:8080"}},
		{name: "localhost listener", environ: []string{"ROTOR_HTTP_ADDR=localhost:8080"}},
		{name: "all interfaces, IPv4", environ: []string{"ROTOR_HTTP_ADDR=0.0.0.0:8080"},
			want: []string{sysMissing + " (issuer http://localhost:8080, http.addr 0.0.0.0:8080)", bffMissing, "bff.enabled: false"}},
		{name: "all interfaces, empty host", environ: []string{"ROTOR_HTTP_ADDR=:8080"}, want: []string{sysMissing, bffMissing}},
		{name: "all interfaces, IPv6", environ: []string{"ROTOR_HTTP_ADDR=[::]:8080"}, want: []string{sysMissing, bffMissing}},
		{name: "a public address", environ: []string{"ROTOR_HTTP_ADDR=192.0.2.10:8080"}, want: []string{sysMissing, bffMissing}},
		{name: "a host name", environ: []string{"ROTOR_HTTP_ADDR=rotor.internal:8080"}, want: []string{sysMissing, bffMissing}},
		{name: "public issuer on loopback listener", environ: []string{"ROTOR_ISSUER=https://id.example.com"}, want: []string{sysMissing, bffMissing}},
		{name: "exposed with the system secret, BFF off", environ: []string{"ROTOR_HTTP_ADDR=0.0.0.0:8080", "ROTOR_SECRETS_SYSTEM=" + secret, "ROTOR_BFF_ENABLED=false"}},
		{name: "exposed with both secrets", environ: []string{"ROTOR_HTTP_ADDR=0.0.0.0:8080", "ROTOR_SECRETS_SYSTEM=" + secret, "ROTOR_BFF_CLIENT_SECRET=" + secret}},
		{name: "exposed, BFF secret only", environ: []string{"ROTOR_HTTP_ADDR=0.0.0.0:8080", "ROTOR_BFF_CLIENT_SECRET=" + secret}, want: []string{sysMissing}},
		{name: "exposed, system secret only", environ: []string{"ROTOR_HTTP_ADDR=0.0.0.0:8080", "ROTOR_SECRETS_SYSTEM=" + secret}, want: []string{bffMissing}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load("", tt.environ)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded, want an error with %q", tt.want)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}
