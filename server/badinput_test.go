package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const formType = "application/x-www-form-urlencoded"

// badCase is one malformed or unauthorised request and the RFC 6749 §5.2
// answer it must get.
type badCase struct {
	name        string
	method      string // default POST
	path        string // default /oauth2/token
	contentType string // default form
	body        string
	basic       *testClient
	status      int
	code        string
}

func (h *harness) sendBad(tc badCase) response {
	h.t.Helper()
	method, path, ct := tc.method, tc.path, tc.contentType
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/oauth2/token"
	}
	if ct == "" {
		ct = formType
	}
	req, err := http.NewRequest(method, h.URL+path, strings.NewReader(tc.body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	if tc.basic != nil {
		req.SetBasicAuth(url.QueryEscape(tc.basic.ID), url.QueryEscape(tc.basic.Secret))
	}
	return h.do(req)
}

func runBadCases(t *testing.T, h *harness, cases []badCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.sendBad(tc)
			if r.Status >= 500 && tc.status < 500 {
				t.Fatalf("server error %d: %s", r.Status, r.Raw)
			}
			wantOAuthError(t, r, tc.status, tc.code)
		})
	}
}

func enc(kv ...string) string { return urlValues(kv...).Encode() }

// oversized is a valid-looking form just over the 64 KiB limit.
func oversized(prefix string) string {
	return prefix + "&pad=" + strings.Repeat("a", 64<<10)
}

