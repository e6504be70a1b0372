package storage_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rotorauth/rotor/storage"
	"github.com/rotorauth/rotor/storage/storagetest"
)

// TestAuditRetention: GCAudit deletes audit events older than the
// retention, in batches, and keeps the newer ones with their counts; run
// on SQLite and, with TEST_POSTGRES_DSN, PostgreSQL.
func TestAuditRetention(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			var mu sync.Mutex
			now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			s := storagetest.OpenStore(t, b.dsn(t), storage.Options{Hasher: storagetest.CheapHasher(), Now: clock})
			ctx := context.Background()
			const old = 1203 // more than two GC batches
			for i := range old {
				if err := s.RecordAudit(ctx, storage.AuditEvent{Type: "client_auth_failed", Time: now.Add(-100*24*time.Hour + time.Duration(i)*time.Second)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.RecordAudit(ctx, storage.AuditEvent{Type: "client_auth_failed", Time: now.Add(-89 * 24 * time.Hour), Count: 42}); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordAudit(ctx, storage.AuditEvent{Type: "login_failed"}); err != nil {
				t.Fatal(err)
			}
			n, err := s.GCAudit(ctx, 90*24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if n != old {
				t.Errorf("GCAudit deleted %d, want %d", n, old)
			}
			left, err := s.AuditEvents(ctx, "", "", 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != 2 || left[0].Count != 42 || left[1].Count != 1 {
				t.Errorf("left after GC: %+v, want the 89-day-old event (count 42) and the new one (count 1)", left)
			}
			if n, err := s.GCAudit(ctx, 90*24*time.Hour); err != nil || n != 0 {
				t.Errorf("second GCAudit: %d, %v; want 0", n, err)
			}
		})
	}
}
