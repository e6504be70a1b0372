package storage

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
	"github.com/ory/fosite"
	"gorm.io/gorm"
)

// ErrUnavailable marks a database that is busy, locked or unreachable.
// The HTTP edge answers it with 503 temporarily_unavailable; it must never
// be read as "token not found" or "token reused".
var ErrUnavailable = errors.New("database temporarily unavailable")

// ErrConflict reports a unique-constraint violation (an existing user or client).
var ErrConflict = errors.New("already exists")

// errNoSignature answers a lookup by an empty signature, which the token
// strategies return for a malformed or non-canonical token: such a token is
// unknown, and no query runs for it.
var errNoSignature = fmt.Errorf("token without a signature: %w", fosite.ErrNotFound)

// ReuseError reports that a refresh token was presented after it had been
// rotated (and outside the grace window): a theft signal. It unwraps to
// fosite.ErrInactiveToken so fosite treats it as an inactive token, while
// the caller can still find the family to revoke with errors.As.
type ReuseError struct {
	FamilyID string
	// FamilyEnded: the family had already ended when the token came back,
	// revoked (a logout, say) or past its absolute lifetime; it could mint
	// nothing, so that is no theft signal.
	FamilyEnded bool
}

func (e *ReuseError) Error() string { return "refresh token reused in family " + e.FamilyID }

// Unwrap lets fosite's handlers see an inactive token.
func (e *ReuseError) Unwrap() error { return fosite.ErrInactiveToken }

// mapErr turns driver errors into the sentinels callers branch on.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fosite.ErrNotFound
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code {
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		case sqlite3.ErrConstraint:
			if se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey {
				return fmt.Errorf("%w: %w", ErrConflict, err)
			}
		}
	}
	// A failed connection attempt is unavailability whatever the server
	// said: checked before PgError, which a ConnectError may wrap (e.g.
	// 55000 "database is not currently accepting connections").
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "23505":
			return fmt.Errorf("%w: %w", ErrConflict, err)
		case pe.Code == "40001" || pe.Code == "40P01":
			// A lost serialization race or deadlock: retryable, never a
			// verdict on the token.
			return fmt.Errorf("%w: %w: %w", ErrUnavailable, fosite.ErrSerializationFailure, err)
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"), strings.HasPrefix(pe.Code, "57"):
			// connection exceptions, insufficient resources, operator intervention
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if isConnectionError(err) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// isConnectionError recognises a database that went away; the driver
// errors for that have no common type across drivers.
func isConnectionError(err error) bool {
	msg := err.Error()
	for _, s := range []string{"database is locked", "connection refused", "bad connection", "sql: database is closed", "context deadline exceeded", "failed to connect", "conn closed", "unexpected EOF"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
