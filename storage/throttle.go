package storage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// throttleRow counts recent failed sign-ins for one key (an account or a
// client IP). It lives in the database so that every replica sees it.
type throttleRow struct {
	Key          string    `gorm:"column:throttle_key;primaryKey;size:400"`
	Failures     int       `gorm:"not null"`
	LastFailure  time.Time `gorm:"not null"`
	BlockedUntil time.Time `gorm:"not null;index"`
}

func (throttleRow) TableName() string { return "login_throttle" }

// ThrottlePolicy is the backoff for one kind of key: Free failures cost
// nothing, each one after that doubles the wait from Base up to Max.
// Failures older than Forget no longer count.
type ThrottlePolicy struct {
	Free      int
	Base, Max time.Duration
	Forget    time.Duration
}

// delay is the wait imposed after n failures.
func (p ThrottlePolicy) delay(n int) time.Duration {
	if n <= p.Free {
		return 0
	}
	d := p.Base
	for i := p.Free + 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// throttleKey keeps keys within the column: a long one (an absurd
// "username") is replaced by its hash.
func throttleKey(key string) string {
	if len(key) <= 200 {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// ThrottleState is what a key's recent failures mean for its next attempt.
type ThrottleState struct {
	// Failures still counting against the key (within the policy's Forget).
	Failures int
	// Wait is how long the key must still wait (0: go ahead).
	Wait time.Duration
}

// Throttle returns key's state under policy p.
func (s *Store) Throttle(ctx context.Context, key string, p ThrottlePolicy) (ThrottleState, error) {
	key = throttleKey(key)
	var row throttleRow
	err := s.reader(ctx).Where("throttle_key = ?", key).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ThrottleState{}, nil
	} else if err != nil {
		return ThrottleState{}, fmt.Errorf("throttle check: %w", mapErr(err))
	}
	now := s.now()
	var st ThrottleState
	if now.Sub(row.LastFailure) <= p.Forget {
		st.Failures = row.Failures
	}
	if wait := row.BlockedUntil.Sub(now); wait > 0 {
		st.Wait = wait
	}
	return st, nil
}

// qCountFailure counts one failure in a single statement, so that
// concurrent failures for one key (a burst over several replicas, or many
// accounts behind one IP) are all counted: a read followed by a write
// loses increments on PostgreSQL. Failures older than the policy's Forget
// start the count again.
const qCountFailure = `INSERT INTO login_throttle (throttle_key, failures, last_failure, blocked_until)
	VALUES (?, 1, ?, ?)
	ON CONFLICT (throttle_key) DO UPDATE SET
		failures = CASE WHEN login_throttle.last_failure < ? THEN 1 ELSE login_throttle.failures + 1 END,
		last_failure = excluded.last_failure
	RETURNING failures`

// ThrottleFail records a failure for key and returns the wait it imposes.
func (s *Store) ThrottleFail(ctx context.Context, key string, p ThrottlePolicy) (time.Duration, error) {
	key = throttleKey(key)
	now := s.now().UTC()
	var wait time.Duration
	err := s.inTx(ctx, func(tx *gorm.DB) error {
		// The upsert holds the row until commit: concurrent failures for
		// the key take turns, each seeing the count the one before left.
		var failures int
		if err := tx.Raw(qCountFailure, key, now, now, now.Add(-p.Forget)).Scan(&failures).Error; err != nil {
			return err
		}
		wait = p.delay(failures)
		return tx.Model(&throttleRow{}).Where("throttle_key = ?", key).Update("blocked_until", now.Add(wait)).Error
	})
	if err != nil {
		return 0, fmt.Errorf("throttle record: %w", mapErr(err))
	}
	return wait, nil
}

// ThrottleReset forgets key's failures (after a successful sign-in).
func (s *Store) ThrottleReset(ctx context.Context, key string) error {
	key = throttleKey(key)
	if err := s.writer(ctx).Where("throttle_key = ?", key).Delete(&throttleRow{}).Error; err != nil {
		return fmt.Errorf("throttle reset: %w", mapErr(err))
	}
	return nil
}
