package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestExposedServeNeedsSecrets: `rotor serve` on a non-loopback address
// with the default loopback issuer refuses to start, in one line naming
// the missing settings, and generates no secret file.
func TestExposedServeNeedsSecrets(t *testing.T) {
	tests := []struct {
		name string
		addr string
		want string
	}{
		{name: "all interfaces", addr: "0.0.0.0:0", want: "secrets.system: required when the server is not loopback-only (issuer http://localhost:8080, http.addr 0.0.0.0:0)"},
		{name: "empty host", addr: ":0", want: "bff.client_secret: required when the server is not loopback-only"},
		{name: "IPv6 any", addr: "[::]:0", want: "turn the BFF off with bff.enabled: false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			environ, dataDir := testEnv(t, "ROTOR_HTTP_ADDR="+tt.addr)
			r := runCLI(t, environ, "", "serve")
			assertOneLineError(t, r.err, tt.want)
			if _, err := os.Stat(filepath.Join(dataDir, secretFileName)); !os.IsNotExist(err) {
				t.Errorf("a secret file was generated: %v", err)
			}
		})
	}
}
