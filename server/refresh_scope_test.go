package server_test

import (
	"net/http"
	"net/url"
	"testing"
)

// refreshScope presents a refresh token with a scope parameter.
func (h *harness) refreshScope(c testClient, rt, scope string) response {
	h.t.Helper()
	return h.form("/oauth2/token", c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "scope": {scope}})
}

// TestRefreshScope: a refresh's scope may narrow the family's grant for
// the new access token, never widen it (RFC 6749 §6): anything not
// originally granted is invalid_scope and spends nothing; a later refresh
// without scope gets the original grant again.
func TestRefreshScope(t *testing.T) {
	h := newHarness(t, config{})
	t.Run("wider or different scope is invalid_scope", func(t *testing.T) {
		h.t = t
		tk := h.login(webClient, aliceEmail, alicePassword, "read")
		for _, scope := range []string{
			"read write", // allowed to the client, not granted to this login
			"write", "admin", "read admin", "READ", "Read", "read\twrite", "read,write", "read\u200b",
		} {
			wantOAuthError(t, h.refreshScope(webClient, tk.Refresh, scope), http.StatusBadRequest, "invalid_scope")
		}
		// Refused requests spent nothing: the token still rotates.
		next := h.mustRefresh(webClient, tk.Refresh)
		if next.Scope != "read" {
			t.Errorf("scope after refused refreshes = %q, want read", next.Scope)
		}
	})
	t.Run("narrower scope applies to the new access token only", func(t *testing.T) {
		h.t = t
		tk := h.login(webClient, aliceEmail, alicePassword, "read write")
		for _, scope := range []string{"read", "read read", " read ", "read  "} {
			narrow := h.mustTokens(h.refreshScope(webClient, tk.Refresh, scope))
			if narrow.Scope != "read" {
				t.Errorf("scope %q: granted %q, want read", scope, narrow.Scope)
			}
			if got := jwtClaims(t, narrow.Access)["scope"]; got != "read" {
				t.Errorf("scope %q: access token scope claim %v, want read", scope, got)
			}
			if got := h.introspect(narrow.Access).str("scope"); got != "read" {
				t.Errorf("scope %q: introspected scope %q, want read", scope, got)
			}
			// The family keeps its grant: the next refresh without a
			// scope gets both scopes back, and may not widen past them.
			wantOAuthError(t, h.refreshScope(webClient, narrow.Refresh, "read write admin"), http.StatusBadRequest, "invalid_scope")
			full := h.mustRefresh(webClient, narrow.Refresh)
			if full.Scope != "read write" {
				t.Errorf("scope %q: later refresh without scope granted %q, want read write", scope, full.Scope)
			}
			tk = full
		}
	})
	t.Run("empty scope is an omitted one", func(t *testing.T) {
		h.t = t
		tk := h.login(webClient, aliceEmail, alicePassword, "read write")
		if got := h.mustTokens(h.refreshScope(webClient, tk.Refresh, "")).Scope; got != "read write" {
			t.Errorf("empty scope granted %q, want read write", got)
		}
	})
}
