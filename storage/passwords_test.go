package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ory/fosite"
)

const (
	pwEmail    = "alice@example.com"
	pwPassword = "correct horse battery staple"
)

// slowHasher takes long enough per hash (tens to hundreds of
// milliseconds) that a 50 ms wait for a slot runs out behind it.
func slowHasher() *PasswordHasher { return NewPasswordHasher(16*1024, 8, 1) }

// openPasswordStore is a migrated SQLite store with one user.
func openPasswordStore(tb testing.TB, h *PasswordHasher) *Store {
	tb.Helper()
	ctx := context.Background()
	s, err := Open(ctx, tb.TempDir()+"/rotor.db", Options{Hasher: h})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, pwEmail, pwPassword); err != nil {
		tb.Fatal(err)
	}
	return s
}

// TestPasswordHasherBound: with every slot taken, Authenticate waits the
// configured time and then fails with ErrHashPoolBusy (an ErrUnavailable),
// for unknown users too, which proves they are hashed like known ones;
// once a slot is free, the answers are the usual ones.
func TestPasswordHasherBound(t *testing.T) {
	h := NewPasswordHasher(64, 1, 1).Bound(1, 50*time.Millisecond)
	s := openPasswordStore(t, h)
	tests := []struct {
		name            string
		email, password string
		// wantFree is the error with a free slot (nil: success).
		wantFree error
	}{
		{name: "known user, right password", email: pwEmail, password: pwPassword},
		{name: "known user, wrong password", email: pwEmail, password: "wrong", wantFree: fosite.ErrNotFound},
		{name: "unknown user", email: "nobody@example.com", password: pwPassword, wantFree: fosite.ErrNotFound},
		{name: "unknown user, empty password", email: "nobody@example.com", password: "", wantFree: fosite.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.slots <- struct{}{} // the pool is busy
			start := time.Now()
			_, err := s.Authenticate(t.Context(), tc.email, tc.password)
			waited := time.Since(start)
			<-h.slots
			if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrHashPoolBusy) {
				t.Fatalf("busy pool: err = %v, want ErrHashPoolBusy (ErrUnavailable)", err)
			}
			if errors.Is(err, fosite.ErrNotFound) {
				t.Errorf("busy pool: err %v also reads as not found: a client would count it as a failed sign-in", err)
			}
			if waited < 50*time.Millisecond {
				t.Errorf("gave up after %s, before the 50ms wait", waited)
			}

			sub, err := s.Authenticate(t.Context(), tc.email, tc.password)
			switch {
			case tc.wantFree == nil && (err != nil || sub == ""):
				t.Fatalf("free pool: sub %q, err %v; want success", sub, err)
			case tc.wantFree != nil && !errors.Is(err, tc.wantFree):
				t.Fatalf("free pool: err = %v, want %v", err, tc.wantFree)
			}
			if len(h.slots) != 0 {
				t.Errorf("%d slots still held after Authenticate returned", len(h.slots))
			}
		})
	}
}

// TestPasswordHasherUnknownUserTakesASlot: a sign-in for an account that
// doesn't exist occupies a hashing slot for as long as a real one.
func TestPasswordHasherUnknownUserTakesASlot(t *testing.T) {
	tests := []struct{ name, email, password string }{
		{name: "unknown user", email: "nobody@example.com", password: "guess"},
		{name: "known user", email: pwEmail, password: "guess"},
	}
	h := slowHasher().Bound(1, 10*time.Second)
	s := openPasswordStore(t, h)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, err := s.Authenticate(context.Background(), tc.email, tc.password)
				done <- err
			}()
			occupied := false
			for !occupied {
				select {
				case err := <-done:
					if !errors.Is(err, fosite.ErrNotFound) {
						t.Fatalf("Authenticate: %v, want not found", err)
					}
					if !occupied {
						t.Fatal("Authenticate returned without ever holding the hashing slot")
					}
				default:
					occupied = len(h.slots) == 1
					time.Sleep(100 * time.Microsecond)
				}
			}
			if err := <-done; !errors.Is(err, fosite.ErrNotFound) {
				t.Fatalf("Authenticate: %v, want not found", err)
			}
		})
	}
}