// TestTokenEndpointBadInput: every malformed or unauthorised token request
// gets the precise §5.2 error, never a 500.
func TestTokenEndpointBadInput(t *testing.T) {
	h := newHarness(t, config{})
	victim := h.login(webClient, aliceEmail, alicePassword, "")
	wrong := webClient
	wrong.Secret = "wrong-secret"
	unknown := testClient{ID: "nobody", Secret: "nothing"}
	pw := func(kv ...string) string {
		return enc(append([]string{"grant_type", "password", "username", aliceEmail, "password", alicePassword}, kv...)...)
	}
	mobile := "&client_id=" + mobileClient.ID

	runBadCases(t, h, []badCase{
		{name: "missing grant_type", body: enc("username", aliceEmail, "password", alicePassword), basic: &webClient,
			status: 400, code: "invalid_request"},
		{name: "empty grant_type", body: enc("grant_type", ""), basic: &webClient, status: 400, code: "invalid_request"},
		{name: "unknown grant_type", body: enc("grant_type", "magic"), basic: &webClient, status: 400, code: "unsupported_grant_type"},
		{name: "unknown URN grant_type", body: enc("grant_type", "urn:example:params:oauth:grant-type:magic"), basic: &webClient,
			status: 400, code: "unsupported_grant_type"},
		{name: "known and unknown grant_type", body: enc("grant_type", "password magic"), basic: &webClient,
			status: 400, code: "invalid_request"},
		{name: "unknown grant_type from unknown client", body: enc("grant_type", "magic"), basic: &unknown,
			status: 400, code: "unsupported_grant_type"},
		{name: "repeated parameter", body: pw("scope", "read", "scope", "write"), basic: &webClient, status: 400, code: "invalid_request"},
		{name: "repeated grant_type", body: pw("grant_type", "password"), basic: &webClient, status: 400, code: "invalid_request"},
		{name: "parameter in query and body", path: "/oauth2/token?grant_type=password", body: pw(), basic: &webClient,
			status: 400, code: "invalid_request"},
		{name: "parameters only in query", path: "/oauth2/token?" + pw(), body: "", basic: &webClient,
			status: 400, code: "invalid_request"},
		{name: "JSON body", contentType: "application/json", basic: &webClient,
			body: `{"grant_type":"password","username":"alice@example.com","password":"x"}`, status: 400, code: "invalid_request"},
		{name: "multipart body", contentType: "multipart/form-data; boundary=x", basic: &webClient,
			body: "--x\r\nContent-Disposition: form-data; name=\"grant_type\"\r\n\r\npassword\r\n--x--\r\n", status: 400, code: "invalid_request"},
		{name: "no content type", contentType: "bogus/", body: pw(), basic: &webClient, status: 400, code: "invalid_request"},
		{name: "body over 64 KiB", body: oversized(pw()), basic: &webClient, status: 400, code: "invalid_request"},
		{name: "malformed percent-encoding", body: pw() + "&x=%zz", basic: &webClient, status: 400, code: "invalid_request"},
		{name: "truncated percent-encoding", body: pw() + "&x=%4", basic: &webClient, status: 400, code: "invalid_request"},
		{name: "empty body", body: "", basic: &webClient, status: 400, code: "invalid_request"},
		{name: "GET", method: http.MethodGet, body: "", basic: &webClient, status: 400, code: "invalid_request"},
		{name: "PUT", method: http.MethodPut, body: pw(), basic: &webClient, status: 400, code: "invalid_request"},
		{name: "wrong client secret", body: pw(), basic: &wrong, status: 401, code: "invalid_client"},
		{name: "wrong client secret in body", body: pw("client_id", postClient.ID, "client_secret", "wrong"),
			status: 401, code: "invalid_client"},
		{name: "unknown client", body: pw(), basic: &unknown, status: 401, code: "invalid_client"},
		{name: "unknown public-style client", body: pw("client_id", "nobody"), status: 401, code: "invalid_client"},
		{name: "basic client authenticating in body", body: pw("client_id", webClient.ID, "client_secret", webClient.Secret),
			status: 401, code: "invalid_client"},
		{name: "post client authenticating with basic", body: pw(), basic: &postClient, status: 401, code: "invalid_client"},
		{name: "confidential client without secret", body: pw("client_id", webClient.ID), status: 401, code: "invalid_client"},
		{name: "public client using client_credentials", body: enc("grant_type", "client_credentials") + mobile,
			status: 400, code: "unauthorized_client"},
		{name: "client not allowed password grant", body: pw(), basic: &serviceClient, status: 400, code: "unauthorized_client"},
		{name: "client not allowed refresh_token grant", body: enc("grant_type", "refresh_token", "refresh_token", victim.Refresh),
			basic: &serviceClient, status: 400, code: "unauthorized_client"},
		{name: "client not allowed client_credentials", body: enc("grant_type", "client_credentials"), basic: &otherClient,
			status: 400, code: "unauthorized_client"},
		{name: "invalid scope", body: pw("scope", "admin"), basic: &webClient, status: 400, code: "invalid_scope"},
		{name: "invalid scope among valid", body: pw("scope", "read admin"), basic: &webClient, status: 400, code: "invalid_scope"},
		{name: "invalid scope, client_credentials", body: enc("grant_type", "client_credentials", "scope", "admin"), basic: &serviceClient,
			status: 400, code: "invalid_scope"},
		{name: "wrong password", body: enc("grant_type", "password", "username", aliceEmail, "password", "wrong"), basic: &webClient,
			status: 400, code: "invalid_grant"},
		{name: "another user's password", body: enc("grant_type", "password", "username", aliceEmail, "password", bobPassword),
			basic: &webClient, status: 400, code: "invalid_grant"},
		{name: "unknown user", body: enc("grant_type", "password", "username", "carol@example.com", "password", alicePassword),
			basic: &webClient, status: 400, code: "invalid_grant"},
		{name: "missing password", body: enc("grant_type", "password", "username", aliceEmail), basic: &webClient,
			status: 400, code: "invalid_request"},
		{name: "garbage refresh token", body: enc("grant_type", "refresh_token", "refresh_token", "garbage"), basic: &webClient,
			status: 400, code: "invalid_grant"},
		{name: "refresh token with forged signature", body: enc("grant_type", "refresh_token", "refresh_token", victim.Refresh[:len(victim.Refresh)-4]+"AAAA"),
			basic: &webClient, status: 400, code: "invalid_grant"},
		{name: "access token as refresh token", body: enc("grant_type", "refresh_token", "refresh_token", victim.Access), basic: &webClient,
			status: 400, code: "invalid_grant"},
		{name: "refresh token of another client", body: enc("grant_type", "refresh_token", "refresh_token", victim.Refresh),
			basic: &otherClient, status: 400, code: "invalid_grant"},
		{name: "refresh token of another client, public", body: enc("grant_type", "refresh_token", "refresh_token", victim.Refresh) + mobile,
			status: 400, code: "invalid_grant"},
		{name: "empty refresh_token", body: enc("grant_type", "refresh_token", "refresh_token", ""), basic: &webClient,
			status: 400, code: "invalid_request"},
		{name: "missing refresh_token", body: enc("grant_type", "refresh_token"), basic: &webClient, status: 400, code: "invalid_request"},
	})

	// None of the above touched the victim's session.
	if !h.active(victim.Access) {
		t.Error("victim's access token inactive after the bad requests")
	}
	next := h.mustRefresh(webClient, victim.Refresh)
	if !h.active(next.Access) {
		t.Error("victim's refreshed access token inactive")
	}
}

