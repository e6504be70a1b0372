package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rotorauth/rotor/storage"
)

// fakeFailures is a throttle table in memory.
type fakeFailures struct {
	mu sync.Mutex
	n  map[string]int
}

func (f *fakeFailures) read(_ context.Context, key string, _ storage.ThrottlePolicy) (storage.ThrottleState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return storage.ThrottleState{Failures: f.n[key]}, nil
}

func (f *fakeFailures) fail(key string) {
	f.mu.Lock()
	f.n[key]++
	f.mu.Unlock()
}

func TestSignInGate(t *testing.T) {
	policy := storage.ThrottlePolicy{Free: 3}
	addrPolicy := storage.ThrottlePolicy{Free: 20}
	key := func(k string) throttledKey { return throttledKey{k, policy} }
	addr := throttledKey{"ip:198.51.100.7", addrPolicy}
	canceled, cancel := context.WithCancel(context.Background())
	cancel() // admit with a canceled context takes room if there is some, never waits

	t.Run("free attempts run together, then one at a time", func(t *testing.T) {
		g, f := newSignInGate(), &fakeFailures{n: map[string]int{}}
		var releases []func()
		for i := range 3 {
			release, _, err := g.admit(canceled, f.read, 0, key("acct:a"), addr)
			if err != nil {
				t.Fatalf("attempt %d of 3 free ones: %v", i+1, err)
			}
			releases = append(releases, release)
		}
		if _, _, err := g.admit(canceled, f.read, 0, key("acct:a"), addr); err == nil {
			t.Fatal("a fourth attempt was admitted while three free ones were in flight")
		}
		// Another account from the same address has its own budget.
		other, _, err := g.admit(canceled, f.read, 0, key("acct:b"), addr)
		if err != nil {
			t.Fatalf("another account: %v", err)
		}
		other()
		// Two of the three fail: one free failure is left.
		for _, release := range releases[:2] {
			f.fail("acct:a")
			release()
		}
		if _, _, err := g.admit(canceled, f.read, 0, key("acct:a"), addr); err == nil {
			t.Error("admitted beside an attempt in flight with only one free failure left")
		}
		releases[2]()
		release, _, err := g.admit(canceled, f.read, 0, key("acct:a"), addr)
		if err != nil {
			t.Fatalf("the only attempt in flight: %v", err)
		}
		release()
		if n := len(g.inFlight); n != 0 {
			t.Errorf("%d keys still held after every attempt ended", n)
		}
	})

	t.Run("an attempt that waits its whole turn wait gives up and leaves the queue", func(t *testing.T) {
		g, f := newSignInGate(), &fakeFailures{n: map[string]int{"acct:a": 5}}
		holder, _, err := g.admit(canceled, f.read, 0, key("acct:a"), addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := g.admit(context.Background(), f.read, 20*time.Millisecond, key("acct:a"), addr); !errors.Is(err, errSignInBusy) || !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("admit behind a busy account: %v, want errSignInBusy (503)", err)
		}
		if n := len(g.waiting); n != 0 {
			t.Errorf("%d queues left behind by the attempt that gave up", n)
		}
		holder()
		release, _, err := g.admit(canceled, f.read, 0, key("acct:a"), addr)
		if err != nil {
			t.Fatalf("after the holder ended: %v", err)
		}
		release()
	})

	t.Run("a waiting attempt goes in when one ends", func(t *testing.T) {
		g, f := newSignInGate(), &fakeFailures{n: map[string]int{"acct:a": 5}}
		first, _, err := g.admit(canceled, f.read, 0, key("acct:a"), addr)
		if err != nil {
			t.Fatal(err)
		}
		admitted := make(chan error, 1)
		go func() {
			release, _, err := g.admit(context.Background(), f.read, 0, key("acct:a"), addr)
			if err == nil {
				release()
			}
			admitted <- err
		}()
		first()
		select {
		case err := <-admitted:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second): // a hang guard, not a speed assertion
			t.Fatal("the waiting attempt never got in")
		}
	})

	t.Run("a queue moves on when its head is blocked elsewhere", func(t *testing.T) {
		g, f := newSignInGate(), &fakeFailures{n: map[string]int{}}
		one := storage.ThrottlePolicy{Free: 1}
		k := func(name string) throttledKey { return throttledKey{name, one} }
		x1, _, err := g.admit(canceled, f.read, 0, k("acct:a"), k("ip:1"))
		if err != nil {
			t.Fatal(err)
		}
		x2, _, err := g.admit(canceled, f.read, 0, k("acct:b"), k("ip:2"))
		if err != nil {
			t.Fatal(err)
		}
		admitted := func(keys ...throttledKey) chan func() {
			ch := make(chan func(), 1)
			go func() {
				release, _, err := g.admit(context.Background(), f.read, 0, keys...)
				if err != nil {
					t.Error(err)
					return
				}
				ch <- release
			}()
			return ch
		}
		waitQueued := func(key string, n int) {
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
				g.mu.Lock()
				queued := len(g.waiting[key])
				g.mu.Unlock()
				if queued == n {
					return
				}
				if time.Now().After(deadline) { // a hang guard, not a speed assertion
					t.Fatalf("%d waiting on %s, want %d", queued, key, n)
				}
			}
		}
		w1 := admitted(k("acct:a"), k("ip:2")) // waits for a, then for ip:2
		waitQueued("acct:a", 1)
		w2 := admitted(k("acct:a"), k("ip:3"))
		waitQueued("acct:a", 2)
		x1() // a is free: w1 goes next but is blocked on ip:2, so w2 must get a
		var release2 func()
		select {
		case release2 = <-w2:
		case <-time.After(30 * time.Second):
			t.Fatal("the second waiter never got the free account")
		}
		x2()
		release2()
		select {
		case release1 := <-w1:
			release1()
		case <-time.After(30 * time.Second):
			t.Fatal("the first waiter never got in")
		}
	})
}
