package server_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// eitherClient is confidential and registered without a method: it may
// authenticate with client_secret_basic or client_secret_post.
var eitherClient = testClient{ID: "either", FirstParty: true, Secret: "either-secret-0123456789abcdef0123456",
	Grants: []string{"password", "refresh_token"}}

// jwtBearerAssertion is RFC 7523's client_assertion_type.
const jwtBearerAssertion = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// TestOneClientAuthMethod: HTTP Basic and client_secret in the body
// together, or Basic with another client's client_id, are invalid_request
// at every client-authenticated endpoint (RFC 6749 §2.3), with no
// client_auth_failed audit row.
func TestOneClientAuthMethod(t *testing.T) {
	h := newHarness(t, config{})
	h.registerClients(t, eitherClient)
	pw := url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}}
	cases := []struct {
		name  string
		basic testClient
		body  url.Values
	}{
		{name: "basic and body secret", basic: webClient, body: url.Values{"client_id": {"web"}, "client_secret": {webClient.Secret}}},
		{name: "basic and only body secret", basic: webClient, body: url.Values{"client_secret": {webClient.Secret}}},
		{name: "basic and another client's body credentials", basic: webClient, body: url.Values{"client_id": {"post"}, "client_secret": {postClient.Secret}}},
		{name: "basic and another client_id", basic: webClient, body: url.Values{"client_id": {"other"}}},
		{name: "either client, both methods", basic: eitherClient, body: url.Values{"client_id": {"either"}, "client_secret": {eitherClient.Secret}}},
		{name: "basic and a wrong body secret", basic: webClient, body: url.Values{"client_id": {"web"}, "client_secret": {"wrong"}}},
		{name: "basic and a client assertion", basic: webClient, body: url.Values{"client_assertion_type": {jwtBearerAssertion}, "client_assertion": {"x.y.z"}}},
		{name: "basic and a bare client assertion", basic: webClient, body: url.Values{"client_assertion": {"x.y.z"}}},
		{name: "body secret and a client assertion", body: url.Values{"client_id": {"post"}, "client_secret": {postClient.Secret},
			"client_assertion_type": {jwtBearerAssertion}, "client_assertion": {"x.y.z"}}},
	}
	for _, tc := range cases {
		for _, target := range []struct {
			path string
			form url.Values
		}{
			{"/oauth2/token", pw},
			{"/oauth2/revoke", url.Values{"token": {"x"}}},
			{"/oauth2/introspect", url.Values{"token": {"x"}}},
		} {
			t.Run(tc.name+" "+target.path, func(t *testing.T) {
				h.t = t
				v := cloneValues(target.form)
				for k, vs := range tc.body {
					v[k] = vs
				}
				var basic *testClient
				if tc.basic.ID != "" {
					c := tc.basic
					basic = &c
				}
				wantOAuthError(t, h.post(target.path, "application/x-www-form-urlencoded", v.Encode(), basic), http.StatusBadRequest, "invalid_request")
			})
		}
	}
	h.t = t
	if n := h.countAudit("client_auth_failed"); n != 0 {
		t.Errorf("%d client_auth_failed audit rows", n)
	}
	t.Run("basic with the same client_id in the body", func(t *testing.T) {
		h.t = t
		v := cloneValues(pw)
		v.Set("client_id", "web")
		h.mustTokens(h.post("/oauth2/token", "application/x-www-form-urlencoded", v.Encode(), &webClient))
	})
}

