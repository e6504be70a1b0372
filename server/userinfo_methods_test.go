package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestUserinfoOneTokenMethod: a request may carry its access token one way
// only (RFC 6750 §2: clients MUST NOT use more than one method; §3.1:
// invalid_request). The header and the form body together, or the body
// parameter twice, are refused whatever the values; each method alone is
// accepted.
func TestUserinfoOneTokenMethod(t *testing.T) {
	h := newHarness(t, config{})
	tk := h.login(webClient, aliceEmail, alicePassword, "read")
	other := h.login(webClient, aliceEmail, alicePassword, "read")
	send := func(body, authorization string) response {
		req, err := http.NewRequest(http.MethodPost, h.URL+"/userinfo", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		return h.do(req)
	}
	body := func(tokens ...string) string { return url.Values{"access_token": tokens}.Encode() }
	for _, tc := range []struct {
		name                string
		body, authorization string
		status              int
	}{
		{name: "header and body, same token", body: body(tk.Access), authorization: "Bearer " + tk.Access, status: http.StatusBadRequest},
		{name: "header and body, other tokens", body: body(other.Access), authorization: "Bearer " + tk.Access, status: http.StatusBadRequest},
		{name: "lower-case scheme and body", body: body(tk.Access), authorization: "bearer " + tk.Access, status: http.StatusBadRequest},
		{name: "header and a bogus body token", body: body("x"), authorization: "Bearer " + tk.Access, status: http.StatusBadRequest},
		{name: "body twice", body: body(tk.Access, tk.Access), status: http.StatusBadRequest},
		{name: "body twice, other tokens", body: body(tk.Access, other.Access), status: http.StatusBadRequest},
		{name: "header", body: "x=1", authorization: "Bearer " + tk.Access, status: http.StatusOK},
		{name: "body", body: body(tk.Access), status: http.StatusOK},
		{name: "body, with Basic credentials", body: body(tk.Access), authorization: "Basic d2ViOng=", status: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			r := send(tc.body, tc.authorization)
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
