package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rotorauth/rotor/server"
	"github.com/rotorauth/rotor/storage"
)

// exposedServer is a real server over a fresh SQLite file, with mutate
// applied to its options, served through its handler in-process.
func exposedServer(t *testing.T, mutate func(*server.Options)) http.Handler {
	t.Helper()
	h := newBareHarness(t)
	h.openStore(t, storage.Options{})
	h.URL = "http://127.0.0.1:8080"
	return h.newServer(t, h.store, newTestKeys(t, h.store, nil), mutate).Handler()
}

// TestStrictTransportSecurity: an https issuer's responses, every kind,
// carry HSTS (RFC 6797 §6.1), also when TLS ends at a proxy; an http
// (loopback) issuer's don't.
func TestStrictTransportSecurity(t *testing.T) {
	const want = "max-age=63072000; includeSubDomains"
	paths := []struct{ method, path string }{
		{"GET", "/.well-known/openid-configuration"},
		{"GET", "/.well-known/jwks.json"},
		{"POST", "/oauth2/token"},
		{"GET", "/oauth2/authorize"},
		{"GET", "/oauth2/logout"},
		{"GET", "/healthz"},
		{"GET", "/no-such-page"},
	}
	tests := []struct {
		name, issuer, want string
	}{
		{name: "https issuer", issuer: "https://id.example.com", want: want},
		{name: "https issuer with a path", issuer: "https://example.com/id", want: want},
		{name: "https issuer with an upper-case scheme", issuer: "HTTPS://id.example.com", want: want},
		{name: "https issuer with a mixed-case scheme", issuer: "Https://id.example.com", want: want},
		{name: "http loopback issuer", issuer: "http://127.0.0.1:8080", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := exposedServer(t, func(o *server.Options) { o.Issuer = tt.issuer })
			for _, p := range paths {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest(p.method, p.path, strings.NewReader(""))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				h.ServeHTTP(rec, req)
				if got := rec.Header().Get("Strict-Transport-Security"); got != tt.want {
					t.Errorf("%s %s (%d): Strict-Transport-Security %q, want %q", p.method, p.path, rec.Code, got, tt.want)
				}
			}
		})
	}
}

// TestCookiesSecureUnlessLoopbackOnly: an http issuer's cookies lack
// Secure only while the server listens on loopback alone.
func TestCookiesSecureUnlessLoopbackOnly(t *testing.T) {
	tests := []struct {
		name       string
		issuer     string
		public     bool
		wantSecure bool
	}{
		{name: "loopback-only http", issuer: "http://127.0.0.1:8080", wantSecure: false},
		{name: "http issuer, public listener", issuer: "http://127.0.0.1:8080", public: true, wantSecure: true},
		{name: "https issuer", issuer: "https://id.example.com", wantSecure: true},
		{name: "https issuer, public listener", issuer: "https://id.example.com", public: true, wantSecure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := exposedServer(t, func(o *server.Options) { o.Issuer, o.PublicListener = tt.issuer, tt.public })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/oauth2/logout", nil))
			cookies := rec.Result().Cookies()
			if len(cookies) == 0 {
				t.Fatalf("GET /oauth2/logout (%d) set no cookie", rec.Code)
			}
			for _, c := range cookies {
				if c.Secure != tt.wantSecure {
					t.Errorf("cookie %s: Secure %v, want %v", c.Name, c.Secure, tt.wantSecure)
				}
			}
		})
	}
}
