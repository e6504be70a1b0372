package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/rotorauth/rotor/storage"
)

const auditUA = "rotor-audit-test/1.0 (abuse)"

// TestAuditEvents: every security event lands in audit_events with who,
// which client, from where (the connection's IP and the user agent) and
// why, and none holds a password, secret or token.
func TestAuditEvents(t *testing.T) {
	a := newAbuseHarness(t, abuseConfig{throttle: throttleOpts, oidc: true, noGrace: true})
	c := clientFrom(t, attackerIP)
	ua := http.Header{"User-Agent": {auditUA}}
	alice := a.users[aliceEmail].ID
	var secrets []string // everything no event may contain

	// tokenReq posts a token-endpoint form as webClient with the UA.
	tokenReq := func(t *testing.T, path string, v url.Values, secret string) response {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, a.URL+path, strings.NewReader(v.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", auditUA)
		req.SetBasicAuth(webClient.ID, secret)
		return a.sendWith(c, req)
	}
	familyOfToken := func(t *testing.T, rt string) string {
		t.Helper()
		var id string
		if err := a.openDB().QueryRow(`SELECT request_id FROM refresh_tokens WHERE signature = ?`, refreshSignature(rt)).Scan(&id); err != nil {
			t.Fatalf("family of refresh token: %v", err)
		}
		return id
	}
	passwordLogin := func(t *testing.T) tokens {
		t.Helper()
		r := tokenReq(t, "/oauth2/token", url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}}, webClient.Secret)
		tk := a.mustTokens(r)
		secrets = append(secrets, tk.Access, tk.Refresh, refreshSignature(tk.Refresh))
		return tk
	}

	tests := []struct {
		name string
		// act causes the events and returns the family id they concern ("" if none).
		act  func(t *testing.T) string
		want []storage.AuditEvent
	}{
		{
			name: "password grant: wrong password",
			act: func(t *testing.T) string {
				signInSurfaces[0].wantFailed(t, signInSurfaces[0].try(t, a.harness, c, aliceEmail, "Wrong-Pa55word", ua), "wrong password")
				return ""
			},
			want: []storage.AuditEvent{{Type: "login_failed", Email: aliceEmail, ClientID: webClient.ID}},
		},
		{
			name: "password grant: unknown user",
			act: func(t *testing.T) string {
				signInSurfaces[0].wantFailed(t, signInSurfaces[0].try(t, a.harness, c, "Nobody@Example.com", "Wrong-Pa55word", ua), "unknown user")
				return ""
			},
			want: []storage.AuditEvent{{Type: "login_failed", Email: "nobody@example.com", ClientID: webClient.ID}},
		},
		{
			name: "password grant: success",
			act: func(t *testing.T) string {
				signInSurfaces[0].wantOK(t, signInSurfaces[0].try(t, a.harness, c, aliceEmail, alicePassword, ua), "right password")
				return ""
			},
			want: []storage.AuditEvent{{Type: "login_succeeded", Subject: alice, Email: aliceEmail, ClientID: webClient.ID}},
		},
		{
			name: "login form: wrong password",
			act: func(t *testing.T) string {
				signInSurfaces[1].wantFailed(t, signInSurfaces[1].try(t, a.harness, c, aliceEmail, "Wrong-Pa55word", ua), "wrong password")
				return ""
			},
			want: []storage.AuditEvent{{Type: "login_failed", Email: aliceEmail, ClientID: acFirstParty.ID}},
		},
		{
			name: "login form: success",
			act: func(t *testing.T) string {
				signInSurfaces[1].wantOK(t, signInSurfaces[1].try(t, a.harness, c, aliceEmail, alicePassword, ua), "right password")
				return ""
			},
			want: []storage.AuditEvent{{Type: "login_succeeded", Subject: alice, Email: aliceEmail, ClientID: acFirstParty.ID}},
		},
		{
			name: "client authentication failure",
			act: func(t *testing.T) string {
				r := tokenReq(t, "/oauth2/token", url.Values{"grant_type": {"client_credentials"}}, "not-the-secret-0123456789")
				wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
				return ""
			},
			want: []storage.AuditEvent{{Type: "client_auth_failed", ClientID: webClient.ID}},
		},
		{
			name: "throttling triggered, password grant",
			act: func(t *testing.T) string {
				s := signInSurfaces[0]
				for i := 0; i < 6; i++ {
					s.wantFailed(t, s.try(t, a.harness, c, bobEmail, "Wrong-Pa55word", ua), "bob's wrong password")
				}
				s.wantThrottled(t, s.try(t, a.harness, c, bobEmail, bobPassword, ua), "bob's right password")
				return ""
			},
			want: append(repeatEvent(storage.AuditEvent{Type: "login_failed", Email: bobEmail, ClientID: webClient.ID}, 6),
				storage.AuditEvent{Type: "throttled", Email: bobEmail, ClientID: webClient.ID, Detail: "1s"}),
		},
		{
			name: "throttling triggered, login form",
			act: func(t *testing.T) string {
				s := signInSurfaces[1]
				s.wantThrottled(t, s.try(t, a.harness, c, bobEmail, bobPassword, ua), "bob's right password")
				return ""
			},
			want: []storage.AuditEvent{{Type: "throttled", Email: bobEmail, ClientID: acFirstParty.ID, Detail: "1s"}},
		},
		{
			name: "refresh token reuse revokes the family",
			act: func(t *testing.T) string {
				tk := passwordLogin(t)
				v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.Refresh}}
				next := a.mustTokens(tokenReq(t, "/oauth2/token", v, webClient.Secret))
				secrets = append(secrets, next.Access, next.Refresh)
				wantOAuthError(t, tokenReq(t, "/oauth2/token", v, webClient.Secret), http.StatusBadRequest, "invalid_grant")
				return familyOfToken(t, tk.Refresh)
			},
			want: []storage.AuditEvent{
				{Type: "login_succeeded", Subject: alice, Email: aliceEmail, ClientID: webClient.ID},
				{Type: "refresh_reuse_detected", Subject: alice, ClientID: webClient.ID, FamilyID: "*"},
				{Type: "family_revoked", Subject: alice, ClientID: webClient.ID, FamilyID: "*", Detail: "refresh_token_reuse"},
			},
		},
		{
			name: "revocation endpoint revokes the family",
			act: func(t *testing.T) string {
				tk := passwordLogin(t)
				r := tokenReq(t, "/oauth2/revoke", url.Values{"token": {tk.Refresh}}, webClient.Secret)
				if r.Status != http.StatusOK {
					t.Fatalf("revoke: status %d, body %s", r.Status, r.Raw)
				}
				return familyOfToken(t, tk.Refresh)
			},
			want: []storage.AuditEvent{
				{Type: "login_succeeded", Subject: alice, Email: aliceEmail, ClientID: webClient.ID},
				{Type: "family_revoked", Subject: alice, ClientID: webClient.ID, FamilyID: "*", Detail: "revocation_endpoint"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a.t = t
			before := len(a.auditEvents())
			family := tc.act(t)
			got := a.auditEvents()[before:]
			if len(got) != len(tc.want) {
				t.Errorf("%d new events, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, want := range tc.want {
				if i >= len(got) {
					break
				}
				want.IP, want.UserAgent, want.Count = attackerIP, auditUA, 1
				if want.FamilyID == "*" {
					want.FamilyID = family
				}
				g := got[i]
				if g.Time.IsZero() || g.ID == 0 {
					t.Errorf("event %d has no time or id: %+v", i, g)
				}
				g.ID, g.Time = 0, want.Time
				if g != want {
					t.Errorf("event %d:\n got %+v\nwant %+v", i, g, want)
				}
			}
		})
	}
	a.t = t

	t.Run("no secret in any event", func(t *testing.T) {
		events := a.auditEvents()
		if len(events) < 12 {
			t.Fatalf("only %d events", len(events))
		}
		secrets = append(secrets, alicePassword, bobPassword, "Wrong-Pa55word", webClient.Secret, "not-the-secret-0123456789")
		for _, e := range events {
			all := strings.Join([]string{e.Type, e.Subject, e.Email, e.ClientID, e.FamilyID, e.IP, e.UserAgent, e.Detail}, "\x00")
			for _, s := range secrets {
				if strings.Contains(all, s) {
					t.Errorf("event %s holds a secret: %+v", e.Type, e)
				}
			}
		}
	})
	t.Run("per-user listing", func(t *testing.T) {
		// As `rotor audit tail --user` asks: by subject, plus failed
		// sign-ins by email.
		events, err := a.store.AuditEvents(t.Context(), alice, aliceEmail, 100)
		if err != nil {
			t.Fatal(err)
		}
		types := map[string]int{}
		for _, e := range events {
			if e.Subject != alice && e.Email != aliceEmail {
				t.Errorf("someone else's event in alice's listing: %+v", e)
			}
			types[e.Type]++
		}
		for _, want := range []string{"login_failed", "login_succeeded", "refresh_reuse_detected", "family_revoked"} {
			if types[want] == 0 {
				t.Errorf("alice's listing has no %s event: %v", want, types)
			}
		}
	})
}

func repeatEvent(e storage.AuditEvent, n int) []storage.AuditEvent {
	out := make([]storage.AuditEvent, n)
	for i := range out {
		out[i] = e
	}
	return out
}
