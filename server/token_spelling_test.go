package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// flipLow sets the lowest bit of the last character's value: for a value
// whose length is not a multiple of three that bit is unused, so a lenient
// decoder reads the same bytes from another string.
func flipLow(s string) string {
	i := strings.IndexByte(b64url, s[len(s)-1])
	return s[:len(s)-1] + string(b64url[i^1])
}

// spellings are other strings for an HMAC token (prefix + key "." sig)
// or a JWS: each decodes, leniently, to the same bytes or names the same
// stored signature.
func spellings(token, prefix string) []struct{ name, s string } {
	dot := strings.LastIndexByte(token, '.')
	head, sig := token[:dot], token[dot+1:]
	out := []struct{ name, s string }{
		{"unused bits of the signature's last character", head + "." + flipLow(sig)},
		{"padding after the signature", token + "="},
		{"padding before the dot", head + "=." + sig},
		{"leading space", " " + token},
		{"trailing space", token + " "},
		{"line feed inside", token[:len(prefix)+4] + "\n" + token[len(prefix)+4:]},
		{"carriage return at the end", token + "\r"},
		{"tab inside", token[:len(prefix)+4] + "\t" + token[len(prefix)+4:]},
		{"percent-encoded character", token[:len(prefix)] + fmt.Sprintf("%%%02X", token[len(prefix)]) + token[len(prefix)+1:]},
	}
	if prefix != "" {
		key := strings.TrimPrefix(head, prefix)
		out = append(out,
			struct{ name, s string }{"unused bits of the key's last character", prefix + flipLow(key) + "." + sig},
			struct{ name, s string }{"without the prefix", key + "." + sig},
			struct{ name, s string }{"prefix in upper case", strings.ToUpper(prefix) + key + "." + sig})
	}
	if std := strings.NewReplacer("-", "+", "_", "/").Replace(token); std != token {
		out = append(out, struct{ name, s string }{"standard alphabet", std})
	}
	return out
}

// TestRefreshTokenHasOneSpelling: any spelling of a refresh token but the
// issued one is an invalid token everywhere, and never touches the real
// token: in particular a spent token within its grace window, in another
// spelling, neither gets a second successor nor revokes the family.
func TestRefreshTokenHasOneSpelling(t *testing.T) {
	h := newHarness(t, config{})
	t0 := h.login(webClient, aliceEmail, alicePassword, "")
	for _, sp := range spellings(t0.Refresh, "ory_rt_") {
		t.Run("live/"+sp.name, func(t *testing.T) {
			wantOAuthError(t, h.refresh(webClient, sp.s), http.StatusBadRequest, "invalid_grant")
			if h.active(sp.s) {
				t.Error("introspection calls the spelling active")
			}
			if r := h.revoke(webClient, sp.s, ""); r.Status != http.StatusOK {
				t.Errorf("revoke: status %d, body %s", r.Status, r.Raw)
			}
			if !h.active(t0.Refresh) {
				t.Fatal("the token itself was revoked")
			}
		})
	}
	t1 := h.mustRefresh(webClient, t0.Refresh)
	for _, sp := range spellings(t0.Refresh, "ory_rt_") {
		t.Run("spent within the grace window/"+sp.name, func(t *testing.T) {
			wantOAuthError(t, h.refresh(webClient, sp.s), http.StatusBadRequest, "invalid_grant")
			if !h.active(t1.Refresh) || !h.active(t1.Access) {
				t.Fatal("the successor was revoked")
			}
		})
	}
	if again := h.mustRefresh(webClient, t0.Refresh); again.Refresh != t1.Refresh {
		t.Error("the grace replay got another successor")
	}
	h.mustRefresh(webClient, t1.Refresh)
}

// TestAccessTokenHasOneSpelling: another spelling of an access token is
// inactive, refused at userinfo and revokes nothing.
func TestAccessTokenHasOneSpelling(t *testing.T) {
	h := newHarness(t, config{})
	tk := h.login(webClient, aliceEmail, alicePassword, "")
	for _, sp := range spellings(tk.Access, "") {
		t.Run(sp.name, func(t *testing.T) {
			if h.active(sp.s) {
				t.Error("introspection calls the spelling active")
			}
			if r := h.revoke(webClient, sp.s, "access_token"); r.Status != http.StatusOK {
				t.Errorf("revoke: status %d, body %s", r.Status, r.Raw)
			}
			// HTTP strips a header value's surrounding whitespace (RFC 9110
			// §5.5) and forbids line breaks in it: no other spelling there.
			if !strings.ContainsAny(sp.s, " \t\r\n") {
				if r := h.userinfo(sp.s); r.Status != http.StatusUnauthorized {
					t.Errorf("userinfo: status %d, want 401", r.Status)
				}
			}
			if !h.active(tk.Access) {
				t.Fatal("the token itself was revoked")
			}
		})
	}
}

// TestAuthorizationCodeHasOneSpelling: another spelling of a code is
// invalid_grant and does not use the code up.
func TestAuthorizationCodeHasOneSpelling(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	code, verifier := b.acCode(acApp, "openid")
	for _, sp := range spellings(code, "ory_ac_") {
		t.Run(sp.name, func(t *testing.T) {
			wantOAuthError(t, h.exchange(acApp, sp.s, verifier, acRedirectOf(acApp)), http.StatusBadRequest, "invalid_grant")
		})
	}
	h.mustExchange(acApp, code, verifier)
}
