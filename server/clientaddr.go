package server

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/rotorauth/rotor/storage"
)

// trustedProxies decide which address a request comes from. Empty (the
// default) trusts nobody: the address is the connection's, and
// X-Forwarded-For and Forwarded are ignored, since any client can send them.
//
// Behind trusted proxies the address is the right-most one in the chain
// that is not a trusted proxy: each proxy appends the address of whoever
// connected to it, so entries right of the first untrusted one were written
// by proxies we trust, and entries left of it by someone we don't.
//
// The chain is X-Forwarded-For when the request has one, otherwise the
// for= parameters of Forwarded (RFC 7239 §5.2); a proxy that writes only
// Forwarded must therefore drop a client's X-Forwarded-For. All header
// lines count, in order, as if joined by commas (RFC 9110 §5.3). An entry
// that does not parse as an address (RFC 7239 §6.3's "unknown" or an
// obfuscated identifier, or garbage) ends the walk: the answer is then the
// nearest hop already read, a trusted proxy, which no client can choose.
type trustedProxies []netip.Prefix

// clientAddr returns r's client address as a string without a port.
func (t trustedProxies) clientAddr(r *http.Request) string {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return socketHost(r.RemoteAddr)
	}
	if !t.trusts(peer) {
		return peer.String()
	}
	var chain []string
	if xff := r.Header.Values(echo.HeaderXForwardedFor); len(xff) > 0 {
		chain = splitList(xff)
	} else {
		chain = forwardedFor(r.Header.Values("Forwarded"))
	}
	addr := peer
	for i := len(chain) - 1; i >= 0; i-- {
		hop, ok := parseAddr(chain[i])
		if !ok {
			break
		}
		addr = hop
		if !t.trusts(hop) {
			break
		}
	}
	return addr.String()
}

func (t trustedProxies) trusts(a netip.Addr) bool {
	for _, p := range t {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// splitList splits comma-separated header lines into trimmed elements.
func splitList(lines []string) []string {
	var out []string
	for _, l := range lines {
		for e := range strings.SplitSeq(l, ",") {
			out = append(out, strings.TrimSpace(e))
		}
	}
	return out
}

// forwardedFor returns the for= value of each forwarded-element (RFC 7239
// §4), unquoted; an element without one yields "" (which ends the walk).
func forwardedFor(lines []string) []string {
	var out []string
	for _, elem := range splitList(lines) {
		v := ""
		for pair := range strings.SplitSeq(elem, ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
			if ok && strings.EqualFold(strings.TrimSpace(name), "for") {
				v = strings.TrimSpace(value)
				if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
					v = v[1 : len(v)-1]
				}
				break
			}
		}
		out = append(out, v)
	}
	return out
}

// parseAddr reads an address as proxies write it: 192.0.2.1, 2001:db8::1,
// with a port (192.0.2.1:443, [2001:db8::1]:443) or bracketed ([2001:db8::1],
// RFC 7239 §6). IPv4-mapped IPv6 addresses count as IPv4, and zones are
// refused, so one client has one spelling.
func parseAddr(s string) (netip.Addr, bool) {
	if s == "" || len(s) > 64 {
		return netip.Addr{}, false
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		s = ap.Addr().String()
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func socketHost(remote string) string {
	if host, _, err := net.SplitHostPort(remote); err == nil {
		return host
	}
	return remote
}

type sourceKey struct{}

// requestSource is who sent a request, as audit events name them.
type requestSource struct{ ip, userAgent string }

// clientAddress resolves the request's client address once, before any
// handler: throttling, audit events and the access log all use it, and so
// do the events storage records below the HTTP layer (WithAuditInfo).
func (s *Server) clientAddress(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		src := requestSource{ip: s.proxies.clientAddr(r), userAgent: r.UserAgent()}
		ctx := storage.WithAuditInfo(context.WithValue(r.Context(), sourceKey{}, src), src.ip, src.userAgent)
		c.SetRequest(r.WithContext(ctx))
		return next(c)
	}
}

func sourceOf(ctx context.Context) requestSource {
	src, _ := ctx.Value(sourceKey{}).(requestSource)
	return src
}

// clientIP is the address clientAddress resolved for r, or the
// connection's for a request that did not pass through it.
func clientIP(r *http.Request) string {
	if src, ok := r.Context().Value(sourceKey{}).(requestSource); ok {
		return src.ip
	}
	return socketHost(r.RemoteAddr)
}
