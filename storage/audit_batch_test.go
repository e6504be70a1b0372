package storage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/rotorauth/rotor/storage"
	"github.com/rotorauth/rotor/storage/storagetest"
)

// TestRecordAudits: a batch of events is stored in one transaction with
// their counts (at least 1), cut to the columns' sizes, and each is handed
// to OnAudit; run on SQLite and, with TEST_POSTGRES_DSN, PostgreSQL.
func TestRecordAudits(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			var seen int
			s := storagetest.OpenStore(t, b.dsn(t), storage.Options{Hasher: storagetest.CheapHasher(), OnAudit: func(storage.AuditEvent) { seen++ }})
			ctx := context.Background()
			batch := make([]storage.AuditEvent, 450) // more than one insert batch
			for i := range batch {
				batch[i] = storage.AuditEvent{Type: "client_auth_failed", ClientID: strings.Repeat("c", 300), Email: strings.Repeat("e", 400), Count: int64(i % 3)}
			}
			if err := s.RecordAudits(ctx, batch); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordAudits(ctx, nil); err != nil {
				t.Fatalf("empty batch: %v", err)
			}
			got, err := s.AuditEvents(ctx, "", "", 1000)
			if err != nil {
				t.Fatal(err)
			}
			var total int64
			for _, e := range got {
				total += e.Count
				if len(e.ClientID) != 255 || len(e.Email) != 320 {
					t.Fatalf("stored client id %d and email %d bytes, want 255 and 320", len(e.ClientID), len(e.Email))
				}
			}
			if len(got) != len(batch) || total != 150*(1+1+2) || seen != len(batch) {
				t.Errorf("%d rows counting %d, OnAudit %d times; want %d rows counting %d, %d calls", len(got), total, seen, len(batch), 150*4, len(batch))
			}
		})
	}
}