// TestEitherSecretMethod: a confidential client registered without a
// method accepts client_secret_basic and client_secret_post; one
// registered for a method keeps to it. golang.org/x/oauth2's auto-detect
// (which retries a failed request with the other method) therefore sees a
// wrong user password as invalid_grant, and nothing blames the client.
func TestEitherSecretMethod(t *testing.T) {
	h := newHarness(t, config{})
	h.registerClients(t, eitherClient)
	pw := url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}}
	for _, method := range []string{"client_secret_basic", "client_secret_post"} {
		t.Run("either client with "+method, func(t *testing.T) {
			h.t = t
			c := eitherClient
			c.AuthMethod = method
			tk := h.mustTokens(h.form("/oauth2/token", c, pw))
			h.mustRefresh(c, tk.Refresh)
			if r := h.revoke(c, tk.Access, ""); r.Status != http.StatusOK {
				t.Errorf("revoke: %d %s", r.Status, r.Raw)
			}
			bad := c
			bad.Secret = "wrong-secret"
			wantOAuthError(t, h.form("/oauth2/token", bad, pw), http.StatusUnauthorized, "invalid_client")
		})
	}
	for _, tc := range []struct {
		name   string
		client testClient
		method string
	}{
		{"basic-only client with post", webClient, "client_secret_post"},
		{"post-only client with basic", postClient, "client_secret_basic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			c := tc.client
			c.AuthMethod = tc.method
			wantOAuthError(t, h.form("/oauth2/token", c, pw), http.StatusUnauthorized, "invalid_client")
		})
	}
	t.Run("x/oauth2 auto-detect with a wrong password", func(t *testing.T) {
		h.t = t
		before := h.countAudit("client_auth_failed")
		cfg := &oauth2.Config{ClientID: eitherClient.ID, ClientSecret: eitherClient.Secret,
			Endpoint: oauth2.Endpoint{TokenURL: h.URL + "/oauth2/token", AuthStyle: oauth2.AuthStyleAutoDetect}}
		_, err := cfg.PasswordCredentialsToken(h.acCtx(), aliceEmail, "wrong password")
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("wrong password: %v, want invalid_grant", err)
		}
		if n := h.countAudit("client_auth_failed") - before; n != 0 {
			t.Errorf("%d client_auth_failed audit rows for a client that did nothing wrong", n)
		}
		if _, err := cfg.PasswordCredentialsToken(h.acCtx(), aliceEmail, alicePassword); err != nil {
			t.Fatalf("right password: %v", err)
		}
	})
}

// TestCodeRequired: a code exchange without a code is invalid_request
// (RFC 6749 §4.1.3), however the code is left out.
func TestCodeRequired(t *testing.T) {
	h := newOIDCHarness(t, config{})
	for _, body := range []string{
		"grant_type=authorization_code&redirect_uri=" + url.QueryEscape(acAppRedirect),
		"grant_type=authorization_code&code=&redirect_uri=" + url.QueryEscape(acAppRedirect),
		"grant_type=authorization_code&code=",
		"grant_type=authorization_code",
	} {
		t.Run(body, func(t *testing.T) {
			h.t = t
			c := acApp
			wantOAuthError(t, h.post("/oauth2/token", "application/x-www-form-urlencoded", body, &c), http.StatusBadRequest, "invalid_request")
		})
	}
}

// TestUserinfoTokenInURL: /userinfo refuses an access token in the query
// (RFC 6750 §2.3, RFC 9700 §4.3.2), whatever the method, and still takes
// one in the Authorization header or the form body.
func TestUserinfoTokenInURL(t *testing.T) {
	h := newHarness(t, config{})
	tk := h.login(webClient, aliceEmail, alicePassword, "read")
	send := func(method, query, body, bearer string) response {
		req, err := http.NewRequest(method, h.URL+"/userinfo"+query, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		return h.do(req)
	}
	q := "?access_token=" + url.QueryEscape(tk.Access)
	for _, tc := range []struct {
		name                string
		method, query, body string
		bearer              string
		status              int
	}{
		{name: "GET query", method: http.MethodGet, query: q, status: http.StatusBadRequest},
		{name: "GET query, empty", method: http.MethodGet, query: "?access_token=", status: http.StatusBadRequest},
		{name: "GET query and header", method: http.MethodGet, query: q, bearer: tk.Access, status: http.StatusBadRequest},
		{name: "POST query", method: http.MethodPost, query: q, body: "x=1", status: http.StatusBadRequest},
		{name: "header", method: http.MethodGet, bearer: tk.Access, status: http.StatusOK},
		{name: "POST body", method: http.MethodPost, body: "access_token=" + url.QueryEscape(tk.Access), status: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			r := send(tc.method, tc.query, tc.body, tc.bearer)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d (%s)", r.Status, tc.status, r.Raw)
			}
			if tc.status == http.StatusBadRequest && r.str("error") != "invalid_request" {
				t.Errorf("error %q, want invalid_request", r.str("error"))
			}
			if tc.status == http.StatusOK && r.str("sub") != h.users[aliceEmail].ID {
				t.Errorf("sub %q", r.str("sub"))
			}
		})
	}
}
