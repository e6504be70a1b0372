package storage

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"gorm.io/gorm"
)

// Group commit: the token writes of many concurrent requests (a refresh
// rotation, a lone access-token insert) share one database transaction.
// A commit is the expensive part of a small write transaction (SQLite
// writes every touched page to the WAL; PostgreSQL flushes its WAL), and
// SQLite has a single writer anyway, so queueing units to a committer
// that runs whatever has gathered while the previous commit ran costs no
// latency and divides the commit by the batch size.
//
// Each unit runs with a transaction state of its own on the shared
// transaction, so it sees the writes of the units before it exactly as if
// they had committed first: two refreshes of one token in one batch
// resolve like two sequential ones (winner rotates; the other is a grace
// replay or reuse). A unit's decision (ReuseError) is reached before it
// writes anything and does not disturb its neighbours. Any other error
// rolls the batch back and every unit is run again alone, so one failing
// unit costs the others nothing but time.

// maxBatch bounds a batch: long enough to amortise a commit, short enough
// that the first unit in it does not wait long for the last.
const maxBatch = 64

type writeUnit struct {
	steps []func(ctx context.Context) error
	done  chan error
}

// committer owns the queue of units and the goroutines that commit them.
type committer struct {
	mu     sync.RWMutex // guards closed against a send racing Close
	closed bool
	once   sync.Once
	queue  chan *writeUnit
	loops  sync.WaitGroup
	// batches and units count what was committed, for metrics.
	batches, units atomic.Uint64
}

// GroupCommitStats returns how many group commits ran and how many units
// they carried (their ratio is the mean batch size).
func (s *Store) GroupCommitStats() (batches, units uint64) {
	return s.commits.batches.Load(), s.commits.units.Load()
}

// errStoreClosed is returned for writes submitted after Close.
var errStoreClosed = errors.New("store closed")

// submit queues a unit and waits for its transaction to commit or fail.
func (s *Store) submit(steps []func(ctx context.Context) error) error {
	c := &s.commits
	c.once.Do(func() {
		c.queue = make(chan *writeUnit, 4*maxBatch)
		// SQLite has one writer connection; PostgreSQL pipelines a few
		// batches on separate connections (its row locks keep them apart).
		n := 1
		if s.postgres {
			n = 4
		}
		for range n {
			c.loops.Add(1)
			go s.commitLoop()
		}
	})
	u := &writeUnit{steps: steps, done: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return fmt.Errorf("write tokens: %w", errStoreClosed)
	}
	c.queue <- u
	c.mu.RUnlock()
	return <-u.done
}

// closeCommitter lets queued units finish and stops the loops.
func (s *Store) closeCommitter() {
	c := &s.commits
	c.once.Do(func() {}) // a store closed before its first write never starts the loops
	c.mu.Lock()
	wasOpen := !c.closed
	c.closed = true
	if wasOpen && c.queue != nil {
		close(c.queue)
	}
	c.mu.Unlock()
	c.loops.Wait()
}

func (s *Store) commitLoop() {
	defer s.commits.loops.Done()
	batch := make([]*writeUnit, 0, maxBatch)
	busy := false
	for u := range s.commits.queue {
		batch = s.gather(append(batch[:0], u), busy)
		s.runBatch(batch)
		busy = len(batch) > 1
		s.commits.batches.Add(1)
		s.commits.units.Add(uint64(len(batch)))
	}
}

// gather adds what is queued to batch. When that is little but the last
// batch showed concurrent writers, it yields the processor once first:
// requests about to submit get to, and join this commit instead of
// waiting for the next one. Without that sign it does not yield, since a
// yield behind CPU-bound work (argon2 sign-ins) can cost a whole
// scheduler slice.
func (s *Store) gather(batch []*writeUnit, busy bool) []*writeUnit {
	for yielded := !busy; ; yielded = true {
		for len(batch) < maxBatch {
			select {
			case more, ok := <-s.commits.queue:
				if !ok {
					return batch
				}
				batch = append(batch, more)
				continue
			default:
			}
			break
		}
		if yielded || len(batch) >= maxBatch/4 {
			return batch
		}
		runtime.Gosched()
	}
}

// runBatch commits the units together, or, if the batch fails, each alone.
func (s *Store) runBatch(batch []*writeUnit) {
	results := make([]error, len(batch))
	ctx := context.Background()
	err := s.write.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for i, u := range batch {
			uctx := context.WithValue(ctx, txKey{}, &txState{tx: tx})
			results[i] = runSteps(uctx, u.steps)
			if results[i] != nil && !isDecision(results[i]) {
				return results[i]
			}
		}
		return nil
	})
	switch {
	case err == nil:
		for i, u := range batch {
			u.done <- results[i]
		}
	case len(batch) == 1:
		batch[0].done <- fmt.Errorf("write tokens: %w", mapErr(err))
	default:
		for _, u := range batch {
			s.runBatch([]*writeUnit{u})
		}
	}
}

func runSteps(ctx context.Context, steps []func(ctx context.Context) error) error {
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// isDecision reports whether a unit's error is a verdict reached without
// writing (the batch may commit around it) rather than a failure.
func isDecision(err error) bool {
	var reuse *ReuseError
	return errors.As(err, &reuse)
}

// deferredWrites collects the steps of a transaction fosite opened with
// group commit requested; Commit submits them as one unit.
type deferredWrites struct {
	steps []func(ctx context.Context) error
}

type groupCommitKey struct{}

// WithGroupCommit asks that the transaction fosite opens under ctx be
// committed together with other requests' (see Store.BeginTX). Only the
// refresh grant's token writes support it: every storage call inside must
// be one that defers its writes.
func WithGroupCommit(ctx context.Context) context.Context {
	return context.WithValue(ctx, groupCommitKey{}, true)
}

// deferOrRun runs step now in ctx's transaction (or alone, through the
// committer), or records it when ctx's transaction is deferred.
func (s *Store) deferOrRun(ctx context.Context, step func(ctx context.Context) error) error {
	st := stateFrom(ctx)
	switch {
	case st == nil:
		return s.submit([]func(context.Context) error{step})
	case st.deferred != nil:
		st.deferred.steps = append(st.deferred.steps, step)
		return nil
	default:
		return step(ctx)
	}
}
