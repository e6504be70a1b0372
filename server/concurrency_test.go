package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const racers = 50

// raceRefresh presents rt from n goroutines released at once.
func (h *harness) raceRefresh(c testClient, rt string, n int) []response {
	h.t.Helper()
	body := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode()
	out := make([]response, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodPost, h.URL+"/oauth2/token", strings.NewReader(body))
			if err != nil {
				errs[i] = err
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(c.ID, c.Secret)
			<-start
			res, err := h.http.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer res.Body.Close()
			r := response{Status: res.StatusCode, Header: res.Header}
			if r.Raw, errs[i] = io.ReadAll(res.Body); errs[i] != nil {
				return
			}
			errs[i] = json.Unmarshal(r.Raw, &r.JSON)
			out[i] = r
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			h.t.Fatalf("racer %d: %v", i, err)
		}
	}
	return out
}

// TestConcurrentRefreshWithGrace: 50 simultaneous refreshes of one token
// all succeed with the same successor, the family stays alive and the
// database holds exactly one live successor.
func TestConcurrentRefreshWithGrace(t *testing.T) {
	h := newHarness(t, config{grace: 10 * time.Second})
	t0 := h.login(webClient, aliceEmail, alicePassword, "read")
	results := h.raceRefresh(webClient, t0.Refresh, racers)

	successor := ""
	for i, r := range results {
		if r.Status != http.StatusOK {
			t.Errorf("racer %d: status %d, body %s", i, r.Status, r.Raw)
			continue
		}
		rt := r.str("refresh_token")
		if successor == "" {
			successor = rt
		}
		if rt != successor {
			t.Errorf("racer %d got a different successor", i)
		}
		if r.str("access_token") == "" {
			t.Errorf("racer %d got no access token", i)
		}
	}
	if successor == "" {
		t.Fatal("no racer succeeded")
	}
	db := h.openDB()
	if n := h.queryInt(db, `SELECT COUNT(*) FROM refresh_tokens WHERE parent_signature = ? AND active = 1`, refreshSignature(t0.Refresh)); n != 1 {
		t.Errorf("live successors of the raced token = %d, want 1", n)
	}
	if n := h.queryInt(db, `SELECT COUNT(*) FROM refresh_tokens WHERE parent_signature = ?`, refreshSignature(t0.Refresh)); n != 1 {
		t.Errorf("successor rows of the raced token = %d, want 1", n)
	}
	if n := h.queryInt(db, `SELECT COUNT(*) FROM token_families WHERE revoked_at IS NOT NULL`); n != 0 {
		t.Errorf("revoked families = %d, want 0", n)
	}
	// The successor carries the session on.
	next := h.mustRefresh(webClient, successor)
	if !h.active(next.Access) {
		t.Error("access token after the race is inactive")
	}
}

// TestConcurrentRefreshWithoutGrace: with grace 0 exactly one racer wins,
// every other gets invalid_grant, and the losers' reuse revokes the family
// (including the winner's successor). Never a 500.
func TestConcurrentRefreshWithoutGrace(t *testing.T) {
	h := newHarness(t, config{noGrace: true})
	t0 := h.login(webClient, aliceEmail, alicePassword, "")
	results := h.raceRefresh(webClient, t0.Refresh, racers)

	var winners []response
	for i, r := range results {
		switch {
		case r.Status == http.StatusOK:
			winners = append(winners, r)
		case r.Status == http.StatusBadRequest && r.str("error") == "invalid_grant":
		default:
			t.Errorf("racer %d: status %d, body %s", i, r.Status, r.Raw)
		}
	}
	if len(winners) != 1 {
		t.Fatalf("winners = %d, want exactly 1", len(winners))
	}
	winner := winners[0]
	db := h.openDB()
	if n := h.queryInt(db, `SELECT COUNT(*) FROM refresh_tokens WHERE parent_signature = ? AND active = 1`, refreshSignature(t0.Refresh)); n > 1 {
		t.Errorf("live successors of the raced token = %d, want at most 1", n)
	}
	if n := h.queryInt(db, `SELECT COUNT(*) FROM refresh_tokens WHERE parent_signature = ?`, refreshSignature(t0.Refresh)); n != 1 {
		t.Errorf("successor rows of the raced token = %d, want 1", n)
	}
	wantOAuthError(t, h.refresh(webClient, winner.str("refresh_token")), http.StatusBadRequest, "invalid_grant")
	if h.active(winner.str("access_token")) {
		t.Error("winner's access token active after the family was revoked")
	}
	if n := h.queryInt(db, `SELECT COUNT(*) FROM token_families WHERE revoked_at IS NOT NULL`); n != 1 {
		t.Errorf("revoked families = %d, want 1", n)
	}
	if n := h.queryInt(db, `SELECT COUNT(*) FROM refresh_tokens WHERE active = 1`); n != 0 {
		t.Errorf("live refresh tokens after revocation = %d, want 0", n)
	}
}

