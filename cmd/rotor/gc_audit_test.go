package main

import (
	"database/sql"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// TestGCAuditRetention: `rotor gc` deletes audit events older than
// audit.retention and keeps the newer ones.
func TestGCAuditRetention(t *testing.T) {
	in := newInstance(t, "ROTOR_AUDIT_RETENTION=24h")
	in.cli("", "migrate")
	db, err := sql.Open("sqlite3", "file:"+in.dbPath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now().UTC()
	for _, e := range []struct {
		detail string
		age    time.Duration
	}{{"old", 25 * time.Hour}, {"older", 30 * 24 * time.Hour}, {"recent", 23 * time.Hour}, {"new", 0}} {
		if _, err := db.Exec(`INSERT INTO audit_events (time, type, detail, count) VALUES (?, 'client_auth_failed', ?, 3)`, now.Add(-e.age), e.detail); err != nil {
			t.Fatal(err)
		}
	}
	in.cli("", "gc")
	rows, err := db.Query(`SELECT detail FROM audit_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var left []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		left = append(left, d)
	}
	if len(left) != 2 || left[0] != "recent" || left[1] != "new" {
		t.Errorf("audit events after gc: %v, want [recent new]", left)
	}
}
