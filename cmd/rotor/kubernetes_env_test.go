package main

import (
	"strings"
	"testing"
)

// TestKubernetesServiceLinks runs the CLI in a pod's environment: the
// variables Kubernetes injects for a Service named rotor are logged at
// debug level and ignored; a typo in a real key still stops start-up.
func TestKubernetesServiceLinks(t *testing.T) {
	links := []string{
		"ROTOR_SERVICE_HOST=10.96.12.34",
		"ROTOR_SERVICE_PORT=8080",
		"ROTOR_SERVICE_PORT_HTTP=8080",
		"ROTOR_PORT=tcp://10.96.12.34:8080",
		"ROTOR_PORT_8080_TCP=tcp://10.96.12.34:8080",
		"ROTOR_PORT_8080_TCP_PROTO=tcp",
		"ROTOR_PORT_8080_TCP_PORT=8080",
		"ROTOR_PORT_8080_TCP_ADDR=10.96.12.34",
	}
	tests := []struct {
		name      string
		extra     []string
		wantErr   string // "" means the command succeeds
		wantDebug bool
	}{
		{name: "service links at debug level are logged", extra: []string{"ROTOR_LOG_LEVEL=debug"}, wantDebug: true},
		{name: "service links at info level are silent", extra: []string{"ROTOR_LOG_LEVEL=info"}},
		{name: "a typo next to them is refused", extra: []string{"ROTOR_HTTP_ADR=:8080"}, wantErr: `unknown key "http.adr" (from ROTOR_HTTP_ADR)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			environ, _ := testEnv(t, append(links, tt.extra...)...)
			r := runCLI(t, environ, "", "migrate")
			if tt.wantErr != "" {
				assertOneLineError(t, r.err, tt.wantErr)
				if strings.Contains(r.err.Error(), "ROTOR_PORT") || strings.Contains(r.err.Error(), "ROTOR_SERVICE") {
					t.Errorf("error names a service link: %v", r.err)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("rotor migrate: %v\nstderr: %s", r.err, r.stderr)
			}
			logged := strings.Contains(r.stderr, `"msg":"ignored Kubernetes service-link variables"`) &&
				strings.Contains(r.stderr, `"ROTOR_PORT_8080_TCP_ADDR"`)
			if logged != tt.wantDebug {
				t.Errorf("logged the ignored names: %v, want %v\nstderr: %s", logged, tt.wantDebug, r.stderr)
			}
		})
	}
}
