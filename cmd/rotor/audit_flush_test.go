package main

import (
	"database/sql"
	"net/url"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// TestAuditCountsFlushedOnShutdown: a flood of requests with a bogus
// client writes a row at once and the rest of its count when the server
// shuts down, so `rotor audit tail` ends up with every occurrence.
func TestAuditCountsFlushedOnShutdown(t *testing.T) {
	in := newInstance(t)
	srv := in.start()
	const n = 120
	for range n {
		if r := mustToken(t, in.baseURL(), url.Values{"grant_type": {"client_credentials"}}, "bogus", "not-the-secret"); r.status != 401 {
			t.Fatalf("bogus client: status %d, want 401", r.status)
		}
	}
	db, err := sql.Open("sqlite3", "file:"+in.dbPath()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var rows, total int
	query := `SELECT COUNT(*), COALESCE(SUM(count), 0) FROM audit_events WHERE type = 'client_auth_failed'`
	if err := db.QueryRow(query).Scan(&rows, &total); err != nil {
		t.Fatal(err)
	}
	if rows > 3 {
		t.Errorf("%d rows for %d requests while serving, want a handful", rows, n)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.wait(t, 30*time.Second); err != nil {
		t.Fatalf("rotor serve: %v", err)
	}
	if err := db.QueryRow(query).Scan(&rows, &total); err != nil {
		t.Fatal(err)
	}
	if total != n || rows > 4 {
		t.Errorf("after shutdown: %d rows counting %d, want a handful counting %d", rows, total, n)
	}
}
