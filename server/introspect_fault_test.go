package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// TestIntrospectionFaultIsNotAnAnswer: a storage failure while reading a
// token is 503 temporarily_unavailable at introspection, revocation and
// userinfo, never an inactive or invalid token; and the token survives.
func TestIntrospectionFaultIsNotAnAnswer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(h *harness, tk tokens)
		// only: the requests that meet the fault (all of them if empty);
		// the others must still get their answer.
		only []string
	}{
		{name: "refresh token row unreadable", break_: func(h *harness, tk tokens) {
			h.exec(`UPDATE refresh_tokens SET data = 'not json' WHERE signature = ?`, refreshSignature(tk.Refresh))
		}, only: []string{"introspect refresh token", "introspect refresh token, hinted"}},
		{name: "refresh token table gone", break_: func(h *harness, _ tokens) {
			h.exec(`ALTER TABLE refresh_tokens RENAME TO refresh_tokens_gone`)
		}},
		{name: "access token table gone", break_: func(h *harness, _ tokens) {
			h.exec(`ALTER TABLE access_tokens RENAME TO access_tokens_gone`)
		}},
		{name: "database closed", break_: func(h *harness, _ tokens) {
			if err := h.store.Close(); err != nil {
				h.t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, config{})
			tk := h.login(webClient, aliceEmail, alicePassword, "")
			if !h.active(tk.Refresh) || !h.active(tk.Access) { // also caches the callers
				t.Fatal("fresh tokens inactive")
			}
			h.revoke(webClient, "unknown", "") // caches web
			tc.break_(h, tk)
			for _, rq := range []struct {
				name string
				do   func() response
			}{
				{name: "introspect refresh token", do: func() response { return h.introspect(tk.Refresh) }},
				{name: "introspect refresh token, hinted", do: func() response {
					return h.post("/oauth2/introspect", "application/x-www-form-urlencoded",
						url.Values{"token": {tk.Refresh}, "token_type_hint": {"refresh_token"}}.Encode(), &auditorClient)
				}},
				{name: "introspect access token, hinted as refresh", do: func() response {
					return h.post("/oauth2/introspect", "application/x-www-form-urlencoded",
						url.Values{"token": {tk.Access}, "token_type_hint": {"refresh_token"}}.Encode(), &auditorClient)
				}},
				{name: "revoke refresh token", do: func() response { return h.revoke(webClient, tk.Refresh, "") }},
			} {
				r := rq.do()
				if len(tc.only) > 0 && !slices.Contains(tc.only, rq.name) {
					if r.Status != http.StatusOK {
						t.Errorf("%s, untouched by the fault: status %d, body %s", rq.name, r.Status, r.Raw)
					}
					continue
				}
				wantOAuthError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
				if _, leaked := r.JSON["active"]; leaked {
					t.Errorf("%s: a fault answered %s", rq.name, r.Raw)
				}
			}
			if len(tc.only) > 0 {
				return
			}
			if r := h.userinfo(tk.Access); r.Status != http.StatusServiceUnavailable {
				t.Errorf("userinfo: status %d, want 503; body %s", r.Status, r.Raw)
			}
		})
	}
}

// exec runs a statement on the harness's database file.
func (h *harness) exec(q string, args ...any) {
	h.t.Helper()
	if _, err := h.openDB().Exec(q, args...); err != nil {
		h.t.Fatalf("%s: %v", q, err)
	}
}
