package server_test

import (
	"net/http"
	"testing"
)

// TestIntrospectionTokenRequired: token is REQUIRED (RFC 7662 §2.1), and an
// empty parameter is an omitted one (RFC 6749 §3.1): a request without it
// is invalid_request, not a claim that some token is inactive.
func TestIntrospectionTokenRequired(t *testing.T) {
	h := newHarness(t, config{})
	for _, body := range []string{"", "token=", "token_type_hint=access_token", "token_type_hint=refresh_token&token="} {
		t.Run(body, func(t *testing.T) {
			h.t = t
			wantOAuthError(t, h.post("/oauth2/introspect", "application/x-www-form-urlencoded", body, &auditorClient), http.StatusBadRequest, "invalid_request")
		})
	}
}
