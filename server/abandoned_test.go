package server_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotorauth/rotor/server"
	"github.com/rotorauth/rotor/storage"
)

// TestAbandonedSignIn: a client that gives up while its password grant
// waits for the hashing pool is logged and counted as 499 (client closed
// request), not as a server or database error, and the sign-in ahead of it
// is unaffected.
func TestAbandonedSignIn(t *testing.T) {
	h := slowSignInHarness(t, nil)

	form := url.Values{"grant_type": {"password"}, "client_id": {mobileClient.ID}, "username": {aliceEmail}, "password": {alicePassword}}
	var wg sync.WaitGroup
	wg.Add(1)
	first := 0
	go func() {
		defer wg.Done()
		first = h.post("/oauth2/token", "application/x-www-form-urlencoded", form.Encode(), nil).Status
	}()
	// The second one gives up long before the first hash is done.
	time.Sleep(20 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.URL+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if _, err := h.http.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the impatient request: %v, want it to time out waiting", err)
	}
	wg.Wait()
	if first != http.StatusOK {
		t.Errorf("the sign-in ahead: status %d, want 200", first)
	}
	// The abandoned request ends once the server notices; poll for its line.
	var m map[string]float64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		m = scrape(t, h)
		if m[`rotor_http_requests_total{code="499",grant_type="password",method="POST",route="/oauth2/token"}`] == 1 {
			break
		}
		if time.Now().After(deadline) { // a hang guard, not a speed assertion
			t.Fatal("the abandoned sign-in was never counted as 499")
		}
	}
	for series, v := range m {
		if strings.HasPrefix(series, `rotor_http_requests_total{code="5`) {
			t.Errorf("%s = %v, want no 5xx", series, v)
		}
	}
	if v := m["rotor_database_errors_total"]; v != 0 {
		t.Errorf("rotor_database_errors_total = %v, want 0", v)
	}
}

// slowSignInHarness serves with one hashing slot and a slow argon2id
// (64 MiB, 3 passes), so concurrent sign-ins must wait for each other.
func slowSignInHarness(t *testing.T, mutate func(*server.Options)) *harness {
	t.Helper()
	h := newBareHarness(t)
	slow := storage.NewPasswordHasher(64*1024, 3, 1).Bound(1, time.Minute)
	h.openStore(t, storage.Options{BusyTimeout: 5 * time.Second, Hasher: slow})
	h.start(t, newTestKeys(t, h.store, nil), mutate)
	h.registerClients(t, allClients...)
	return h
}
