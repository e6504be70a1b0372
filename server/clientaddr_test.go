package server

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"
)

func mustProxies(t testing.TB, cidrs ...string) trustedProxies {
	t.Helper()
	var out trustedProxies
	for _, c := range cidrs {
		out = append(out, netip.MustParsePrefix(c))
	}
	return out
}

// TestClientAddr: the client address is the right-most untrusted hop of
// X-Forwarded-For (else Forwarded), only for a connection from a trusted
// proxy; anything else gets the connection's address.
func TestClientAddr(t *testing.T) {
	lb := mustProxies(t, "10.0.0.0/8", "2001:db8:1::/48")
	tests := []struct {
		name    string
		proxies trustedProxies
		remote  string
		header  http.Header
		want    string
	}{
		{name: "no proxies: the socket", remote: "198.51.100.1:5000", want: "198.51.100.1"},
		{name: "no proxies: XFF ignored", remote: "198.51.100.1:5000", header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}, want: "198.51.100.1"},
		{name: "no proxies: Forwarded ignored", remote: "198.51.100.1:5000", header: http.Header{"Forwarded": {"for=203.0.113.9"}}, want: "198.51.100.1"},
		{name: "no proxies: even from loopback", remote: "127.0.0.1:5000", header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}, want: "127.0.0.1"},
		{name: "untrusted peer: XFF ignored", proxies: lb, remote: "198.51.100.1:5000", header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}, want: "198.51.100.1"},
		{name: "untrusted peer: loopback not trusted by default", proxies: lb, remote: "127.0.0.1:5000", header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}, want: "127.0.0.1"},
		{name: "trusted peer: XFF client", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}, want: "203.0.113.9"},
		{name: "trusted peer, no header: the proxy", proxies: lb, remote: "10.1.2.3:5000", want: "10.1.2.3"},
		{name: "spoofed left entries are skipped", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"1.1.1.1, 2.2.2.2, 203.0.113.9"}}, want: "203.0.113.9"},
		{name: "chain of trusted proxies", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"6.6.6.6, 203.0.113.9, 10.9.9.9, 10.8.8.8"}}, want: "203.0.113.9"},
		{name: "several header lines count in order", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"6.6.6.6", "203.0.113.9, 10.9.9.9"}}, want: "203.0.113.9"},
		{name: "whitespace", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"  6.6.6.6 ,\t203.0.113.9  "}}, want: "203.0.113.9"},
		{name: "XFF with port", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"203.0.113.9:4711"}}, want: "203.0.113.9"},
		{name: "XFF IPv6", proxies: lb, remote: "[2001:db8:1::5]:5000", header: http.Header{"X-Forwarded-For": {"2001:db8:9::1"}}, want: "2001:db8:9::1"},
		{name: "XFF IPv6 bracketed with port", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"[2001:db8:9::1]:443"}}, want: "2001:db8:9::1"},
		{name: "XFF IPv4-mapped is IPv4", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"::ffff:203.0.113.9"}}, want: "203.0.113.9"},
		{name: "IPv4-mapped peer is trusted as IPv4", proxies: lb, remote: "[::ffff:10.1.2.3]:5000", header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}, want: "203.0.113.9"},
		{name: "all trusted: the left-most", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"10.7.7.7, 10.9.9.9"}}, want: "10.7.7.7"},
		{name: "malformed right-most: the proxy", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"203.0.113.9, garbage"}}, want: "10.1.2.3"},
		{name: "malformed behind a trusted hop: that hop", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"203.0.113.9, unknown, 10.9.9.9"}}, want: "10.9.9.9"},
		{name: "malformed left of the client is never read", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"garbage, 203.0.113.9"}}, want: "203.0.113.9"},
		{name: "empty XFF: the proxy", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {""}}, want: "10.1.2.3"},
		{name: "empty element: the proxy", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"203.0.113.9,,"}}, want: "10.1.2.3"},
		{name: "zone refused", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"fe80::1%eth0"}}, want: "10.1.2.3"},
		{name: "oversized entry refused", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {strings.Repeat("1", 100)}}, want: "10.1.2.3"},
		{name: "Forwarded for=", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"Forwarded": {"for=203.0.113.9;proto=https"}}, want: "203.0.113.9"},
		{name: "Forwarded case and spaces", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"Forwarded": {"proto=https; For = 203.0.113.9"}}, want: "203.0.113.9"},
		{name: "Forwarded quoted IPv6 with port", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"Forwarded": {`for="[2001:db8:9::1]:4711"`}}, want: "2001:db8:9::1"},
		{name: "Forwarded quoted IPv6", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"Forwarded": {`for="[2001:db8:9::1]"`}}, want: "2001:db8:9::1"},
		{name: "Forwarded chain", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"Forwarded": {"for=6.6.6.6, for=203.0.113.9", "for=10.9.9.9;by=10.1.2.3"}}, want: "203.0.113.9"},
		{name: "Forwarded obfuscated: the proxy", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"Forwarded": {"for=_hidden"}}, want: "10.1.2.3"},
		{name: "Forwarded unknown: the proxy", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"Forwarded": {"for=unknown"}}, want: "10.1.2.3"},
		{name: "Forwarded element without for: the proxy", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"Forwarded": {"for=203.0.113.9, proto=https"}}, want: "10.1.2.3"},
		{name: "both headers: X-Forwarded-For wins", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Forwarded-For": {"203.0.113.9"}, "Forwarded": {"for=6.6.6.6"}}, want: "203.0.113.9"},
		{name: "X-Real-Ip is never read", proxies: lb, remote: "10.1.2.3:5000", header: http.Header{"X-Real-Ip": {"6.6.6.6"}}, want: "10.1.2.3"},
		{name: "single-address proxy", proxies: mustProxies(t, "127.0.0.1/32"), remote: "127.0.0.1:5000", header: http.Header{"X-Forwarded-For": {"203.0.113.9"}}, want: "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tt.remote, Header: tt.header}
			if r.Header == nil {
				r.Header = http.Header{}
			}
			if got := tt.proxies.clientAddr(r); got != tt.want {
				t.Errorf("clientAddr = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzClientAddr: no header makes the extractor panic, and its answer is
// always an address: the connection's when the peer is not trusted,
// otherwise one that parses.
func FuzzClientAddr(f *testing.F) {
	for _, s := range [][2]string{
		{"203.0.113.9", ""},
		{"1.1.1.1, 203.0.113.9, 10.9.9.9", ""},
		{"[2001:db8::1]:443, garbage", ""},
		{"", `for="[2001:db8::1]:4711";proto=https, for=_x`},
		{"", `for=unknown, For = 10.0.0.1`},
		{"::ffff:10.0.0.1", `for="`},
	} {
		f.Add(s[0], s[1], true)
		f.Add(s[0], s[1], false)
	}
	proxies := mustProxies(f, "10.0.0.0/8", "2001:db8::/32")
	f.Fuzz(func(t *testing.T, xff, fwd string, trusted bool) {
		remote, peer := "198.51.100.1:5000", "198.51.100.1"
		if trusted {
			remote, peer = "10.1.2.3:5000", "10.1.2.3"
		}
		h := http.Header{}
		if xff != "" {
			h["X-Forwarded-For"] = strings.Split(xff, "\n")
		}
		if fwd != "" {
			h["Forwarded"] = strings.Split(fwd, "\n")
		}
		got := proxies.clientAddr(&http.Request{RemoteAddr: remote, Header: h})
		a, err := netip.ParseAddr(got)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			t.Fatalf("clientAddr = %q: not a plain address", got)
		}
		if !trusted && got != peer {
			t.Fatalf("untrusted peer: clientAddr = %q, want %q", got, peer)
		}
	})
}
