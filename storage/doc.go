// Package storage persists Rotor's state with gorm on SQLite or PostgreSQL:
// users, clients, token families and every token fosite hands it (access,
// refresh), plus signing-key records for package keys.
//
// It implements fosite's storage interfaces and owns the database-level
// guarantees behind them: single-use refresh tokens decided by one
// conditional UPDATE, reuse detection with a grace window for lost
// responses, family revocation, and mapping of lock/busy errors to
// ErrUnavailable so that contention is never mistaken for token reuse.
//
// It does not speak HTTP, render OAuth errors or sign anything.
package storage
