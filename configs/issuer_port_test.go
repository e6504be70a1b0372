package configs

import "testing"

// TestDefaultIssuerFollowsPort: with no issuer set, a loopback http.addr's
// port becomes the default issuer's, so discovery and the BFF point at the
// port the server listens on; a set issuer is kept as written.
func TestDefaultIssuerFollowsPort(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    string
	}{
		{name: "defaults", want: "http://localhost:8080"},
		{name: "IPv4 loopback port", environ: []string{"ROTOR_HTTP_ADDR=127.0.0.1:9099"}, want: "http://localhost:9099"},
		{name: "other 127/8 address", environ: []string{"ROTOR_HTTP_ADDR=127.0.0.5:9099"}, want: "http://localhost:9099"},
		{name: "IPv6 loopback", environ: []string{"ROTOR_HTTP_ADDR=[::1]:9099"}, want: "http://localhost:9099"},
		{name: "localhost", environ: []string{"ROTOR_HTTP_ADDR=localhost:9099"}, want: "http://localhost:9099"},
		{name: "explicit issuer kept", environ: []string{"ROTOR_HTTP_ADDR=127.0.0.1:9099", "ROTOR_ISSUER=http://localhost:8080"}, want: "http://localhost:8080"},
		{name: "explicit issuer on another host kept", environ: []string{"ROTOR_HTTP_ADDR=127.0.0.1:9099", "ROTOR_ISSUER=http://127.0.0.1:7000"}, want: "http://127.0.0.1:7000"},
		{name: "port 0 keeps the default", environ: []string{"ROTOR_HTTP_ADDR=127.0.0.1:0"}, want: "http://localhost:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Load("", tt.environ)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if cfg.Issuer != tt.want {
				t.Errorf("issuer = %q, want %q", cfg.Issuer, tt.want)
			}
		})
	}
}
