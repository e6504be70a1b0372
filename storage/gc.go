package storage

import (
	"context"
	"fmt"
	"time"
)

// gcBatch bounds each delete so that GC never holds a long lock: on SQLite
// a writer waits at most one batch; on PostgreSQL few rows lock at once.
const gcBatch = 500

// GCStats counts what one GC run deleted, per table.
type GCStats map[string]int64

// GC deletes what can no longer be used: expired or inactive tokens,
// codes, PKCE and OpenID Connect requests, ended or expired sessions, and
// families whose every token is gone. keep is how long a spent refresh
// token stays for reuse detection after it expired (its family's other
// tokens have then expired too).
func (s *Store) GC(ctx context.Context, keep time.Duration) (GCStats, error) {
	now := s.now().UTC()
	stats := GCStats{}
	steps := []struct {
		table, where string
		args         []any
	}{
		{"access_tokens", "expires_at < ? OR active = ?", []any{now, false}},
		{"refresh_tokens", "expires_at < ?", []any{now.Add(-keep)}},
		{"authorize_codes", "expires_at < ?", []any{now.Add(-keep)}},
		{"pkce_requests", "expires_at < ?", []any{now}},
		{"oidc_requests", "expires_at < ?", []any{now}},
		{"browser_sessions", "expires_at < ? OR ended_at IS NOT NULL", []any{now}},
		{"bff_sessions", "expires_at < ?", []any{now}},
		{"token_families", "(expires_at < ? OR revoked_at IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.request_id = token_families.id)", []any{now}},
	}
	for _, st := range steps {
		key := "signature"
		switch st.table {
		case "browser_sessions", "bff_sessions":
			key = "id_hash"
		case "token_families":
			key = "id"
		}
		q := fmt.Sprintf("DELETE FROM %s WHERE %s IN (SELECT %s FROM %s WHERE %s LIMIT %d)", st.table, key, key, st.table, st.where, gcBatch)
		for {
			if err := ctx.Err(); err != nil {
				return stats, err
			}
			res := s.write.WithContext(ctx).Exec(q, st.args...)
			if res.Error != nil {
				return stats, fmt.Errorf("gc %s: %w", st.table, mapErr(res.Error))
			}
			stats[st.table] += res.RowsAffected
			if res.RowsAffected < gcBatch {
				break
			}
		}
	}
	return stats, nil
}

// GCAudit deletes audit events older than retention, in batches like GC.
func (s *Store) GCAudit(ctx context.Context, retention time.Duration) (int64, error) {
	q := fmt.Sprintf("DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE \"time\" < ? LIMIT %d)", gcBatch)
	before := s.now().UTC().Add(-retention)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		res := s.write.WithContext(ctx).Exec(q, before)
		if res.Error != nil {
			return total, fmt.Errorf("gc audit_events: %w", mapErr(res.Error))
		}
		total += res.RowsAffected
		if res.RowsAffected < gcBatch {
			return total, nil
		}
	}
}