// TestRevokeEndpointBadInput: the form rules apply to RFC 7009 too.
func TestRevokeEndpointBadInput(t *testing.T) {
	h := newHarness(t, config{})
	tk := h.login(webClient, aliceEmail, alicePassword, "")
	tok := enc("token", tk.Refresh)
	runBadCases(t, h, []badCase{
		{name: "JSON body", path: "/oauth2/revoke", contentType: "application/json", body: `{"token":"` + tk.Refresh + `"}`,
			basic: &webClient, status: 400, code: "invalid_request"},
		{name: "body over 64 KiB", path: "/oauth2/revoke", body: oversized(tok), basic: &webClient, status: 400, code: "invalid_request"},
		{name: "repeated token", path: "/oauth2/revoke", body: tok + "&" + tok, basic: &webClient, status: 400, code: "invalid_request"},
		{name: "malformed percent-encoding", path: "/oauth2/revoke", body: tok + "&x=%zz", basic: &webClient, status: 400, code: "invalid_request"},
		{name: "GET", path: "/oauth2/revoke?" + tok, method: http.MethodGet, basic: &webClient, status: 400, code: "invalid_request"},
		{name: "missing token", path: "/oauth2/revoke", body: enc("token_type_hint", "refresh_token"), basic: &webClient,
			status: 400, code: "invalid_request"},
		{name: "wrong client secret", path: "/oauth2/revoke", body: tok, basic: &testClient{ID: webClient.ID, Secret: "wrong"},
			status: 401, code: "invalid_client"},
	})
	h.mustRefresh(webClient, tk.Refresh)
}

// TestIntrospectEndpointBadInput: the form rules apply to RFC 7662 too.
func TestIntrospectEndpointBadInput(t *testing.T) {
	h := newHarness(t, config{})
	tk := h.login(webClient, aliceEmail, alicePassword, "")
	tok := enc("token", tk.Access)
	runBadCases(t, h, []badCase{
		{name: "JSON body", path: "/oauth2/introspect", contentType: "application/json", body: `{"token":"` + tk.Access + `"}`,
			basic: &rsClient, status: 400, code: "invalid_request"},
		{name: "body over 64 KiB", path: "/oauth2/introspect", body: oversized(tok), basic: &rsClient, status: 400, code: "invalid_request"},
		{name: "repeated token", path: "/oauth2/introspect", body: tok + "&" + tok, basic: &rsClient, status: 400, code: "invalid_request"},
		{name: "malformed percent-encoding", path: "/oauth2/introspect", body: tok + "&x=%zz", basic: &rsClient, status: 400, code: "invalid_request"},
		{name: "GET", path: "/oauth2/introspect?" + tok, method: http.MethodGet, basic: &rsClient, status: 400, code: "invalid_request"},
		{name: "empty body", path: "/oauth2/introspect", body: "", basic: &rsClient, status: 400, code: "invalid_request"},
		{name: "wrong client secret", path: "/oauth2/introspect", body: tok, basic: &testClient{ID: rsClient.ID, Secret: "wrong"},
			status: 401, code: "invalid_client"},
	})
	if !h.active(tk.Access) {
		t.Error("token inactive after bad introspection requests")
	}
}

// TestUnknownRoute: anything else is a JSON 404, not an HTML page.
func TestUnknownRoute(t *testing.T) {
	h := newHarness(t, config{})
	for _, tc := range []struct{ name, method, path string }{
		{name: "unknown path", method: http.MethodGet, path: "/nope"},
		{name: "unknown well-known document", method: http.MethodGet, path: "/.well-known/nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, h.URL+tc.path, nil)
			r := h.do(req)
			if r.Status != http.StatusNotFound || r.str("error") == "" {
				t.Errorf("status %d body %s, want JSON 404", r.Status, r.Raw)
			}
		})
	}
}
