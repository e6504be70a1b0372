package storage

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openPostgres connects to PostgreSQL (or a Postgres-compatible database).
// Replicas share it; every guarantee that SQLite gets from its single
// writer comes here from row locks: a rotation's conditional UPDATE locks
// the parent row, so a concurrent rotation waits and then sees it spent.
func openPostgres(ctx context.Context, dsn string, opts Options) (*Store, error) {
	db, err := gorm.Open(postgres.Open(dsn), gormConfig())
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", mapErr(err))
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	n := opts.MaxReadConns
	if n == 0 {
		n = 20
	}
	life := opts.ConnMaxLifetime
	if life == 0 {
		life = 30 * time.Minute
	}
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	sqlDB.SetConnMaxLifetime(life)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		return nil, fmt.Errorf("open postgres: %w", mapErr(err))
	}
	return &Store{write: db, read: db, postgres: true}, nil
}

// Locked runs fn while holding a lock named name that every replica on
// the same database respects: a PostgreSQL advisory lock, held on one
// pinned connection. On SQLite, one process owns the file; fn just runs.
func (s *Store) Locked(ctx context.Context, name string, fn func(ctx context.Context) error) error {
	if !s.postgres {
		return fn(ctx)
	}
	key := lockKey(name)
	return s.write.WithContext(ctx).Connection(func(conn *gorm.DB) error {
		if err := conn.Exec("SELECT pg_advisory_lock(?)", key).Error; err != nil {
			return fmt.Errorf("lock %s: %w", name, mapErr(err))
		}
		defer conn.Exec("SELECT pg_advisory_unlock(?)", key)
		return fn(ctx)
	})
}

// lockKey is the advisory lock key of a name.
func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("rotor:" + name))
	return int64(h.Sum64())
}

// xactLock makes transactions that read and then rewrite one named thing
// take turns, until tx ends. Only PostgreSQL needs it: SQLite has a single
// writer.
func (s *Store) xactLock(tx *gorm.DB, name string) error {
	if !s.postgres {
		return nil
	}
	if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", lockKey(name)).Error; err != nil {
		return fmt.Errorf("lock %s: %w", name, mapErr(err))
	}
	return nil
}
