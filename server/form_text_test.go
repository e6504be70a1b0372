package server_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestParametersMustBeText: a parameter or HTTP Basic credential that is
// not valid UTF-8, or holds a NUL, is outside RFC 6749 Appendix A's
// grammar (client_id is VSCHAR, username and password UNICODECHARNOCRLF)
// and is invalid_request before any work. No database can be asked about
// it either: PostgreSQL refuses such text, which made the sign-in
// throttle a 500 and dropped the audit rows of failed attempts, so a
// spelling could sidestep both. Nothing is counted or audited for it.
func TestParametersMustBeText(t *testing.T) {
	h := newHarness(t, config{})
	tk := h.login(webClient, aliceEmail, alicePassword, "")
	basicHeader := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
	}
	pw := func(kv ...string) string {
		v := url.Values{"grant_type": {"password"}, "client_id": {mobileClient.ID}, "username": {aliceEmail}, "password": {"wrong"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	for _, tc := range []struct {
		name, path, body, authorization string
	}{
		{name: "username invalid UTF-8", path: "/oauth2/token", body: pw("username", "alice\xff@example.com")},
		{name: "username NUL", path: "/oauth2/token", body: pw("username", aliceEmail+"\x00")},
		{name: "username overlong encoding", path: "/oauth2/token", body: pw("username", "alice\xc0\xae@example.com")},
		{name: "username lone surrogate", path: "/oauth2/token", body: pw("username", "alice\xed\xa0\x80@example.com")},
		{name: "password NUL", path: "/oauth2/token", body: pw("password", "wrong\x00")},
		{name: "client_id invalid UTF-8", path: "/oauth2/token", body: pw("client_id", "mobile\xff")},
		{name: "client_id NUL", path: "/oauth2/token", body: pw("client_id", "mobile\x00")},
		{name: "grant_type invalid UTF-8", path: "/oauth2/token", body: pw("grant_type", "\xff")},
		{name: "Basic id percent-encoded invalid UTF-8", path: "/oauth2/token", body: "grant_type=client_credentials", authorization: basicHeader("web%FF", "x")},
		{name: "Basic id raw invalid UTF-8", path: "/oauth2/token", body: "grant_type=client_credentials", authorization: basicHeader("web\xff", "x")},
		{name: "Basic id NUL", path: "/oauth2/token", body: "grant_type=client_credentials", authorization: basicHeader("web%00", "x")},
		{name: "Basic secret NUL", path: "/oauth2/token", body: "grant_type=client_credentials", authorization: basicHeader("web", "x%00")},
		{name: "revoke, client_id invalid UTF-8", path: "/oauth2/revoke", body: "client_id=mobile%FF&token=" + url.QueryEscape(tk.Refresh)},
		{name: "revoke, Basic id NUL", path: "/oauth2/revoke", body: "token=" + url.QueryEscape(tk.Refresh), authorization: basicHeader("web%00", "x")},
		{name: "introspect, Basic id invalid UTF-8", path: "/oauth2/introspect", body: "token=" + url.QueryEscape(tk.Access), authorization: basicHeader("auditor%FF", "x")},
		{name: "introspect, token NUL", path: "/oauth2/introspect", body: "token=%00", authorization: basicHeader(auditorClient.ID, auditorClient.Secret)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			req, err := http.NewRequest(http.MethodPost, h.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.authorization != "" {
				req.Header.Set("Authorization", tc.authorization)
			}
			wantOAuthError(t, h.do(req), http.StatusBadRequest, "invalid_request")
		})
	}
	h.t = t
	for _, ev := range []string{"login_failed", "client_auth_failed"} {
		if n := h.countAudit(ev); n != 0 {
			t.Errorf("%d %s audit rows for requests refused as malformed", n, ev)
		}
	}
	if !h.active(tk.Refresh) {
		t.Error("the refresh token was lost")
	}
}

// TestLoginFormMustBeText: the login form's username and password follow
// the same rule (see TestParametersMustBeText): a value that is not text
// is refused with the form again (400), before the sign-in throttle or
// the audit trail is consulted, and the form still works afterwards.
func TestLoginFormMustBeText(t *testing.T) {
	h := newOIDCHarness(t, config{})
	v, _ := acParams(acApp, "openid")
	b := h.newBrowser(t)
	for _, tc := range []struct{ name, username, password string }{
		{name: "username invalid UTF-8", username: "alice\xff@example.com", password: "wrong"},
		{name: "username NUL", username: aliceEmail + "\x00", password: "wrong"},
		{name: "username lone surrogate", username: "\xed\xa0\x80" + aliceEmail, password: "wrong"},
		{name: "password NUL", username: aliceEmail, password: alicePassword + "\x00"},
		{name: "password invalid UTF-8", username: aliceEmail, password: "\xff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.t, h.t = t, t
			res := b.login(b.open(h.acAuthorizeURL(v)), tc.username, tc.password)
			if res.Status != http.StatusBadRequest || !hasForm(res, "/login") {
				t.Errorf("status %d, want 400 with the login form", res.Status)

			}
		})
	}
	b.t, h.t = t, t
	if n := h.countAudit("login_failed"); n != 0 {
		t.Errorf("%d login_failed audit rows for values that are not text", n)
	}
	if ok := b.follow(b.login(b.open(h.acAuthorizeURL(v)), aliceEmail, alicePassword)); !hasForm(ok, "/consent") {
		t.Errorf("login afterwards: status %d, want the consent page", ok.Status)
	}
}

// TestLoginCredentialsNotFromURL: the login form reads the username and
// password from the body only; in the query string they are ignored, so
// the form comes back and no sign-in is counted.
func TestLoginCredentialsNotFromURL(t *testing.T) {
	h := newOIDCHarness(t, config{})
	v, _ := acParams(acApp, "openid")
	b := h.newBrowser(t)
	for _, tc := range []struct{ name, query, username, password string }{
		{name: "both in the URL", query: "username=" + url.QueryEscape(aliceEmail) + "&password=" + url.QueryEscape(alicePassword)},
		{name: "password in the URL", query: "password=" + url.QueryEscape(alicePassword), username: aliceEmail},
		{name: "username in the URL", query: "username=" + url.QueryEscape(aliceEmail), password: alicePassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b.t, h.t = t, t
			p := b.open(h.acAuthorizeURL(v))
			f := mustForm(t, p, "/login")
			f.Action += "?" + tc.query
			delete(f.Fields, "username") // the form's empty inputs would shadow the URL's
			delete(f.Fields, "password")
			fields := url.Values{}
			if tc.username != "" {
				fields.Set("username", tc.username)
			}
			if tc.password != "" {
				fields.Set("password", tc.password)
			}
			res := b.submit(p, f, fields)
			if res.Status != http.StatusBadRequest || !hasForm(res, "/login") {
				t.Errorf("status %d, want 400 with the login form", res.Status)

			}
		})
	}
}
