package server_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// With a short access token, a burst of API calls on one session spends
// the refresh token once; the family lives on.
func TestBFFSingleFlightRefresh(t *testing.T) {
	t.Parallel()
	const ttl = 2 * time.Second
	h := newBFFHarness(t, bffConfig{accessTTL: ttl})
	b := h.newBrowser()
	b.signIn("/app/")
	if r := b.api(http.MethodGet, "hello"); r.Status != http.StatusOK {
		t.Fatalf("first call: status %d, body %s", r.Status, r.Raw)
	}
	time.Sleep(ttl + 500*time.Millisecond) // the access token has expired

	bffBefore, refreshBefore := h.metric("rotor_bff_refresh_total"), h.metric("rotor_token_refresh_total")
	const n = 20
	statuses := make([]int, n)
	bodies := make([][]byte, n)
	cookie := b.session()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest(http.MethodGet, h.URL+"/bff/api/hello", nil)
			req.Header.Set("Cookie", bffSessionName+"="+cookie)
			req.Header.Set("X-CSRF", "1")
			res, err := h.noRedirect.Do(req)
			if err != nil {
				return
			}
			defer res.Body.Close()
			statuses[i] = res.StatusCode
			bodies[i], _ = io.ReadAll(res.Body)
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if statuses[i] != http.StatusOK || !strings.Contains(string(bodies[i]), h.users[aliceEmail].ID) {
			t.Errorf("call %d: status %d, body %s", i, statuses[i], bodies[i])
		}
	}
	if d := h.metric("rotor_bff_refresh_total") - bffBefore; d != 1 {
		t.Errorf("BFF refreshes during the burst = %v, want 1", d)
	}
	if d := h.metric("rotor_token_refresh_total") - refreshBefore; d != 1 {
		t.Errorf("refresh grants during the burst = %v, want 1", d)
	}
	if v := h.metric("rotor_refresh_reuse_detected_total"); v != 0 {
		t.Errorf("reuse detected %v times, want 0", v)
	}

	// The family is alive: once the new token expires too, the next call
	// refreshes again with the rotated refresh token.
	time.Sleep(ttl + 500*time.Millisecond)
	if r := b.api(http.MethodGet, "hello"); r.Status != http.StatusOK {
		t.Fatalf("call after the second expiry: status %d, body %s", r.Status, r.Raw)
	}
	if d := h.metric("rotor_bff_refresh_total") - bffBefore; d != 2 {
		t.Errorf("BFF refreshes after the second expiry = %v, want 2", d)
	}
	if v := h.metric("rotor_refresh_reuse_detected_total"); v != 0 {
		t.Errorf("reuse detected %v times, want 0", v)
	}
	db := h.openDB()
	if n := h.queryInt(db, `SELECT COUNT(*) FROM token_families WHERE subject = ? AND revoked_at IS NULL`, h.users[aliceEmail].ID); n != 1 {
		t.Errorf("%d live families for alice, want 1", n)
	}
}

// A family revoked elsewhere ends the BFF session once the access token
// needs a refresh: 401 from /bff/api/*, then from /bff/session.
func TestBFFFamilyRevokedElsewhere(t *testing.T) {
	for _, tc := range []struct {
		name   string
		revoke func(h *bffHarness, subject string)
	}{
		{name: "sign out everywhere", revoke: func(h *bffHarness, subject string) {
			if n, err := h.store.RevokeSubjectFamilies(context.Background(), subject, "test"); err != nil || n != 1 {
				h.t.Fatalf("RevokeSubjectFamilies = %d, %v; want 1 family", n, err)
			}
		}},
		{name: "revoke the family", revoke: func(h *bffHarness, subject string) {
			var id string
			if err := h.openDB().QueryRow(`SELECT id FROM token_families WHERE subject = ?`, subject).Scan(&id); err != nil {
				h.t.Fatal(err)
			}
			if ok, err := h.store.RevokeFamily(context.Background(), id, "test"); err != nil || !ok {
				h.t.Fatalf("RevokeFamily = %v, %v", ok, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newBFFHarness(t, bffConfig{})
			b := h.newBrowser()
			b.signIn("/app/")
			cookie := b.session()
			sub := h.users[aliceEmail].ID
			if r := b.api(http.MethodGet, "hello"); r.Status != http.StatusOK {
				t.Fatalf("before revocation: status %d, body %s", r.Status, r.Raw)
			}
			tc.revoke(h, sub)
			// The access token (10 minutes) is now due for a refresh.
			h.srvClock.Advance(10*time.Minute - 5*time.Second)

			r := h.send(bffReq{url: "/bff/api/hello", header: withSession(cookie, map[string]string{"X-CSRF": "1"})})
			wantBFFError(t, r, http.StatusUnauthorized, "unauthorized")
			if ck := r.cookie(bffSessionName); ck == nil || ck.MaxAge >= 0 || ck.SameSite != http.SameSiteStrictMode {
				t.Errorf("the 401 does not clear the session cookie (Strict): %q", r.Header.Values("Set-Cookie"))
			}
			r = h.send(bffReq{url: "/bff/session", header: withSession(cookie, nil)})
			wantBFFError(t, r, http.StatusUnauthorized, "unauthorized")
			if n := h.queryInt(h.openDB(), `SELECT COUNT(*) FROM bff_sessions`); n != 0 {
				t.Errorf("%d BFF sessions left, want 0", n)
			}
			if v := h.metric("rotor_bff_refresh_total"); v != 0 {
				t.Errorf("BFF refreshes = %v, want 0", v)
			}
		})
	}
}

// A refresh token left unused past the refresh idle TTL can't be
// refreshed: the API call that needs the refresh ends the session.
func TestBFFRefreshTokenIdleExpiry(t *testing.T) {
	t.Parallel()
	h := newBFFHarness(t, bffConfig{accessTTL: 2 * time.Second, refreshIdleTTL: 3 * time.Second})
	b := h.newBrowser()
	b.signIn("/app/")
	cookie := b.session()
	time.Sleep(3*time.Second + 500*time.Millisecond) // fosite checks refresh expiry with the real clock
	r := h.send(bffReq{url: "/bff/api/hello", header: withSession(cookie, map[string]string{"X-CSRF": "1"})})
	wantBFFError(t, r, http.StatusUnauthorized, "unauthorized")
	r = h.send(bffReq{url: "/bff/session", header: withSession(cookie, nil)})
	wantBFFError(t, r, http.StatusUnauthorized, "unauthorized")
	if v := h.metric("rotor_bff_refresh_total"); v != 0 {
		t.Errorf("BFF refreshes = %v, want 0", v)
	}
}
