package storagetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rotorauth/rotor/storage"
)

// Read-then-write updates race across replicas: on PostgreSQL two
// transactions can read the same row and each write its own change,
// losing the other's. These cases run several stores on one database.

// testThrottleRace has several stores (replicas) record failed sign-ins for
// one key at once, as a guessing burst spread over replicas would: every
// failure must count, none lost to a concurrent read-modify-write.
func testThrottleRace(t *testing.T, dsn string) {
	const replicas, perReplica = 3, 8
	p := storage.ThrottlePolicy{Free: 1000, Base: time.Second, Max: time.Minute, Forget: time.Hour}
	const key = "acct:race@example.com"
	stores := make([]*storage.Store, replicas)
	for i := range stores {
		stores[i] = OpenStore(t, dsn, storage.Options{Hasher: CheapHasher()})
	}
	start := make(chan struct{})
	errs := make(chan error, replicas*perReplica)
	var wg sync.WaitGroup
	for _, s := range stores {
		for range perReplica {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, err := s.ThrottleFail(context.Background(), key, p)
				errs <- err
			}()
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if err != nil {
			failed++
			t.Errorf("ThrottleFail: %v", err)
		}
	}
	st, err := stores[0].Throttle(context.Background(), key, p)
	if err != nil {
		t.Fatal(err)
	}
	if want := replicas*perReplica - failed; st.Failures != want {
		t.Errorf("%d failures counted, want %d", st.Failures, want)
	}
}

// testConsentRace has several stores (replicas) add different scopes to
// one user's consent for one client at once: every scope must stay
// granted, none lost to a concurrent read-modify-write.
func testConsentRace(t *testing.T, dsn string) {
	const replicas, perReplica = 3, 4
	stores := make([]*storage.Store, replicas)
	for i := range stores {
		stores[i] = OpenStore(t, dsn, storage.Options{Hasher: CheapHasher()})
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range stores {
		for j := range perReplica {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				scope := fmt.Sprintf("scope-%d-%d", i, j)
				if err := s.GrantScopes(context.Background(), "user-race", appClient, []string{scope}); err != nil {
					t.Errorf("grant %s: %v", scope, err)
				}
			}()
		}
	}
	close(start)
	wg.Wait()
	got, err := stores[0].GrantedScopes(context.Background(), "user-race", appClient)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != replicas*perReplica {
		t.Errorf("%d scopes granted (%v), want %d", len(got), got, replicas*perReplica)
	}
}
