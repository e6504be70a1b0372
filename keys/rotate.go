package keys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// RotatePolicy says how a rotation keeps every token verifiable.
type RotatePolicy struct {
	// PublishAhead is how long a next key must have been in the JWKS
	// before it may sign: longer than any verifier caches the JWKS, so
	// every verifier knows the key before it sees a token signed with it.
	PublishAhead time.Duration
	// RetireFor is how long a replaced key stays published: at least the
	// lifetime of the longest-lived token it signed.
	RetireFor time.Duration
	// Force promotes a next key even if it was published too recently.
	Force bool
}

// ErrTooEarly: the next key has not been published for PublishAhead yet.
var ErrTooEarly = errors.New("next key not published long enough")

// KeyInfo describes a key for listings.
type KeyInfo struct {
	KID       string
	Algorithm string
	State     string
	CreatedAt time.Time
	// RemoveAt is when a retired key leaves the JWKS (zero otherwise).
	RemoveAt time.Time
}

// Keys lists the loaded keys, current first.
func (m *Manager) Keys() []KeyInfo {
	set := m.set.Load()
	out := make([]KeyInfo, 0, len(set.byKID))
	for _, jwk := range set.jwks.Keys {
		k := set.byKID[jwk.KeyID]
		out = append(out, KeyInfo{KID: k.kid, Algorithm: string(k.alg), State: k.state, CreatedAt: k.createdAt, RemoveAt: k.notAfter})
	}
	return out
}

// Due reports whether the current key of some algorithm has been signing
// for interval, i.e. an automatic rotation should run.
//
// A current key was created (as the next key) one rotation before it was
// promoted, so its own age overstates how long it has signed; the next key
// of the same algorithm was created by the rotation that promoted it, so the
// later of the two creation times is when the current key took over.
func (m *Manager) Due(interval time.Duration) bool {
	now := m.now()
	set := m.set.Load()
	for alg, k := range set.current {
		since := k.createdAt
		for _, other := range set.byKID {
			if other.alg == alg && other.state == StateNext && other.createdAt.After(since) {
				since = other.createdAt
			}
		}
		if now.Sub(since) >= interval {
			return true
		}
	}
	return false
}

// Rotate promotes, for every algorithm, the next key to current and the
// current key to retired (kept until RetireFor has passed), creates a new
// next key, deletes retired keys past their time, and reloads. Callers
// running several replicas hold a lock around it (storage.Locked).
func (m *Manager) Rotate(ctx context.Context, p RotatePolicy) error {
	if err := m.Reload(ctx); err != nil {
		return err
	}
	recs, err := m.records(ctx)
	if err != nil {
		return err
	}
	now := m.now().UTC()
	for _, alg := range m.algs {
		next := oldest(recs, alg, StateNext)
		if next == nil {
			// Can't happen after NewManager, but a hand-edited table can
			// lose it: publish one now and promote it next time.
			if _, err := m.create(ctx, alg, StateNext); err != nil {
				return err
			}
			return fmt.Errorf("rotate %s: %w: created one now, rotate again in %s", alg, ErrTooEarly, p.PublishAhead)
		}
		if wait := p.PublishAhead - now.Sub(next.CreatedAt); wait > 0 && !p.Force {
			return fmt.Errorf("rotate %s: %w: wait %s more (or force)", alg, ErrTooEarly, wait.Round(time.Second))
		}
	}
	for _, alg := range m.algs {
		cur, next := newest(recs, alg, StateCurrent), oldest(recs, alg, StateNext)
		if err := m.store.UpdateSigningKey(ctx, next.KID, StateCurrent, time.Time{}); err != nil {
			return fmt.Errorf("promote %s: %w", next.KID, err)
		}
		if cur != nil {
			if err := m.store.UpdateSigningKey(ctx, cur.KID, StateRetired, now.Add(p.RetireFor)); err != nil {
				return fmt.Errorf("retire %s: %w", cur.KID, err)
			}
		}
		if _, err := m.create(ctx, alg, StateNext); err != nil {
			return err
		}
	}
	if err := m.prune(ctx, recs, now); err != nil {
		return err
	}
	return m.Reload(ctx)
}

// Prune deletes retired keys whose time has passed.
func (m *Manager) Prune(ctx context.Context) error {
	recs, err := m.records(ctx)
	if err != nil {
		return err
	}
	return m.prune(ctx, recs, m.now().UTC())
}

func (m *Manager) prune(ctx context.Context, recs []Record, now time.Time) error {
	for _, r := range recs {
		if r.State == StateRetired && !r.NotAfter.IsZero() && !now.Before(r.NotAfter) {
			if err := m.store.DeleteSigningKey(ctx, r.KID); err != nil {
				return fmt.Errorf("remove %s: %w", r.KID, err)
			}
		}
	}
	return nil
}

func newest(recs []Record, alg jose.SignatureAlgorithm, state string) *Record {
	var best *Record
	for i := range recs {
		r := &recs[i]
		if r.Algorithm == string(alg) && r.State == state && (best == nil || r.CreatedAt.After(best.CreatedAt)) {
			best = r
		}
	}
	return best
}

func oldest(recs []Record, alg jose.SignatureAlgorithm, state string) *Record {
	matching := slices.DeleteFunc(slices.Clone(recs), func(r Record) bool { return r.Algorithm != string(alg) || r.State != state })
	if len(matching) == 0 {
		return nil
	}
	r := slices.MinFunc(matching, func(a, b Record) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return &r
}