// TestPasswordHasherConcurrent: many sign-ins at once against a pool of
// one slot and a 50 ms wait: those that can't get the slot in time fail
// with ErrUnavailable, the others get their normal answer, and no more
// than one hash ever runs at once.
func TestPasswordHasherConcurrent(t *testing.T) {
	h := slowHasher().Bound(1, 50*time.Millisecond)
	s := openPasswordStore(t, h)
	const n = 8
	var (
		wg                 sync.WaitGroup
		ok, busy, notFound atomic.Int32
		mu                 sync.Mutex
		other              []error
		maxRunning         atomic.Int32
	)
	stop := make(chan struct{})
	go func() { // watch the pool
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := int32(len(h.slots)); n > maxRunning.Load() {
				maxRunning.Store(n)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			email, pw := pwEmail, pwPassword
			if i%2 == 1 {
				email = fmt.Sprintf("nobody%d@example.com", i)
			}
			_, err := s.Authenticate(context.Background(), email, pw)
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, ErrUnavailable):
				busy.Add(1)
			case errors.Is(err, fosite.ErrNotFound):
				notFound.Add(1)
			default:
				mu.Lock()
				other = append(other, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(stop)
	if len(other) > 0 {
		t.Errorf("unexpected errors: %v", other)
	}
	if busy.Load() == 0 {
		t.Errorf("no sign-in was turned away (ok %d, not found %d): the pool did not bound anything", ok.Load(), notFound.Load())
	}
	if ok.Load()+notFound.Load() == 0 {
		t.Error("every sign-in was turned away")
	}
	if maxRunning.Load() > 1 {
		t.Errorf("%d hashes ran at once, want at most 1", maxRunning.Load())
	}
}

// TestPasswordHasherCancelled: a caller whose request is gone stops
// waiting for a slot at once, with ErrUnavailable.
func TestPasswordHasherCancelled(t *testing.T) {
	h := NewPasswordHasher(64, 1, 1).Bound(1, time.Minute)
	s := openPasswordStore(t, h)
	tests := []struct{ name, email string }{
		{name: "known user", email: pwEmail},
		{name: "unknown user", email: "nobody@example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.slots <- struct{}{}
			defer func() { <-h.slots }()
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := s.Authenticate(ctx, tc.email, pwPassword)
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, ErrUnavailable) {
					t.Fatalf("err = %v, want ErrUnavailable", err)
				}
			case <-time.After(20 * time.Second): // hang guard; the wait is a minute
				t.Fatal("Authenticate kept waiting for a slot after its context ended")
			}
		})
	}
}

// TestPasswordHasherBoundDefaults: n ≤ 0 means one slot per CPU; an
// unbounded hasher never refuses.
func TestPasswordHasherBoundDefaults(t *testing.T) {
	tests := []struct {
		name string
		n    int
		want int
	}{
		{name: "zero", n: 0, want: runtime.NumCPU()},
		{name: "negative", n: -3, want: runtime.NumCPU()},
		{name: "explicit", n: 3, want: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := NewPasswordHasher(64, 1, 1).Bound(tc.n, time.Second)
			if cap(h.slots) != tc.want {
				t.Errorf("Bound(%d): %d slots, want %d", tc.n, cap(h.slots), tc.want)
			}
		})
	}
	t.Run("unbounded", func(t *testing.T) {
		h := NewPasswordHasher(64, 1, 1)
		release, err := h.acquire(t.Context())
		if err != nil {
			t.Fatalf("unbounded hasher refused: %v", err)
		}
		release()
	})
}

// BenchmarkPasswordGrantMemory: the heap a burst of 1000 concurrent
// password sign-ins needs with OWASP's argon2id parameters (19 MiB per
// hash), with the pool bounded to one slot per CPU and without a bound.
// Reports peak-MB (peak HeapInuse sampled every millisecond), and busy
// (sign-ins per burst turned away after the 30 s wait). Run with
// -benchtime=1x: one burst is 1000 hashes.
//
// Without a bound the burst needs up to 1000 × 19 MiB ≈ 19 GiB; the
// unbounded case skips unless MemAvailable allows it, or runs a smaller
// burst with ROTOR_BENCH_UNBOUNDED_N.
func BenchmarkPasswordGrantMemory(b *testing.B) {
	const burst = 1000
	cases := []struct {
		name  string
		bound bool
		n     int
	}{
		{name: "bounded", bound: true, n: burst},
		{name: "unbounded", n: burst},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			n := bc.n
			if !bc.bound {
				if v, err := strconv.Atoi(os.Getenv("ROTOR_BENCH_UNBOUNDED_N")); err == nil && v > 0 {
					n = v
				} else if need := uint64(n) * 19 << 20 * 5 / 4; memAvailable() < need {
					b.Skipf("an unbounded burst of %d needs about %d MiB; MemAvailable is %d MiB (set ROTOR_BENCH_UNBOUNDED_N for a smaller burst)",
						n, need>>20, memAvailable()>>20)
				}
			}
			h := DefaultPasswordHasher()
			if bc.bound {
				h.Bound(runtime.NumCPU(), 30*time.Second)
			}
			s := openPasswordStore(b, h)
			runtime.GC()
			var base runtime.MemStats
			runtime.ReadMemStats(&base)
			var peak atomic.Uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() {
				defer close(sampled)
				tick := time.NewTicker(time.Millisecond)
				defer tick.Stop()
				var ms runtime.MemStats
				for {
					runtime.ReadMemStats(&ms)
					if ms.HeapInuse > peak.Load() {
						peak.Store(ms.HeapInuse)
					}
					select {
					case <-stop:
						return
					case <-tick.C:
					}
				}
			}()
			var busy, failed atomic.Int64
			b.ResetTimer()
			for b.Loop() {
				var wg sync.WaitGroup
				for range n {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := s.Authenticate(context.Background(), pwEmail, pwPassword)
						if errors.Is(err, ErrUnavailable) {
							busy.Add(1)
						} else if err != nil {
							failed.Add(1)
						}
					}()
				}
				wg.Wait()
			}
			b.StopTimer()
			close(stop)
			<-sampled
			if failed.Load() > 0 {
				b.Fatalf("%d sign-ins failed other than busy", failed.Load())
			}
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-MB")
			b.ReportMetric(float64(base.HeapInuse)/(1<<20), "base-MB")
			b.ReportMetric(float64(busy.Load())/float64(b.N), "busy/burst")
			b.ReportMetric(float64(n), "burst")
		})
	}
}

// memAvailable is /proc/meminfo's MemAvailable in bytes (0 if unknown).
func memAvailable() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "MemAvailable:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
