package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/rotorauth/rotor/storage"
)

// testThrottle: failures count against their key until Forget passes,
// impose the policy's backoff after the free ones, and a reset clears them.
func testThrottle(t *testing.T, f *fixture) {
	ctx := context.Background()
	p := storage.ThrottlePolicy{Free: 2, Base: time.Second, Max: 8 * time.Second, Forget: time.Hour}
	const key, other = "acct:alice@example.com", "ip:198.51.100.7"
	state := func() storage.ThrottleState {
		t.Helper()
		st, err := f.s.Throttle(ctx, key, p)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	steps := []struct {
		name string
		do   func()
		want storage.ThrottleState
	}{
		{name: "no failures", do: func() {}, want: storage.ThrottleState{}},
		{name: "a free failure", do: func() { mustFail(t, f, key, p) }, want: storage.ThrottleState{Failures: 1}},
		{name: "the last free failure", do: func() { mustFail(t, f, key, p) }, want: storage.ThrottleState{Failures: 2}},
		{name: "the first paid failure", do: func() { mustFail(t, f, key, p) }, want: storage.ThrottleState{Failures: 3, Wait: time.Second}},
		{name: "the second doubles", do: func() { mustFail(t, f, key, p) }, want: storage.ThrottleState{Failures: 4, Wait: 2 * time.Second}},
		{name: "the wait runs down", do: func() { f.clock.Add(1500 * time.Millisecond) }, want: storage.ThrottleState{Failures: 4, Wait: 500 * time.Millisecond}},
		{name: "forgotten after Forget", do: func() { f.clock.Add(time.Hour) }, want: storage.ThrottleState{}},
		{name: "counting starts again", do: func() { mustFail(t, f, key, p) }, want: storage.ThrottleState{Failures: 1}},
		{name: "a reset clears it", do: func() {
			if err := f.s.ThrottleReset(ctx, key); err != nil {
				t.Fatal(err)
			}
		}, want: storage.ThrottleState{}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do()
			if got := state(); got != st.want {
				t.Errorf("state = %+v, want %+v", got, st.want)
			}
		})
	}
	got, err := f.s.Throttle(ctx, other, p)
	if err != nil || got != (storage.ThrottleState{}) {
		t.Errorf("another key: %+v, %v; want no failures", got, err)
	}
}

func mustFail(t *testing.T, f *fixture, key string, p storage.ThrottlePolicy) {
	t.Helper()
	if _, err := f.s.ThrottleFail(context.Background(), key, p); err != nil {
		t.Fatal(err)
	}
}
