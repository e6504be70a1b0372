package server_test

import (
	"net/http"
	"testing"
)

// TestSpentTokenFromAnotherClient: a client holding another client's
// rotated refresh token must not be able to revoke that user's family by
// presenting it (fosite's reuse detection runs before its client check).
func TestSpentTokenFromAnotherClient(t *testing.T) {
	h := newHarness(t, config{noGrace: true})
	first := h.login(webClient, aliceEmail, alicePassword, "")
	second := h.mustRefresh(webClient, first.Refresh)

	r := h.refresh(otherClient, first.Refresh)
	wantOAuthError(t, r, http.StatusBadRequest, "invalid_grant")

	if !h.active(second.Access) {
		t.Fatal("the victim's access token was revoked by another client's request")
	}
	h.mustRefresh(webClient, second.Refresh)
}

// TestIntrospectionSeesRotatedTokenInactive: the grace window is for the
// owning client's refresh retry only; introspection reports a rotated
// refresh token inactive at once.
func TestIntrospectionSeesRotatedTokenInactive(t *testing.T) {
	h := newHarness(t, config{})
	first := h.login(webClient, aliceEmail, alicePassword, "")
	h.mustRefresh(webClient, first.Refresh)
	if h.active(first.Refresh) {
		t.Fatal("a rotated refresh token introspects active")
	}
	// The grace replay still works for the owning client.
	h.mustRefresh(webClient, first.Refresh)
}
