package configs

import (
	"slices"
	"strings"
	"testing"
)

// kubernetesEnv is what the kubelet injects for a Service named rotor with
// cluster IP 10.96.12.34, TCP port 8080 named "http" and TCP port 9090
// named "metrics-http".
var kubernetesEnv = []string{
	"ROTOR_SERVICE_HOST=10.96.12.34",
	"ROTOR_SERVICE_PORT=8080",
	"ROTOR_SERVICE_PORT_HTTP=8080",
	"ROTOR_SERVICE_PORT_METRICS_HTTP=9090",
	"ROTOR_PORT=tcp://10.96.12.34:8080",
	"ROTOR_PORT_8080_TCP=tcp://10.96.12.34:8080",
	"ROTOR_PORT_8080_TCP_PROTO=tcp",
	"ROTOR_PORT_8080_TCP_PORT=8080",
	"ROTOR_PORT_8080_TCP_ADDR=10.96.12.34",
	"ROTOR_PORT_9090_TCP=tcp://10.96.12.34:9090",
	"ROTOR_PORT_9090_TCP_PROTO=tcp",
	"ROTOR_PORT_9090_TCP_PORT=9090",
	"ROTOR_PORT_9090_TCP_ADDR=10.96.12.34",
}

// TestKubernetesServiceLinksAreIgnored starts from a pod's environment:
// the service links don't stop Load, and settings next to them still apply.
func TestKubernetesServiceLinksAreIgnored(t *testing.T) {
	tests := []struct {
		name string
		env  []string
	}{
		{name: "TCP service with named ports", env: kubernetesEnv},
		{name: "IPv6 cluster IP", env: []string{
			"ROTOR_SERVICE_HOST=fd00:10:96::1a2b",
			"ROTOR_SERVICE_PORT=8080",
			"ROTOR_PORT=tcp://[fd00:10:96::1a2b]:8080",
			"ROTOR_PORT_8080_TCP=tcp://[fd00:10:96::1a2b]:8080",
			"ROTOR_PORT_8080_TCP_PROTO=tcp",
			"ROTOR_PORT_8080_TCP_PORT=8080",
			"ROTOR_PORT_8080_TCP_ADDR=fd00:10:96::1a2b",
		}},
		{name: "UDP and SCTP ports", env: []string{
			"ROTOR_PORT=udp://10.0.0.11:53",
			"ROTOR_PORT_53_UDP=udp://10.0.0.11:53",
			"ROTOR_PORT_53_UDP_PROTO=udp",
			"ROTOR_PORT_53_UDP_PORT=53",
			"ROTOR_PORT_53_UDP_ADDR=10.0.0.11",
			"ROTOR_PORT_9999_SCTP=sctp://10.0.0.11:9999",
			"ROTOR_PORT_9999_SCTP_PROTO=sctp",
			"ROTOR_SERVICE_PORT_DNS_1=53",
			"ROTOR_SERVICE_PORT_1DNS=53",
		}},
		{name: "Services named rotor-postgresql and rotor-metrics-2", env: []string{
			"ROTOR_POSTGRESQL_SERVICE_HOST=10.96.0.7",
			"ROTOR_POSTGRESQL_SERVICE_PORT=5432",
			"ROTOR_POSTGRESQL_SERVICE_PORT_TCP_POSTGRESQL=5432",
			"ROTOR_POSTGRESQL_PORT=tcp://10.96.0.7:5432",
			"ROTOR_POSTGRESQL_PORT_5432_TCP=tcp://10.96.0.7:5432",
			"ROTOR_POSTGRESQL_PORT_5432_TCP_PROTO=tcp",
			"ROTOR_POSTGRESQL_PORT_5432_TCP_PORT=5432",
			"ROTOR_POSTGRESQL_PORT_5432_TCP_ADDR=10.96.0.7",
			"ROTOR_METRICS_2_SERVICE_HOST=10.96.0.8",
			"ROTOR_METRICS_2_SERVICE_PORT=9090",
			"ROTOR_METRICS_2_PORT=tcp://10.96.0.8:9090",
			"ROTOR_METRICS_2_PORT_9090_TCP_ADDR=10.96.0.8",
		}},
		{name: "Services named after sections (rotor-http, rotor-database)", env: []string{
			"ROTOR_HTTP_SERVICE_HOST=10.96.0.9",
			"ROTOR_HTTP_SERVICE_PORT=80",
			"ROTOR_HTTP_PORT=tcp://10.96.0.9:80",
			"ROTOR_HTTP_PORT_80_TCP_PORT=80",
			"ROTOR_DATABASE_SERVICE_HOST=10.96.0.10",
			"ROTOR_DATABASE_PORT=tcp://10.96.0.10:5432",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append(slices.Clone(tt.env), "ROTOR_HTTP_ADDR=127.0.0.1:9000")
			c, err := Load("", env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if c.HTTP.Addr != "127.0.0.1:9000" {
				t.Errorf("http.addr = %q next to service links, want 127.0.0.1:9000", c.HTTP.Addr)
			}
			got := ServiceLinks(env)
			var want []string
			for _, kv := range tt.env {
				name, _, _ := strings.Cut(kv, "=")
				want = append(want, name)
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("ServiceLinks = %q, want %q", got, want)
			}
		})
	}
}

// TestNearMissesOfServiceLinksAreRefused: only the kubelet's exact shapes
// are ignored; a variable that merely looks like one is an unknown key.
func TestNearMissesOfServiceLinksAreRefused(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		wantKey string // the key the error names
	}{
		{"typo in a real key", "ROTOR_HTTP_ADR=:8080", "http.adr"},
		{"plural PORTS", "ROTOR_PORTS=tcp://10.0.0.11:8080", "ports"},
		{"plural SERVICE_HOSTS", "ROTOR_SERVICE_HOSTS=10.0.0.11", "service.hosts"},
		{"service host that is a host name", "ROTOR_SERVICE_HOST=rotor.example", "service.host"},
		{"service host with a port", "ROTOR_SERVICE_HOST=10.0.0.11:8080", "service.host"},
		{"service host empty", "ROTOR_SERVICE_HOST=", "service.host"},
		{"service port that is a name", "ROTOR_SERVICE_PORT=http", "service.port"},
		{"service port zero", "ROTOR_SERVICE_PORT=0", "service.port"},
		{"service port out of range", "ROTOR_SERVICE_PORT=65536", "service.port"},
		{"service port with a leading zero", "ROTOR_SERVICE_PORT=08080", "service.port"},
		{"service port with a sign", "ROTOR_SERVICE_PORT=+8080", "service.port"},
		{"service port with spaces", "ROTOR_SERVICE_PORT= 8080", "service.port"},
		{"named port without a name", "ROTOR_SERVICE_PORT_=8080", "service.port_"},
		{"named port in lower case", "ROTOR_SERVICE_PORT_http=8080", "service.port_http"},
		{"named port with a dash", "ROTOR_SERVICE_PORT_METRICS-HTTP=8080", "service.port_metrics-http"},
		{"named port of digits only", "ROTOR_SERVICE_PORT_8080=8080", "service.port_8080"},
		{"named port longer than 15", "ROTOR_SERVICE_PORT_ABCDEFGHIJKLMNOP=8080", "service.port_abcdefghijklmnop"},
		{"ROTOR_PORT meant as a setting", "ROTOR_PORT=8080", "port"},
		{"ROTOR_PORT with an http scheme", "ROTOR_PORT=http://10.0.0.11:8080", "port"},
		{"ROTOR_PORT with a host name", "ROTOR_PORT=tcp://rotor:8080", "port"},
		{"ROTOR_PORT with upper-case scheme", "ROTOR_PORT=TCP://10.0.0.11:8080", "port"},
		{"ROTOR_PORT with unbracketed IPv6", "ROTOR_PORT=tcp://fd00::1:8080", "port"},
		{"ROTOR_PORT with a path", "ROTOR_PORT=tcp://10.0.0.11:8080/", "port"},
		{"port link with an unknown protocol", "ROTOR_PORT_8080_HTTP=http://10.0.0.11:8080", "port.8080_http"},
		{"port link in lower case", "ROTOR_PORT_8080_tcp=tcp://10.0.0.11:8080", "port.8080_tcp"},
		{"port link whose port differs", "ROTOR_PORT_8080_TCP=tcp://10.0.0.11:9090", "port.8080_tcp"},
		{"port link whose protocol differs", "ROTOR_PORT_8080_TCP=udp://10.0.0.11:8080", "port.8080_tcp"},
		{"port link with a leading zero", "ROTOR_PORT_08080_TCP=tcp://10.0.0.11:8080", "port.08080_tcp"},
		{"port link without a protocol", "ROTOR_PORT_8080=tcp://10.0.0.11:8080", "port.8080"},
		{"PROTO that differs", "ROTOR_PORT_8080_TCP_PROTO=udp", "port.8080_tcp_proto"},
		{"PROTO in upper case", "ROTOR_PORT_8080_TCP_PROTO=TCP", "port.8080_tcp_proto"},
		{"PORT that differs", "ROTOR_PORT_8080_TCP_PORT=9090", "port.8080_tcp_port"},
		{"ADDR that is a host name", "ROTOR_PORT_8080_TCP_ADDR=rotor", "port.8080_tcp_addr"},
		{"unknown field", "ROTOR_PORT_8080_TCP_HOST=10.0.0.11", "port.8080_tcp_host"},
		{"field with a suffix", "ROTOR_PORT_8080_TCP_ADDR_X=10.0.0.11", "port.8080_tcp_addr_x"},
		{"another Service's host that is a host name", "ROTOR_POSTGRESQL_SERVICE_HOST=db", "postgresql.service_host"},
		{"another Service's ROTOR_X_PORT meant as a setting", "ROTOR_POSTGRESQL_PORT=5432", "postgresql.port"},
		{"another Service's name in lower case", "ROTOR_postgresql_SERVICE_PORT=5432", "postgresql.service_port"},
		{"another Service's name ending in a dash", "ROTOR_POSTGRESQL__SERVICE_PORT=5432", "postgresql._service_port"},
		{"another Service's name with a dash", "ROTOR_POSTGRES-QL_SERVICE_PORT=5432", "postgres-ql.service_port"},
		{"another Service's port link whose port differs", "ROTOR_POSTGRESQL_PORT_5432_TCP=tcp://10.0.0.11:5433", "postgresql.port_5432_tcp"},
		{"a real key with a link's value", "ROTOR_HTTP_ADR=tcp://10.0.0.11:8080", "http.adr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append(slices.Clone(kubernetesEnv), tt.env)
			_, err := Load("", env)
			if err == nil {
				t.Fatalf("Load accepted %s", tt.env)
			}
			name, _, _ := strings.Cut(tt.env, "=")
			want := `unknown key "` + tt.wantKey + `" (from ` + name + `)`
			if err.Error() != "config: "+want {
				t.Errorf("error %q, want only %q", err, "config: "+want)
			}
			if got := ServiceLinks([]string{tt.env}); len(got) != 0 {
				t.Errorf("ServiceLinks(%q) = %q, want none", tt.env, got)
			}
		})
	}
}

// TestServiceLinksCannotShadowKeys keeps the rule serviceLink relies on: a
// key named port, or in a section port or service, could be set by the
// kubelet's variables rather than by the operator; so could any key whose
// variable has a link's shape for some Service named rotor-<name>.
func TestServiceLinksCannotShadowKeys(t *testing.T) {
	values := []string{"10.0.0.11", "8080", "tcp://10.0.0.11:8080", "tcp", "udp", "sctp"}
	for key := range leafKeys {
		name := envPrefix + strings.ToUpper(strings.Replace(key, ".", "_", 1))
		for _, v := range values {
			if serviceLink(name, v) {
				t.Errorf("%s=%s, the variable of key %q, has a service link's shape", name, v, key)
			}
		}
	}
	for _, keys := range []map[string]bool{leafKeys, sectionKeys} {
		for key := range keys {
			section, _, _ := strings.Cut(key, ".")
			if section == "port" || section == "service" {
				t.Errorf("configuration key %q collides with Kubernetes service links (ROTOR_PORT*, ROTOR_SERVICE_*)", key)
			}
		}
	}
}
