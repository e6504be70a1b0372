package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/rotorauth/rotor/server"
)

// TestBodyLimits: oversized bodies to the browser forms and the OAuth
// endpoints are refused with a 4xx, never a 500 and never parsed.
func TestBodyLimits(t *testing.T) {
	a := newAbuseHarness(t, abuseConfig{oidc: true})
	big := "username=" + url.QueryEscape(aliceEmail) + "&password=x&pad=" + strings.Repeat("a", 100<<10)
	tests := []struct {
		name    string
		path    string
		chunked bool // no Content-Length: the limit must hold while reading
		status  int
		code    string // OAuth error for JSON answers
	}{
		{name: "login", path: "/login", status: http.StatusRequestEntityTooLarge, code: "Request Entity Too Large"},
		{name: "login, chunked", path: "/login", chunked: true, status: http.StatusForbidden},
		{name: "consent", path: "/consent", status: http.StatusRequestEntityTooLarge, code: "Request Entity Too Large"},
		{name: "logout", path: "/oauth2/logout", status: http.StatusRequestEntityTooLarge, code: "Request Entity Too Large"},
		{name: "userinfo", path: "/userinfo", status: http.StatusRequestEntityTooLarge, code: "Request Entity Too Large"},
		{name: "token", path: "/oauth2/token", status: http.StatusBadRequest, code: "invalid_request"},
		{name: "token, chunked", path: "/oauth2/token", chunked: true, status: http.StatusBadRequest, code: "invalid_request"},
		{name: "revoke", path: "/oauth2/revoke", status: http.StatusBadRequest, code: "invalid_request"},
		{name: "introspect", path: "/oauth2/introspect", status: http.StatusBadRequest, code: "invalid_request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a.t = t
			var body io.Reader = strings.NewReader(big)
			if tc.chunked {
				body = io.MultiReader(strings.NewReader(big)) // unknown length
			}
			req, err := http.NewRequest(http.MethodPost, a.URL+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(webClient.ID, webClient.Secret)
			r := a.do(req)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d (body %.200s)", r.Status, tc.status, r.Raw)
			}
			if tc.code != "" && r.str("error") != tc.code {
				t.Errorf("error %q, want %q (body %.200s)", r.str("error"), tc.code, r.Raw)
			}
		})
	}
	a.t = t
	a.login(webClient, aliceEmail, alicePassword, "")
}

// TestHugeHeaderRefused: under server.Serve, request headers beyond the
// 32 KiB limit are refused with 431 before any handler runs.
func TestHugeHeaderRefused(t *testing.T) {
	a := newAbuseHarness(t, abuseConfig{})
	addr := a.serveReal(t, server.Timeouts{ReadHeader: 5 * time.Second, Read: 5 * time.Second, Write: 5 * time.Second,
		Idle: 5 * time.Second, Shutdown: 2 * time.Second})
	tests := []struct {
		name   string
		header string
		status int
	}{
		{name: "huge Authorization", header: "Authorization: Basic " + strings.Repeat("A", 64<<10), status: http.StatusRequestHeaderFieldsTooLarge},
		{name: "many headers", header: strings.Repeat("X-Pad: "+strings.Repeat("b", 100)+"\r\n", 400) + "X-End: 1", status: http.StatusRequestHeaderFieldsTooLarge},
		{name: "small Authorization", header: "Authorization: Basic !!!notbase64", status: http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second)) // hang guard
			body := "grant_type=client_credentials"
			go func() {
				_, _ = io.WriteString(conn, "POST /oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"+
					"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 29\r\n"+tc.header+"\r\n\r\n"+body)
			}()
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			defer res.Body.Close()
			if res.StatusCode != tc.status {
				b, _ := io.ReadAll(res.Body)
				t.Errorf("status %d, want %d (body %.200s)", res.StatusCode, tc.status, b)
			}
		})
	}
}

// TestSecurityHeaders: every HTML page forbids framing, sniffing,
// referrers and inline script, and carries none.
func TestSecurityHeaders(t *testing.T) {
	a := newAbuseHarness(t, abuseConfig{oidc: true, bff: true, throttle: throttleOpts})
	b := a.newBrowser(t)
	get := func(path string) page { return b.get(a.URL + path) }
	tests := []struct {
		name   string
		open   func(t *testing.T) page
		status int
	}{
		{name: "login page", status: http.StatusOK, open: func(t *testing.T) page {
			v, _ := acParams(acFirstParty, "openid")
			return b.open(a.acAuthorizeURL(v))
		}},
		{name: "login page after a wrong password", status: http.StatusUnauthorized, open: func(t *testing.T) page {
			v, _ := acParams(acFirstParty, "openid")
			return b.login(b.open(a.acAuthorizeURL(v)), aliceEmail, "wrong")
		}},
		{name: "login page, throttled", status: http.StatusTooManyRequests, open: func(t *testing.T) page {
			v, _ := acParams(acFirstParty, "openid")
			p := b.open(a.acAuthorizeURL(v))
			for range 6 {
				p = b.login(p, bobEmail, "wrong")
			}
			return b.login(p, bobEmail, "wrong")
		}},
		{name: "consent page", status: http.StatusOK, open: func(t *testing.T) page {
			v, _ := acParams(acApp, "openid email")
			p := b.open(a.acAuthorizeURL(v))
			if hasForm(p, "/login") {
				p = b.follow(b.login(p, aliceEmail, alicePassword))
			}
			mustForm(t, p, "/consent")
			return p
		}},
		{name: "error page: unknown client", status: http.StatusBadRequest, open: func(t *testing.T) page {
			return get("/oauth2/authorize?response_type=code&client_id=nobody&redirect_uri=https%3A%2F%2Fevil.example%2F")
		}},
		{name: "error page: expired form", status: http.StatusForbidden, open: func(t *testing.T) page {
			return b.post(a.URL+"/login", url.Values{"username": {aliceEmail}, "password": {alicePassword}})
		}},
		{name: "logout page", status: http.StatusOK, open: func(t *testing.T) page { return get("/oauth2/logout") }},
		{name: "signed-out page", status: http.StatusOK, open: func(t *testing.T) page {
			p := get("/oauth2/logout")
			return b.submit(p, mustForm(t, p, "/oauth2/logout"), nil)
		}},
		{name: "demo app", status: http.StatusOK, open: func(t *testing.T) page { return get("/app/") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a.t, b.t = t, t
			p := tc.open(t)
			if p.Status != tc.status {
				t.Fatalf("status %d, want %d (body %.300s)", p.Status, tc.status, p.Body)
			}
			wantHTMLHardened(t, p)
		})
	}
}

