package server_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestPKCEAtTokenEndpoint: the verifier must match the S256 challenge; a
// verifier without a challenge is refused; only a confidential client
// registered PKCEOptional may skip PKCE.
func TestPKCEAtTokenEndpoint(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	// Sign in and consent for every client once.
	for _, c := range []testClient{acApp, acSPA, acLegacy} {
		b.acCode(c, "openid")
	}
	codeWith := func(c testClient, pkce bool) (string, string) {
		v, verifier := acParams(c, "openid")
		if !pkce {
			delPKCE(v)
			verifier = ""
		}
		q := callback(t, b.authorize(v, aliceEmail, alicePassword), acRedirectOf(c))
		return q.Get("code"), verifier
	}
	for _, tc := range []struct {
		name     string
		client   testClient
		pkce     bool   // send a challenge at authorize
		verifier string // "" keeps the right one; "-" sends none
		ok       bool
	}{
		{name: "right verifier, confidential", client: acApp, pkce: true, ok: true},
		{name: "right verifier, public", client: acSPA, pkce: true, ok: true},
		{name: "wrong verifier", client: acApp, pkce: true, verifier: oauth2.GenerateVerifier()},
		{name: "wrong verifier, public", client: acSPA, pkce: true, verifier: oauth2.GenerateVerifier()},
		{name: "missing verifier", client: acSPA, pkce: true, verifier: "-"},
		{name: "verifier too short", client: acApp, pkce: true, verifier: "short"},
		{name: "PKCEOptional client without PKCE", client: acLegacy, pkce: false, verifier: "-", ok: true},
		{name: "PKCEOptional client with PKCE", client: acLegacy, pkce: true, ok: true},
		{name: "PKCEOptional client, wrong verifier", client: acLegacy, pkce: true, verifier: oauth2.GenerateVerifier()},
		{name: "verifier without a challenge at authorize", client: acLegacy, pkce: false, verifier: oauth2.GenerateVerifier()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, verifier := codeWith(tc.client, tc.pkce)
			switch tc.verifier {
			case "":
			case "-":
				verifier = ""
			default:
				verifier = tc.verifier
			}
			r := h.exchange(tc.client, code, verifier, acRedirectOf(tc.client))
			if tc.ok {
				if r.Status != http.StatusOK || r.str("access_token") == "" || r.str("id_token") == "" {
					t.Errorf("exchange: %d %s", r.Status, r.Raw)
				}
				return
			}
			wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")
		})
	}
}

// TestCodeExchangeRejected: a code is bound to its client and redirect
// URI, and expires after 60 seconds.
func TestCodeExchangeRejected(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	b.acCode(acApp, "openid")
	for _, tc := range []struct {
		name     string
		exchange func(code, verifier string) response
		status   int
		errCode  string
	}{
		{name: "another client", exchange: func(code, verifier string) response {
			return h.exchange(acFirstParty, code, verifier, acAppRedirect)
		}, status: http.StatusBadRequest, errCode: "invalid_grant"},
		{name: "another registered redirect URI", exchange: func(code, verifier string) response {
			return h.exchange(acApp, code, verifier, acAppLoopback)
		}, status: http.StatusBadRequest, errCode: "invalid_grant"},
		{name: "no redirect URI", exchange: func(code, verifier string) response {
			return h.exchange(acApp, code, verifier, "")
		}, status: http.StatusBadRequest, errCode: "invalid_grant"},
		{name: "made-up code", exchange: func(_, verifier string) response {
			return h.exchange(acApp, "ory_ac_"+oauth2.GenerateVerifier()+"."+oauth2.GenerateVerifier(), verifier, acAppRedirect)
		}, status: http.StatusBadRequest, errCode: "invalid_grant"},
		{name: "wrong client secret", exchange: func(code, verifier string) response {
			c := acApp
			c.Secret = "wrong"
			return h.exchange(c, code, verifier, acAppRedirect)
		}, status: http.StatusUnauthorized, errCode: "invalid_client"},
		{name: "expired code", exchange: func(code, verifier string) response {
			h.expireCode(t, code)
			return h.exchange(acApp, code, verifier, acAppRedirect)
		}, status: http.StatusBadRequest, errCode: "invalid_grant"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, verifier := b.acCode(acApp, "openid")
			wantOAuthError(t, tc.exchange(code, verifier), tc.status, tc.errCode)
		})
	}
	t.Run("code lifetime is 60 seconds", func(t *testing.T) {
		b.acCode(acApp, "openid")
		var secs float64
		row := h.openDB().QueryRow(`SELECT (julianday(expires_at) - julianday(requested_at)) * 86400 FROM authorize_codes ORDER BY requested_at DESC LIMIT 1`)
		if err := row.Scan(&secs); err != nil {
			t.Fatal(err)
		}
		if secs < 59 || secs > 61 {
			t.Errorf("code lifetime = %.1f s, want 60", secs)
		}
	})
}

// expireCode moves a stored code's expiry into the past, as if 60 seconds
// had gone by (fosite checks it against the wall clock).
func (h *harness) expireCode(t *testing.T, code string) {
	t.Helper()
	db := h.openDB()
	var n int
	rows, err := db.Query(`SELECT signature, data FROM authorize_codes WHERE active = 1`)
	if err != nil {
		t.Fatal(err)
	}
	type rec struct {
		sig  string
		data []byte
	}
	var recs []rec
	for rows.Next() {
		var r rec
		if err := rows.Scan(&r.sig, &r.data); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	rows.Close()
	past := time.Now().Add(-time.Second).UTC()
	for _, r := range recs {
		var stored map[string]json.RawMessage
		if err := json.Unmarshal(r.data, &stored); err != nil {
			t.Fatal(err)
		}
		var sess map[string]any
		if err := json.Unmarshal(stored["session"], &sess); err != nil {
			t.Fatal(err)
		}
		exp, _ := sess["expires_at"].(map[string]any)
		if exp == nil {
			exp = map[string]any{}
		}
		exp["authorize_code"] = past
		sess["expires_at"] = exp
		stored["session"], _ = json.Marshal(sess)
		data, _ := json.Marshal(stored)
		if _, err := db.Exec(`UPDATE authorize_codes SET data = ?, expires_at = ? WHERE signature = ?`, data, past, r.sig); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("no active code to expire for %s", code[:8])
	}
}
