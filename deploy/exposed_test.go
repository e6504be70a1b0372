package deploy

import (
	"strconv"
	"strings"
	"testing"

	"github.com/rotorauth/rotor/configs"
)

// TestImageNeedsSecrets: the image listens on all interfaces, so without
// ROTOR_SECRETS_SYSTEM it refuses to start (one line naming the setting)
// rather than running on a generated secret; with it and the BFF's
// secret or the BFF off, it starts.
func TestImageNeedsSecrets(t *testing.T) {
	tests := []struct {
		name  string
		extra []string
		want  []string
	}{
		{name: "bare image", want: []string{"secrets.system: required", "bff.client_secret: required"}},
		{name: "system secret only", extra: []string{"ROTOR_SECRETS_SYSTEM=" + testSecret}, want: []string{"bff.client_secret: required"}},
		{name: "bff off", extra: []string{"ROTOR_SECRETS_SYSTEM=" + testSecret, "ROTOR_BFF_ENABLED=false"}},
		{name: "both secrets", extra: []string{"ROTOR_SECRETS_SYSTEM=" + testSecret, "ROTOR_BFF_CLIENT_SECRET=" + testSecret}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := configs.Load("", append(dockerfileEnv(t), tt.extra...))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("configs.Load: %v", err)
				}
				return
			}
			if err == nil || strings.Contains(err.Error(), "\n") {
				t.Fatalf("configs.Load = %v, want one line naming %q", err, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestComposeMetricsPrivate: the replicas serve /metrics on metrics.addr,
// apart from the public listener, and compose does not publish that port.
func TestComposeMetricsPrivate(t *testing.T) {
	p := mustLoadCompose(t, map[string]string{"ROTOR_SECRETS_SYSTEM": testSecret})
	for _, name := range rotorServices {
		t.Run(name, func(t *testing.T) {
			s := service(t, p, name)
			addr := envValue(t, s, "ROTOR_METRICS_ADDR")
			_, port, ok := strings.Cut(addr, ":")
			n, err := strconv.Atoi(port)
			if !ok || err != nil {
				t.Fatalf("ROTOR_METRICS_ADDR = %q, want host:port", addr)
			}
			if port == "8080" {
				t.Errorf("metrics on the public port %s", addr)
			}
			for _, pc := range s.Ports {
				if pc.Target == uint32(n) {
					t.Errorf("metrics port %d is published as %s", n, pc.Published)
				}
			}
		})
	}
}
