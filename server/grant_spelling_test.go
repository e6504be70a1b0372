package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// countAudit counts stored audit events of a type.
// countAudit counts the occurrences of an audit event type: one row may
// aggregate several (its Count).
func (h *harness) countAudit(typ string) int {
	h.t.Helper()
	n := 0
	for _, e := range h.auditEvents() {
		if e.Type == typ {
			n += int(max(e.Count, 1))
		}
	}
	return n
}

// TestGrantTypeSpelling: a grant_type that is not exactly one grant name
// Rotor serves is refused before any work (no sign-in gate, no password
// check, no audit row), whatever fosite's split-and-trim would make of
// it; the exact name is throttled and audited.
func TestGrantTypeSpelling(t *testing.T) {
	a := newAbuseHarness(t, abuseConfig{throttle: throttleOpts})
	h := a.harness
	cases := []struct {
		name, raw string // raw: the encoded grant_type parameter(s)
		want      string
	}{
		{name: "trailing space", raw: "grant_type=password+", want: "invalid_request"},
		{name: "leading space", raw: "grant_type=+password", want: "invalid_request"},
		{name: "tab", raw: "grant_type=password%09", want: "invalid_request"},
		{name: "newline", raw: "grant_type=password%0A", want: "invalid_request"},
		{name: "vertical tab", raw: "grant_type=%0Bpassword", want: "invalid_request"},
		{name: "NUL", raw: "grant_type=password%00", want: "invalid_request"},
		{name: "non-breaking space", raw: "grant_type=password%C2%A0", want: "invalid_request"},
		{name: "twice", raw: "grant_type=password+password", want: "invalid_request"},
		{name: "two grants", raw: "grant_type=password+refresh_token", want: "invalid_request"},
		{name: "comma list", raw: "grant_type=password,refresh_token", want: "unsupported_grant_type"},
		{name: "capitalised", raw: "grant_type=Password", want: "unsupported_grant_type"},
		{name: "upper case", raw: "grant_type=PASSWORD", want: "unsupported_grant_type"},
		{name: "unknown", raw: "grant_type=implicit", want: "unsupported_grant_type"},
		{name: "URI grant", raw: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer", want: "unsupported_grant_type"},
		{name: "empty", raw: "grant_type=", want: "invalid_request"},
		{name: "only spaces", raw: "grant_type=+++", want: "invalid_request"},
		{name: "missing", raw: "", want: "invalid_request"},
		{name: "repeated", raw: "grant_type=password&grant_type=password", want: "invalid_request"},
		{name: "oversized", raw: "grant_type=" + strings.Repeat("p", 4000), want: "unsupported_grant_type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.t = t
			before := len(h.auditEvents())
			// 30 wrong guesses at alice's password in this spelling.
			for i := 0; i < 30; i++ {
				body := "username=" + url.QueryEscape(aliceEmail) + "&password=wrong"
				if tc.raw != "" {
					body = tc.raw + "&" + body
				}
				r := h.post("/oauth2/token", "application/x-www-form-urlencoded", body, &webClient)
				wantOAuthError(t, r, http.StatusBadRequest, tc.want)
				if t.Failed() {
					return
				}
			}
			if after := len(h.auditEvents()); after != before {
				t.Errorf("%d audit rows written for refused requests", after-before)
			}
		})
	}
	// The spellings above cost alice nothing: her password still works.
	t.Run("exact name still signs in", func(t *testing.T) {
		h.t = t
		h.login(webClient, aliceEmail, alicePassword, "")
	})
	t.Run("exact name is throttled and audited", func(t *testing.T) {
		h.t = t
		throttled := 0
		for i := 0; i < 30; i++ {
			r := tryPasswordGrant(t, h, h.http, aliceEmail, "wrong", nil)
			if r.Status == http.StatusTooManyRequests {
				throttled++
			}
		}
		if throttled == 0 {
			t.Error("30 wrong guesses: no 429")
		}
		if n := h.countAudit("login_failed"); n < 5 {
			t.Errorf("%d login_failed audit rows, want at least 5", n)
		}
		a.srv.FlushAudit(t.Context())
		if n := h.countAudit("throttled"); n != throttled {
			t.Errorf("%d throttled audit rows for %d 429 answers", n, throttled)
		}
	})
}

// TestGrantTypeSpellingConcurrent: concurrent variant spellings are all
// refused the same way and leave the exact grant working.
func TestGrantTypeSpellingConcurrent(t *testing.T) {
	h := newHarness(t, config{})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			spelling := []string{"password+", "+password", "password%09", "password+password"}[i%4]
			req, _ := http.NewRequest(http.MethodPost, h.URL+"/oauth2/token",
				strings.NewReader("grant_type="+spelling+"&username=alice%40example.com&password=wrong"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(webClient.ID, webClient.Secret)
			res, err := h.http.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer res.Body.Close()
			var body map[string]string
			_ = json.NewDecoder(res.Body).Decode(&body)
			if res.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
				errs <- spelling + ": " + res.Status + " " + body["error"]
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := h.countAudit("login_failed"); n != 0 {
		t.Errorf("%d login_failed rows for refused spellings", n)
	}
	h.login(webClient, aliceEmail, alicePassword, "")
}
