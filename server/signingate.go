package server

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rotorauth/rotor/storage"
)

// signInGate decides how many sign-in attempts for one account, or from
// one client IP, may be judged at once (in this process). A burst of
// parallel guesses must not all pass the throttle check before the first
// failure is recorded, so a key admits at most as many attempts at a time
// as it has free failures left (at least one): the free ones run in
// parallel, and once they are spent every attempt waits for the one before
// it and sees its outcome. Honest concurrent sign-ins (many users behind
// one address, or a load test) keep both cores busy instead of queueing
// on one.
//
// Keys are held only while attempts are in flight, so memory is bounded
// by the concurrent attempts whatever names attackers send.
type signInGate struct {
	mu       sync.Mutex
	inFlight map[string]int
	// waiting queues the attempts blocked on a key, first come first
	// served: an ending attempt wakes one of them, not all (a thousand
	// waiters re-reading the throttle table on every end would cost more
	// than the hashing).
	waiting map[string][]chan struct{}
	// gen counts ended attempts, so an admission that read the throttle
	// state before an end reads it again instead of trusting stale counts.
	gen uint64
}

func newSignInGate() *signInGate {
	return &signInGate{inFlight: map[string]int{}, waiting: map[string][]chan struct{}{}}
}

// admitSignIn waits until an attempt for email from ip may be judged and
// returns its release and the throttle wait it must still serve (0: judge
// it now).
func (s *Server) admitSignIn(ctx context.Context, email, ip string) (release func(), wait time.Duration, err error) {
	acct, addr := s.throttle.policies()
	return s.signIns.admit(ctx, s.store.Throttle, s.throttle.TurnWait, throttledKey{accountKey(email), acct}, throttledKey{ipKey(ip), addr})
}

// errSignInBusy: the attempt waited its whole turn wait at a busy account
// or address. Shedding it frees the connection a flood would otherwise
// pile up behind one account.
var errSignInBusy = fmt.Errorf("%w: too many sign-ins in progress for this account or address", storage.ErrUnavailable)

// throttledKey is a key and the policy its failures are judged by.
type throttledKey struct {
	key    string
	policy storage.ThrottlePolicy
}

// throttleState reads a key's recorded failures (Store.Throttle).
type throttleState func(ctx context.Context, key string, p storage.ThrottlePolicy) (storage.ThrottleState, error)

// admit waits until every key has room for one more attempt, takes it, and
// returns the release and the longest throttle wait among the keys. After
// maxWait (> 0) of waiting it gives up with errSignInBusy.
func (g *signInGate) admit(ctx context.Context, read throttleState, maxWait time.Duration, keys ...throttledKey) (release func(), wait time.Duration, err error) {
	states := make([]storage.ThrottleState, len(keys))
	woken := false
	var (
		t      *time.Timer
		giveUp <-chan time.Time // nil (never) until the first wait
	)
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		g.mu.Lock()
		gen := g.gen
		g.mu.Unlock()
		for i, k := range keys {
			if states[i], err = read(ctx, k.key, k.policy); err != nil {
				return nil, 0, fmt.Errorf("admit sign-in: %w", err)
			}
		}
		g.mu.Lock()
		if g.gen != gen { // an attempt ended meanwhile: its failure may be missing
			g.mu.Unlock()
			continue
		}
		blocked := ""
		for i, k := range keys {
			if g.inFlight[k.key] >= max(1, k.policy.Free-states[i].Failures) {
				blocked = k.key
				break
			}
		}
		if blocked == "" {
			names := make([]string, len(keys))
			for i, k := range keys {
				g.inFlight[k.key]++
				names[i] = k.key
				wait = max(wait, states[i].Wait)
				// Room may have grown by more than one (a success reset
				// the count): the next in line tries too.
				if g.inFlight[k.key] < max(1, k.policy.Free-states[i].Failures) {
					g.wakeLocked(k.key)
				}
			}
			g.mu.Unlock()
			return func() { g.end(names...) }, wait, nil
		}
		for i, k := range keys {
			// A key with room must not keep its queue waiting behind this
			// attempt, which is blocked elsewhere.
			if k.key != blocked && g.inFlight[k.key] < max(1, k.policy.Free-states[i].Failures) {
				g.wakeLocked(k.key)
			}
		}
		turn := make(chan struct{})
		if woken { // it had its turn and lost it: first in line again
			g.waiting[blocked] = append([]chan struct{}{turn}, g.waiting[blocked]...)
		} else {
			g.waiting[blocked] = append(g.waiting[blocked], turn)
		}
		g.mu.Unlock()
		if t == nil && maxWait > 0 {
			t = time.NewTimer(maxWait)
			giveUp = t.C
		}
		select {
		case <-turn:
			woken = true
		case <-ctx.Done():
			g.leave(blocked, turn)
			return nil, 0, fmt.Errorf("admit sign-in: %w", ctx.Err())
		case <-giveUp:
			g.leave(blocked, turn)
			return nil, 0, errSignInBusy
		}
	}
}

// leave takes a waiter that gives up out of key's queue; one that was
// woken already passes its turn on.
func (g *signInGate) leave(key string, turn chan struct{}) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.dropLocked(key, turn) {
		g.wakeLocked(key)
	}
}

// wakeLocked gives the first attempt waiting on key its turn.
func (g *signInGate) wakeLocked(key string) {
	q := g.waiting[key]
	if len(q) == 0 {
		return
	}
	close(q[0])
	if len(q) == 1 {
		delete(g.waiting, key)
	} else {
		g.waiting[key] = q[1:]
	}
}

// dropLocked removes a waiter that gave up; false if it was woken already.
func (g *signInGate) dropLocked(key string, turn chan struct{}) bool {
	q := g.waiting[key]
	for i, c := range q {
		if c == turn {
			q = append(q[:i:i], q[i+1:]...)
			if len(q) == 0 {
				delete(g.waiting, key)
			} else {
				g.waiting[key] = q
			}
			return true
		}
	}
	return false
}

func (g *signInGate) end(keys ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gen++
	for _, k := range keys {
		if g.inFlight[k]--; g.inFlight[k] <= 0 {
			delete(g.inFlight, k)
		}
		g.wakeLocked(k)
	}
}