// wantHTMLHardened checks one HTML page's security headers and markup.
func wantHTMLHardened(t *testing.T, p page) {
	t.Helper()
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type %q, want text/html", ct)
	}
	for h, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	} {
		if got := p.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	csp := parseCSP(p.Header.Get("Content-Security-Policy"))
	if len(csp) == 0 {
		t.Fatal("no Content-Security-Policy")
	}
	script, ok := csp["script-src"]
	if !ok {
		script, ok = csp["default-src"]
	}
	if !ok {
		t.Errorf("CSP %q restricts no script (neither script-src nor default-src)", p.Header.Get("Content-Security-Policy"))
	}
	for _, src := range script {
		if src == "'unsafe-inline'" || src == "'unsafe-eval'" || src == "*" || src == "data:" || src == "http:" || src == "https:" {
			t.Errorf("CSP script sources allow %s: %q", src, p.Header.Get("Content-Security-Policy"))
		}
	}
	if fa := strings.Join(csp["frame-ancestors"], " "); fa != "'none'" {
		t.Errorf("CSP frame-ancestors %q, want 'none'", fa)
	}
	if bu := strings.Join(csp["base-uri"], " "); bu != "'none'" && bu != "'self'" {
		t.Errorf("CSP base-uri %q, want 'none' or 'self'", bu)
	}
	walk(parseHTML(t, p.Body), func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		at := attrs(n)
		if n.Data == "script" {
			if at["src"] == "" || n.FirstChild != nil {
				t.Errorf("inline <script> in the page")
			}
		}
		for k, v := range at {
			if strings.HasPrefix(k, "on") {
				t.Errorf("inline event handler %s=%q on <%s>", k, v, n.Data)
			}
			if strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "javascript:") {
				t.Errorf("javascript: URL in %s on <%s>", k, n.Data)
			}
		}
	})
}

// parseCSP splits a policy into directives and their sources.
func parseCSP(policy string) map[string][]string {
	out := map[string][]string{}
	for _, d := range strings.Split(policy, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			out[strings.ToLower(f[0])] = f[1:]
		}
	}
	return out
}

// TestNoCORS: the token, introspection and revocation endpoints never
// grant cross-origin access: neither to a preflight nor to a request
// that carries an Origin.
func TestNoCORS(t *testing.T) {
	a := newAbuseHarness(t, abuseConfig{})
	tk := a.login(webClient, aliceEmail, alicePassword, "")
	const evil = "https://evil.example"
	tests := []struct {
		name   string
		method string
		path   string
		body   url.Values
		basic  *testClient
		status int
	}{
		{name: "token preflight", method: http.MethodOptions, path: "/oauth2/token", status: http.StatusBadRequest},
		{name: "introspect preflight", method: http.MethodOptions, path: "/oauth2/introspect", status: http.StatusBadRequest},
		{name: "revoke preflight", method: http.MethodOptions, path: "/oauth2/revoke", status: http.StatusBadRequest},
		{name: "token POST", method: http.MethodPost, path: "/oauth2/token", basic: &webClient, status: http.StatusOK,
			body: url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}}},
		{name: "token POST, public client", method: http.MethodPost, path: "/oauth2/token", status: http.StatusOK,
			body: url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}, "client_id": {mobileClient.ID}}},
		{name: "introspect POST", method: http.MethodPost, path: "/oauth2/introspect", basic: &rsClient, status: http.StatusOK,
			body: url.Values{"token": {tk.Access}}},
		{name: "revoke POST", method: http.MethodPost, path: "/oauth2/revoke", basic: &webClient, status: http.StatusOK,
			body: url.Values{"token": {"unknown-token"}}},
		{name: "token POST, error", method: http.MethodPost, path: "/oauth2/token", status: http.StatusUnauthorized,
			body: url.Values{"grant_type": {"password"}, "client_id": {"nobody"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a.t = t
			req, err := http.NewRequest(tc.method, a.URL+tc.path, strings.NewReader(tc.body.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", evil)
			if tc.method == http.MethodOptions {
				req.Header.Set("Access-Control-Request-Method", http.MethodPost)
				req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			} else {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tc.basic != nil {
				req.SetBasicAuth(tc.basic.ID, tc.basic.Secret)
			}
			r := a.do(req)
			if r.Status != tc.status {
				t.Errorf("status %d, want %d (body %.200s)", r.Status, tc.status, r.Raw)
			}
			for k := range r.Header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("CORS header %s: %q", k, r.Header.Get(k))
				}
			}
		})
	}
}
