package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ory/fosite"
)

// The statements of a refresh, the hot path, bypass gorm's statement
// building and run as prepared statements: a refresh is a handful of
// single-row writes in one transaction, and building and preparing each
// one anew cost more than executing it.
const (
	qRotateRefresh = `UPDATE refresh_tokens SET active = ?, rotated_at = ?
		WHERE signature = ? AND request_id = ? AND active = ?`
	// Access tokens with rows of their own (a login's, a grace replay's)
	// retire with the family's next rotation.
	qRetireFamilyAccess = `UPDATE access_tokens SET active = ? WHERE request_id = ? AND active = ?`
	qInsertAccess       = `INSERT INTO access_tokens
		(signature, request_id, client_id, subject, active, requested_at, expires_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	// A family is written once, when its login's first refresh token is.
	qInsertFamily = `INSERT INTO token_families
		(id, client_id, subject, created_at, last_refreshed_at, expires_at, revoked_reason, session_id)
		VALUES (?, ?, ?, ?, ?, ?, '', ?)
		ON CONFLICT (id) DO NOTHING`
	// An access token is in its own row, or, when a refresh issued it, only
	// in the successor refresh token's row (access_signature), whose
	// active flag it shares: rotating or revoking that refresh token
	// retires the access token with it.
	qAccessView = `SELECT active, data FROM access_tokens WHERE signature = ?
		UNION ALL
		SELECT active, data FROM refresh_tokens WHERE access_signature = ?
		LIMIT 1`
	qInsertRefresh = `INSERT INTO refresh_tokens
		(signature, request_id, client_id, subject, active, requested_at, expires_at, data,
		 parent_signature, access_signature)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
)

// hotStatements are prepared once on the write pool.
type hotStatements struct {
	rotateRefresh, retireFamilyAccess, insertAccess, insertFamily, insertRefresh *sql.Stmt
	// refreshView and accessView are prepared on the read pool.
	refreshView, accessView *sql.Stmt
}

func (s *Store) prepareHot(ctx context.Context) error {
	db, err := s.write.DB()
	if err != nil {
		return err
	}
	prep := func(q string) (*sql.Stmt, error) {
		if s.postgres {
			q = dollarPlaceholders(q)
		}
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("prepare %q: %w", strings.Fields(q)[0:3], mapErr(err))
		}
		return st, nil
	}
	h := &hotStatements{}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{
		{&h.rotateRefresh, qRotateRefresh}, {&h.retireFamilyAccess, qRetireFamilyAccess},
		{&h.insertAccess, qInsertAccess}, {&h.insertFamily, qInsertFamily}, {&h.insertRefresh, qInsertRefresh},
	} {
		if *p.dst, err = prep(p.q); err != nil {
			return err
		}
	}
	rdb, err := s.read.DB()
	if err != nil {
		return err
	}
	for _, p := range []struct {
		dst **sql.Stmt
		q   string
	}{{&h.refreshView, refreshViewQuery}, {&h.accessView, qAccessView}} {
		q := p.q
		if s.postgres {
			q = dollarPlaceholders(q)
		}
		if *p.dst, err = rdb.PrepareContext(ctx, q); err != nil {
			return fmt.Errorf("prepare %q: %w", strings.Fields(q)[0:3], mapErr(err))
		}
	}
	s.hot.Store(h)
	return nil
}

// refreshView reads a refresh token with its family: on the read pool, or
// inside ctx's transaction (the rotation re-reads what it lost a race on).
func (s *Store) refreshView(ctx context.Context, signature string) (refreshView, error) {
	var v refreshView
	hot, err := s.statements(ctx)
	if err != nil {
		return v, err
	}
	var rotated, revoked, expires sql.NullTime
	err = s.queryRow(ctx, hot.refreshView, refreshViewQuery, signature).Scan(&v.Signature, &v.RequestID, &v.Active, &rotated, &v.Data, &v.OwnRowAccessTokens, &revoked, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("get refresh token: %w", fosite.ErrNotFound)
	} else if err != nil {
		return v, fmt.Errorf("get refresh token: %w", mapErr(err))
	}
	if rotated.Valid {
		v.RotatedAt = &rotated.Time
	}
	if revoked.Valid {
		v.FamilyRevokedAt = &revoked.Time
	}
	if expires.Valid {
		v.FamilyExpiresAt = &expires.Time
	}
	return v, nil
}

// dollarPlaceholders rewrites ? to PostgreSQL's $1, $2, … (the hot
// statements contain no literal question marks).
func dollarPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// statements returns the prepared hot statements, preparing them on first
// use for a store that was opened without Migrate.
func (s *Store) statements(ctx context.Context) (*hotStatements, error) {
	if h := s.hot.Load(); h != nil {
		return h, nil // every statement of every request passes here
	}
	s.hotMu.Lock()
	defer s.hotMu.Unlock()
	if s.hot.Load() == nil {
		if err := s.prepareHot(ctx); err != nil {
			return nil, err
		}
	}
	return s.hot.Load(), nil
}

// queryRow runs a prepared hot read on the read pool, or query in ctx's
// transaction (so it sees that transaction's writes; the read statements
// belong to the read pool, which a write transaction can't use).
func (s *Store) queryRow(ctx context.Context, st *sql.Stmt, query string, args ...any) rowScanner {
	ts := stateFrom(ctx)
	if ts == nil {
		return st.QueryRowContext(ctx, args...)
	}
	if ts.deferred != nil {
		return errRow{errDeferredRead}
	}
	tx, ok := ts.tx.Statement.ConnPool.(*sql.Tx)
	if !ok {
		return errRow{errors.New("storage: transaction without a database/sql transaction")}
	}
	if s.postgres {
		query = dollarPlaceholders(query)
	}
	return tx.QueryRowContext(ctx, query, args...)
}

type rowScanner interface{ Scan(dest ...any) error }

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// exec runs a prepared hot statement in ctx's transaction, or on its own.
func (s *Store) exec(ctx context.Context, st *sql.Stmt, args ...any) (sql.Result, error) {
	if ts := stateFrom(ctx); ts != nil {
		if ts.deferred != nil {
			return nil, errDeferredRead
		}
		if tx, ok := ts.tx.Statement.ConnPool.(*sql.Tx); ok {
			return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		}
	}
	return st.ExecContext(ctx, args...)
}

// utc normalises times so that SQLite's text timestamps compare correctly.
func utc(t time.Time) time.Time { return t.UTC() }
