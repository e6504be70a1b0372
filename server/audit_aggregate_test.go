package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorauth/rotor/server"
	"github.com/rotorauth/rotor/storage"
)

// aggregateHarness is a harness whose *server.Server the test holds, to
// flush the aggregated audit events as serve does every minute.
func aggregateHarness(t *testing.T) (*harness, *server.Server) {
	t.Helper()
	h := newBareHarness(t)
	h.openStore(t, storage.Options{})
	srv := h.start(t, newTestKeys(t, h.store, nil), func(o *server.Options) {
		o.Throttle = throttleOpts
		o.Logger = abuseLogger()
	})
	h.registerClients(t, allClients...)
	// Start the server's clock just past a minute's start, so that no
	// minute ends while the test sends its requests.
	now := h.srvClock.Now()
	h.srvClock.Advance(now.Truncate(time.Minute).Add(time.Minute + time.Second).Sub(now))
	return h, srv
}

// bogusClient sends a client_credentials request as a client that does
// not exist, from client.
func bogusClient(t *testing.T, h *harness, client *http.Client, id string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+"/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	if err != nil {
		t.Error(err)
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, "not-the-secret")
	resp, err := client.Do(req)
	if err != nil {
		t.Error(err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("bogus client %s: status %d, want 401", id, resp.StatusCode)
	}
}

// eventsOf sums the counts of type's stored events, by client id + IP.
func eventsOf(h *harness, typ string) (rows int, counts map[string]int64) {
	counts = map[string]int64{}
	for _, e := range h.auditEvents() {
		if e.Type == typ {
			rows++
			counts[e.ClientID+"@"+e.IP+e.Detail] += e.Count
		}
	}
	return rows, counts
}

// TestAuditAggregatesUnauthenticated: 300 requests with a bogus client,
// 20 at a time, write one row at once and one row with the rest of the
// count when flushed, not 300 rows; each source (client id, IP) is
// counted apart; a new minute starts new rows.
func TestAuditAggregatesUnauthenticated(t *testing.T) {
	h, srv := aggregateHarness(t)
	attacker, other := clientFrom(t, attackerIP), clientFrom(t, userIP)
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				bogusClient(t, h, attacker, "bogus")
			}
			if w == 0 {
				bogusClient(t, h, other, "bogus")
				bogusClient(t, h, attacker, "another-bogus")
			}
		}()
	}
	wg.Wait()
	if rows, _ := eventsOf(h, "client_auth_failed"); rows != 3 {
		t.Errorf("%d rows before the flush, want 3 (one per source, at once)", rows)
	}
	srv.FlushAudit(t.Context())
	rows, counts := eventsOf(h, "client_auth_failed")
	want := map[string]int64{"bogus@" + attackerIP: 300, "bogus@" + userIP: 1, "another-bogus@" + attackerIP: 1}
	if rows != 4 || fmt.Sprint(counts) != fmt.Sprint(want) {
		t.Errorf("after the flush: %d rows, counts %v; want 4 rows, %v", rows, counts, want)
	}

	// The next minute: its first event is written at once, and brings the
	// previous minute's uncounted occurrences with it.
	bogusClient(t, h, attacker, "bogus")
	bogusClient(t, h, attacker, "bogus")
	h.srvClock.Advance(time.Minute)
	bogusClient(t, h, attacker, "bogus")
	rows, counts = eventsOf(h, "client_auth_failed")
	if rows != 7 || counts["bogus@"+attackerIP] != 303 {
		t.Errorf("after a minute: %d rows, counts %v; want 7 rows, 303 for the attacker", rows, counts)
	}
	srv.FlushAudit(t.Context())
	if r, _ := eventsOf(h, "client_auth_failed"); r != 7 {
		t.Errorf("a flush with nothing counted wrote rows: %d, want 7", r)
	}
}

// TestAuditAggregatesThrottled: throttled sign-ins are aggregated per
// account and IP like failed client authentication; failed sign-ins
// (bounded by the throttle) keep one row each.
func TestAuditAggregatesThrottled(t *testing.T) {
	h, srv := aggregateHarness(t)
	s := signInSurfaces[0]
	c := clientFrom(t, attackerIP)
	for i := 1; i <= 6; i++ {
		s.wantFailed(t, s.try(t, h, c, aliceEmail, "wrong", nil), fmt.Sprintf("failure %d", i))
	}
	for i := range 50 {
		s.wantThrottled(t, s.try(t, h, c, aliceEmail, "wrong", nil), fmt.Sprintf("throttled %d", i))
	}
	srv.FlushAudit(t.Context())
	var throttledRows, failedRows int
	var throttled int64
	for _, e := range h.auditEvents() {
		switch e.Type {
		case "throttled":
			throttledRows++
			throttled += e.Count
			if e.Email != aliceEmail || e.IP != attackerIP || e.ClientID != webClient.ID {
				t.Errorf("throttled row names %q %q %q", e.Email, e.IP, e.ClientID)
			}
		case "login_failed":
			failedRows++
		}
	}
	if throttledRows != 2 || throttled != 50 || failedRows != 6 {
		t.Errorf("throttled: %d rows counting %d, login_failed %d rows; want 2 rows counting 50, 6", throttledRows, throttled, failedRows)
	}
}

// TestAuditAggregateBounded: more sources in a minute than are tracked
// are counted into one overflow row, so memory and rows stay bounded.
func TestAuditAggregateBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("sends over a thousand requests")
	}
	h, srv := aggregateHarness(t)
	const sources, extra = 1000, 25
	c := clientFrom(t, attackerIP)
	var wg sync.WaitGroup
	ids := make(chan string)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range ids {
				bogusClient(t, h, c, id)
			}
		}()
	}
	for i := range sources + extra {
		ids <- fmt.Sprintf("bogus-%d", i)
	}
	close(ids)
	wg.Wait()
	// The next minute's first event, from another address, writes the
	// ended minute's counts: they keep their own addresses (the overflow
	// row none), not the flushing request's.
	h.srvClock.Advance(time.Minute)
	bogusClient(t, h, clientFrom(t, userIP), "next-minute")
	for _, e := range h.auditEvents() {
		if e.Type == "client_auth_failed" && e.ClientID != "next-minute" && e.IP == userIP {
			t.Fatalf("counted row %q written with the flushing request's address", e.ClientID+e.Detail)
		}
	}
	srv.FlushAudit(t.Context())
	rows, counts := eventsOf(h, "client_auth_failed")
	rows-- // next-minute's
	delete(counts, "next-minute@"+userIP)
	var total int64
	for _, n := range counts {
		total += n
	}
	if rows != sources+1 || total != sources+extra {
		t.Errorf("%d rows counting %d; want %d rows (one overflow) counting %d", rows, total, sources+1, sources+extra)
	}
}
