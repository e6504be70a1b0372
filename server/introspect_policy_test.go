package server_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
)

var (
	// gatewayClient is a trusted introspector (an API gateway).
	gatewayClient = testClient{ID: "gateway", Secret: "gateway-secret-0123456789abcdef0123456", AuthMethod: "client_secret_basic",
		Grants: []string{"client_credentials"}}
	// otherAPIClient serves an API no fixture token is granted for.
	otherAPIClient = testClient{ID: "other-api", Secret: "other-api-secret-0123456789abcdef01234", AuthMethod: "client_secret_basic",
		Grants: []string{"client_credentials"}, Resources: []string{"https://other.example.com"}}
)

// TestIntrospectionWhoMayLearnWhat: RFC 7662 §2.1 and §4. A client learns
// about a token issued to it, a token granted for a resource it serves, or
// any token if it is a trusted introspector; about any other token it gets
// exactly {"active": false}.
func TestIntrospectionWhoMayLearnWhat(t *testing.T) {
	h := newHarness(t, config{})
	gw := fixtureClient(gatewayClient)
	gw.Introspector = true
	if err := h.store.CreateClient(context.Background(), gw); err != nil {
		t.Fatal(err)
	}
	h.registerClients(t, otherAPIClient)
	web := h.login(webClient, aliceEmail, alicePassword, "")
	mobile := h.login(mobileClient, bobEmail, bobPassword, "")
	svc := h.mustTokens(h.form("/oauth2/token", serviceClient, urlValues("grant_type", "client_credentials")))
	for _, tc := range []struct {
		name   string
		caller testClient
		token  string
		active bool
	}{
		{name: "own access token", caller: webClient, token: web.Access, active: true},
		{name: "own refresh token", caller: webClient, token: web.Refresh, active: true},
		{name: "own client_credentials token", caller: serviceClient, token: svc.Access, active: true},
		{name: "resource server, token for its API", caller: rsClient, token: web.Access, active: true},
		{name: "resource server, refresh token for its API", caller: rsClient, token: mobile.Refresh},
		{name: "resource server of another API", caller: otherAPIClient, token: web.Access},
		{name: "resource server of another API, refresh token", caller: otherAPIClient, token: web.Refresh},
		{name: "another client's access token", caller: otherClient, token: web.Access},
		{name: "another client's refresh token", caller: otherClient, token: mobile.Refresh},
		{name: "another client's client_credentials token", caller: webClient, token: svc.Access},
		{name: "trusted introspector, access token", caller: gatewayClient, token: web.Access, active: true},
		{name: "trusted introspector, refresh token", caller: gatewayClient, token: mobile.Refresh, active: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.post("/oauth2/introspect", "application/x-www-form-urlencoded", url.Values{"token": {tc.token}}.Encode(), &tc.caller)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d, body %s", r.Status, r.Raw)
			}
			if tc.active && r.JSON["active"] != true {
				t.Errorf("want active, got %s", r.Raw)
			}
			if !tc.active && (r.JSON["active"] != false || len(r.JSON) != 1) {
				t.Errorf("want exactly {\"active\":false}, got %s", r.Raw)
			}
		})
	}
}

// TestIntrospectionCallerIsAClient: the caller authenticates as a
// confidential client with its own credentials (RFC 7662 §2.1); a user's
// Bearer token, in the header or as a parameter, is no credential, even
// next to valid client credentials.
func TestIntrospectionCallerIsAClient(t *testing.T) {
	h := newHarness(t, config{})
	victim := h.login(webClient, aliceEmail, alicePassword, "")
	user := h.login(mobileClient, bobEmail, bobPassword, "")
	form := url.Values{"token": {victim.Access}}
	newIntrospection := func(v url.Values) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, h.URL+"/oauth2/introspect", stringsReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}
	for _, tc := range []struct {
		name string
		req  func() *http.Request
	}{
		{name: "user's bearer token", req: func() *http.Request {
			r := newIntrospection(form)
			r.Header.Set("Authorization", "Bearer "+user.Access)
			return r
		}},
		{name: "user's bearer token, lower-case scheme", req: func() *http.Request {
			r := newIntrospection(form)
			r.Header.Set("Authorization", "bearer "+user.Access)
			return r
		}},
		{name: "access_token parameter next to client credentials", req: func() *http.Request {
			v := url.Values{"token": {victim.Access}, "access_token": {user.Access}}
			r := newIntrospection(v)
			r.SetBasicAuth(otherClient.ID, otherClient.Secret)
			return r
		}},
		{name: "access_token parameter alone", req: func() *http.Request {
			return newIntrospection(url.Values{"token": {victim.Access}, "access_token": {user.Access}})
		}},
		{name: "public client with an empty secret", req: func() *http.Request {
			r := newIntrospection(form)
			r.SetBasicAuth(mobileClient.ID, "")
			return r
		}},
		{name: "client_secret_post credentials", req: func() *http.Request {
			v := url.Values{"token": {victim.Access}, "client_id": {rsClient.ID}, "client_secret": {rsClient.Secret}}
			return newIntrospection(v)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(tc.req())
			wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
			if _, leaked := r.JSON["active"]; leaked {
				t.Errorf("leaked token state: %s", r.Raw)
			}
		})
	}
}
