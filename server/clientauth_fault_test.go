package server_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestClientLookupFaultIsNotInvalidClient: when the client can't be read
// (a storage failure other than "no such client", with the short client
// cache expired), every client-authenticated endpoint answers 503
// temporarily_unavailable: a client is never told its credentials are
// wrong because the database failed, and no client_auth_failed audit row
// blames it. Its tokens survive the fault.
func TestClientLookupFaultIsNotInvalidClient(t *testing.T) {
	h := newHarness(t, config{})
	h.registerClients(t, eitherClient)
	tk := h.login(webClient, aliceEmail, alicePassword, "")
	mobile := h.login(mobileClient, aliceEmail, alicePassword, "")
	h.exec(`ALTER TABLE clients RENAME TO clients_gone`)
	h.storeClock.Advance(time.Minute) // past the client cache
	for _, tc := range []struct {
		name   string
		path   string
		client testClient
		form   url.Values
	}{
		{name: "refresh, basic", path: "/oauth2/token", client: webClient, form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.Refresh}}},
		{name: "refresh, public", path: "/oauth2/token", client: mobileClient, form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {mobile.Refresh}}},
		{name: "client credentials, basic", path: "/oauth2/token", client: serviceClient, form: url.Values{"grant_type": {"client_credentials"}}},
		{name: "password, post", path: "/oauth2/token", client: postClient, form: url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}}},
		{name: "password, either method as post", path: "/oauth2/token", client: testClient{ID: eitherClient.ID, Secret: eitherClient.Secret, AuthMethod: "client_secret_post"},
			form: url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}}},
		{name: "revoke, basic", path: "/oauth2/revoke", client: webClient, form: url.Values{"token": {tk.Refresh}}},
		{name: "revoke, public", path: "/oauth2/revoke", client: mobileClient, form: url.Values{"token": {mobile.Refresh}}},
		{name: "introspect", path: "/oauth2/introspect", client: auditorClient, form: url.Values{"token": {tk.Access}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			wantOAuthError(t, h.form(tc.path, tc.client, tc.form), http.StatusServiceUnavailable, "temporarily_unavailable")
		})
	}
	h.t = t
	h.exec(`ALTER TABLE clients_gone RENAME TO clients`)
	if n := h.countAudit("client_auth_failed"); n != 0 {
		t.Errorf("%d client_auth_failed audit rows for a database fault", n)
	}
	for _, token := range []string{tk.Refresh, tk.Access, mobile.Refresh} {
		if !h.active(token) {
			t.Errorf("a token was lost to the fault")
		}
	}
}
