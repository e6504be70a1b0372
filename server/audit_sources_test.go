package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestAuditVaryingSourcesBatched: a flood that varies the client id (and
// the address) on every request does not write a row per request: only
// the first sources of a minute are written at once, and the rest are
// counted and written with the minute's rows, none lost.
func TestAuditVaryingSourcesBatched(t *testing.T) {
	h, srv := aggregateHarness(t)
	const requests = 300
	clients := []string{attackerIP, userIP}
	type job struct{ ip, id string }
	jobs := make(chan job)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				bogusClient(t, h, clientFrom(t, j.ip), j.id)
			}
		}()
	}
	for i := range requests {
		jobs <- job{ip: clients[i%len(clients)], id: fmt.Sprintf("bogus-%d", i/3)}
	}
	close(jobs)
	wg.Wait()
	if rows, _ := eventsOf(h, "client_auth_failed"); rows > 20 {
		t.Errorf("%d rows written while the requests were answered, want at most 20", rows)
	}
	srv.FlushAudit(t.Context())
	rows, counts := eventsOf(h, "client_auth_failed")
	var total int64
	for _, n := range counts {
		total += n
	}
	if total != requests || rows > len(counts)+20 {
		t.Errorf("after the flush: %d rows counting %d over %d sources; want %d counted, one row per source (two for those written at once)", rows, total, len(counts), requests)
	}
}

// TestAuditSourcesCutToColumns: sources are told apart by what their rows
// can hold, so accounts that differ only past the email column's size are
// one source, and the aggregator holds no more of them than a row does.
func TestAuditSourcesCutToColumns(t *testing.T) {
	h, srv := aggregateHarness(t)
	s := signInSurfaces[0]
	c := clientFrom(t, attackerIP)
	for i := range 21 { // past the address's free failures
		s.wantFailed(t, s.try(t, h, c, fmt.Sprintf("u%d@example.com", i), "wrong", nil), fmt.Sprintf("failure %d", i))
	}
	long := strings.Repeat("x", 320)
	for _, tail := range []string{"a", "b", "c"} {
		s.wantThrottled(t, s.try(t, h, c, long+tail+"@example.com", "wrong", nil), "throttled "+tail)
	}
	srv.FlushAudit(t.Context())
	var rows int
	var count int64
	for _, e := range h.auditEvents() {
		if e.Type == "throttled" {
			rows++
			count += e.Count
			if e.Email != long {
				t.Errorf("throttled row's email %.20q… (%d bytes), want the cut account", e.Email, len(e.Email))
			}
		}
	}
	if rows != 2 || count != 3 {
		t.Errorf("%d throttled rows counting %d; want 2 rows (the first at once, then the count) counting 3", rows, count)
	}
}
