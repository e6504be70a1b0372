package server_test

import (
	"net/http"
	"testing"
	"time"
)

// TestReuseMetricEndedFamily: a spent token presented after its family
// has ended by its absolute lifetime is no theft signal: the family can
// mint nothing any more. rotor_refresh_reuse_detected_total and the
// refresh_reuse_detected audit event stay for reuse in a live family.
func TestReuseMetricEndedFamily(t *testing.T) {
	h := newHarness(t, config{noGrace: true, sessionMaxTTL: time.Hour, refreshIdleTTL: 3 * time.Hour})
	reused := func() float64 { return scrape(t, h)["rotor_refresh_reuse_detected_total"] }
	first := h.login(mobileClient, aliceEmail, alicePassword, "")
	second := h.mustRefresh(mobileClient, first.Refresh)
	h.storeClock.Advance(2 * time.Hour)
	h.srvClock.Advance(2 * time.Hour)
	for _, rt := range []string{first.Refresh, second.Refresh, first.Refresh} {
		wantOAuthError(t, h.refresh(mobileClient, rt), http.StatusBadRequest, "invalid_grant")
	}
	if v := reused(); v != 0 {
		t.Errorf("reuse counted %v times for a spent token of an ended family", v)
	}
	if n := h.countAudit("refresh_reuse_detected"); n != 0 {
		t.Errorf("%d refresh_reuse_detected rows for an ended family", n)
	}
}
