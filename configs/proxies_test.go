package configs

import (
	"slices"
	"testing"
)

// TestTrustedProxies: http.trusted_proxies takes CIDRs and bare addresses
// (as /32 or /128), from the file or comma-separated from the
// environment; anything else is named by its index.
func TestTrustedProxies(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  []string
		err   string
	}{
		{name: "empty by default", value: "", want: []string{}},
		{name: "CIDRs", value: "10.0.0.0/8, fd00::/8", want: []string{"10.0.0.0/8", "fd00::/8"}},
		{name: "bare addresses", value: "192.0.2.1,2001:db8::1", want: []string{"192.0.2.1/32", "2001:db8::1/128"}},
		{name: "host bits are masked", value: "10.1.2.3/8", want: []string{"10.0.0.0/8"}},
		{name: "IPv4-mapped address is IPv4", value: "::ffff:192.0.2.1", want: []string{"192.0.2.1/32"}},
		{name: "not an address", value: "10.0.0.0/8,lb.internal", err: `config: http.trusted_proxies[1]: "lb.internal" is not an IP address or CIDR`},
		{name: "bad prefix", value: "10.0.0.0/33", err: `config: http.trusted_proxies[0]: "10.0.0.0/33" is not a CIDR such as 10.0.0.0/8 or fd00::/8`},
		{name: "zone", value: "fe80::1%eth0", err: `config: http.trusted_proxies[0]: "fe80::1%eth0" is not an IP address or CIDR`},
		{name: "mapped range", value: "::ffff:10.0.0.0/104", err: `config: http.trusted_proxies[0]: "::ffff:10.0.0.0/104": write IPv4 ranges as IPv4`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var environ []string
			if tt.value != "" {
				environ = []string{"ROTOR_HTTP_TRUSTED_PROXIES=" + tt.value}
			}
			cfg, err := Load("", environ)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Load: %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got, err := cfg.HTTP.Proxies()
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			if s == nil {
				s = []string{}
			}
			if !slices.Equal(s, tt.want) {
				t.Errorf("proxies = %v, want %v", s, tt.want)
			}
		})
	}
}