// TestConcurrentLoginsAndRefreshes mixes independent families: no
// family interferes with another and nothing answers 500.
func TestConcurrentLoginsAndRefreshes(t *testing.T) {
	h := newHarness(t, config{})
	const families = 10
	var wg sync.WaitGroup
	errc := make(chan string, families*4)
	for i := range families {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := []testClient{webClient, postClient, mobileClient}[i%3]
			r := h.formNoFatal(c, url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}})
			if r.err != "" {
				errc <- r.err
				return
			}
			rt := r.refresh
			for range 3 {
				r = h.formNoFatal(c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
				if r.err != "" {
					errc <- r.err
					return
				}
				rt = r.refresh
			}
		}()
	}
	wg.Wait()
	close(errc)
	for e := range errc {
		t.Error(e)
	}
	if n := h.queryInt(h.openDB(), `SELECT COUNT(*) FROM token_families WHERE revoked_at IS NULL`); n != families {
		t.Errorf("live families = %d, want %d", n, families)
	}
}

type quickResult struct{ refresh, err string }

// formNoFatal is a token request usable off the test goroutine.
func (h *harness) formNoFatal(c testClient, v url.Values) quickResult {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v = cloneValues(v)
	if c.AuthMethod == "client_secret_post" {
		v.Set("client_secret", c.Secret)
	}
	if c.AuthMethod != "client_secret_basic" {
		v.Set("client_id", c.ID)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, h.URL+"/oauth2/token", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.AuthMethod == "client_secret_basic" {
		req.SetBasicAuth(c.ID, c.Secret)
	}
	res, err := h.http.Do(req)
	if err != nil {
		return quickResult{err: err.Error()}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return quickResult{err: err.Error()}
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || res.StatusCode != http.StatusOK {
		return quickResult{err: "status " + res.Status + ": " + string(raw)}
	}
	rt, _ := m["refresh_token"].(string)
	if rt == "" {
		return quickResult{err: "no refresh token: " + string(raw)}
	}
	return quickResult{refresh: rt}
}

// TestBusyDatabaseIsUnavailableNotReuse holds SQLite's write lock from a
// second connection: requests that must write answer 503
// temporarily_unavailable, and once the lock is released the very same
// refresh token still works (the family was not revoked as reuse).
func TestBusyDatabaseIsUnavailableNotReuse(t *testing.T) {
	h := newHarness(t, config{busyTimeout: 100 * time.Millisecond})
	t0 := h.login(webClient, aliceEmail, alicePassword, "")
	victim := h.login(webClient, bobEmail, bobPassword, "")

	ctx := context.Background()
	conn, err := h.openDB().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("take write lock: %v", err)
	}
	locked := true
	release := func() {
		if locked {
			locked = false
			if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
				t.Fatalf("release write lock: %v", err)
			}
		}
	}
	defer release()

	for _, tc := range []struct {
		name string
		do   func() response
	}{
		{name: "refresh", do: func() response { return h.refresh(webClient, t0.Refresh) }},
		{name: "refresh again", do: func() response { return h.refresh(webClient, t0.Refresh) }},
		{name: "password login", do: func() response {
			return h.form("/oauth2/token", webClient, url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}})
		}},
		{name: "revoke", do: func() response { return h.revoke(webClient, victim.Refresh, "refresh_token") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.do()
			wantOAuthError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
		})
	}
	// Reads are not blocked by a writer in WAL mode.
	if !h.active(t0.Access) {
		t.Error("introspection failed while the write lock was held")
	}

	release()
	t1 := h.mustRefresh(webClient, t0.Refresh)
	h.mustRefresh(webClient, t1.Refresh)
	if n := h.queryInt(h.openDB(), `SELECT COUNT(*) FROM token_families WHERE revoked_at IS NOT NULL`); n != 0 {
		t.Errorf("revoked families = %d, want 0: contention was taken for reuse", n)
	}
	if r := h.revoke(webClient, victim.Refresh, "refresh_token"); r.Status != http.StatusOK {
		t.Errorf("revoke after release: status %d, body %s", r.Status, r.Raw)
	}
}
