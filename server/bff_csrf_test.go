package server_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// /bff/api/* and /bff/logout need X-CSRF: 1 and, when the browser names
// one, a same-origin Origin (or Referer).
func TestBFFCSRF(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	b := h.newBrowser()
	b.signIn("/app/")
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		status             int
	}{
		{name: "api GET without X-CSRF", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{}, status: http.StatusForbidden},
		{name: "api POST without X-CSRF", method: http.MethodPost, path: "/bff/api/hello",
			header: map[string]string{}, status: http.StatusForbidden},
		{name: "api X-CSRF 0", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "0"}, status: http.StatusForbidden},
		{name: "logout without X-CSRF", method: http.MethodPost, path: "/bff/logout",
			header: map[string]string{"Origin": h.URL}, status: http.StatusForbidden},
		{name: "api foreign Origin", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1", "Origin": bffEvilOrigin}, status: http.StatusForbidden},
		{name: "api Origin null", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1", "Origin": "null"}, status: http.StatusForbidden},
		{name: "api Origin same host other scheme", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1", "Origin": "https" + strings.TrimPrefix(h.URL, "http")}, status: http.StatusForbidden},
		{name: "api foreign Referer without Origin", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1", "Referer": bffEvilOrigin + "/page"}, status: http.StatusForbidden},
		{name: "api foreign Origin with same-origin Referer", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1", "Origin": bffEvilOrigin, "Referer": h.URL + "/app/"}, status: http.StatusForbidden},
		{name: "logout foreign Origin", method: http.MethodPost, path: "/bff/logout",
			header: map[string]string{"X-CSRF": "1", "Origin": bffEvilOrigin}, status: http.StatusForbidden},
		{name: "logout foreign Referer", method: http.MethodPost, path: "/bff/logout",
			header: map[string]string{"X-CSRF": "1", "Referer": bffEvilOrigin + "/"}, status: http.StatusForbidden},
		{name: "api same Origin", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1", "Origin": h.URL}, status: http.StatusOK},
		{name: "api same-origin Referer", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1", "Referer": h.URL + "/app/"}, status: http.StatusOK},
		{name: "api neither Origin nor Referer", method: http.MethodGet, path: "/bff/api/hello",
			header: map[string]string{"X-CSRF": "1"}, status: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := b.send(bffReq{method: tc.method, url: tc.path, header: tc.header})
			if tc.status == http.StatusOK {
				if r.Status != http.StatusOK || r.str("sub") != h.users[aliceEmail].ID {
					t.Errorf("status = %d, body %s; want 200 from the demo API", r.Status, r.Raw)
				}
				return
			}
			wantBFFError(t, r, tc.status, "csrf")
		})
	}
	// The refused logouts did not sign out.
	if r := b.get("/bff/session", nil); r.Status != http.StatusOK {
		t.Errorf("session after refused logouts: status %d", r.Status)
	}
}

// Rotor grants no CORS: nothing under /bff/ nor the token endpoint answers
// with Access-Control-Allow-Origin, whatever the Origin.
func TestBFFNoCORS(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	b := h.newBrowser()
	b.signIn("/app/")
	tokenForm := url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}}.Encode()
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(webClient.ID+":"+webClient.Secret))
	preflight := map[string]string{"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-csrf, content-type"}
	for _, origin := range []string{bffEvilOrigin, h.URL} {
		for _, tc := range []struct {
			name, method, path, body string
			header                   map[string]string
		}{
			{name: "login", method: http.MethodGet, path: "/bff/login"},
			{name: "callback", method: http.MethodGet, path: "/bff/callback?code=x&state=y"},
			{name: "session", method: http.MethodGet, path: "/bff/session"},
			{name: "api", method: http.MethodGet, path: "/bff/api/hello", header: map[string]string{"X-CSRF": "1"}},
			{name: "api preflight", method: http.MethodOptions, path: "/bff/api/hello", header: preflight},
			{name: "logout preflight", method: http.MethodOptions, path: "/bff/logout", header: preflight},
			{name: "token", method: http.MethodPost, path: "/oauth2/token", body: tokenForm,
				header: map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Authorization": basic}},
			{name: "token preflight", method: http.MethodOptions, path: "/oauth2/token", header: preflight},
		} {
			t.Run(origin+"/"+tc.name, func(t *testing.T) {
				hdr := map[string]string{"Origin": origin}
				for k, v := range tc.header {
					hdr[k] = v
				}
				r := b.send(bffReq{method: tc.method, url: tc.path, body: tc.body, header: hdr})
				if r.Status >= 500 {
					t.Errorf("status %d", r.Status)
				}
				for k := range r.Header {
					if strings.HasPrefix(strings.ToLower(k), "access-control-") {
						t.Errorf("CORS header %s: %q", k, r.Header.Get(k))
					}
				}
			})
		}
	}
}
