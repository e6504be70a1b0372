package server_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/rotorauth/rotor/keys"
	"github.com/rotorauth/rotor/resource"
)

// TestRotationUnderLoad issues and verifies tokens through package
// resource from several goroutines while the signing keys are rotated
// (forced, so each promoted key may be unknown to the verifier's cache).
// No token may fail, and every token's kid must have come from a JWKS the
// verifier fetched.
func TestRotationUnderLoad(t *testing.T) {
	tests := []struct {
		name      string
		rotations int
		workers   int
		perPhase  int64 // verified tokens to wait for before and after each rotation
	}{
		{name: "4 forced rotations, 4 workers", rotations: 4, workers: 4, perPhase: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newKeyHarness(t, krConfig{})
			// The verifier refetches on an unknown kid at most every 10s;
			// its clock is moved on before each rotation so the rotations
			// don't have to be that far apart in real time.
			vClock := &clock{}
			v, rt := h.newCountingVerifier(t, vClock.Now)

			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			var (
				verified atomic.Int64
				mu       sync.Mutex
				failures []string
				kids     = map[string]int{} // token kid -> tokens
				wg       sync.WaitGroup
			)
			fail := func(format string, args ...any) {
				mu.Lock()
				failures = append(failures, fmt.Sprintf(format, args...))
				mu.Unlock()
			}
			for w := range tt.workers {
				wg.Go(func() {
					for ctx.Err() == nil {
						tok, err := h.clientCredentialsToken(ctx, webClient)
						if err != nil {
							if ctx.Err() == nil {
								fail("worker %d: token: %v", w, err)
							}
							return
						}
						kid := headerKID(tok)
						if _, err := v.Verify(context.Background(), tok); err != nil {
							fail("worker %d: verify token of kid %s: %v", w, kid, err)
							continue
						}
						mu.Lock()
						kids[kid]++
						mu.Unlock()
						verified.Add(1)
					}
				})
			}
			// waitFor waits for n verified tokens; the deadline only keeps a
			// broken server from hanging the test.
			waitFor := func(n int64) {
				deadline := time.Now().Add(30 * time.Second)
				for verified.Load() < n {
					if time.Now().After(deadline) {
						cancel()
						wg.Wait()
						t.Fatalf("only %d tokens verified, waiting for %d; failures: %v", verified.Load(), n, failures)
					}
					time.Sleep(2 * time.Millisecond)
				}
			}

			waitFor(tt.perPhase)
			var signedWith []string
			signedWith = append(signedWith, h.currentKID(t, jose.ES256))
			for i := range tt.rotations {
				vClock.Advance(11 * time.Second)
				if err := h.forceRotate(time.Hour); err != nil {
					cancel()
					wg.Wait()
					t.Fatalf("rotation %d: %v", i+1, err)
				}
				signedWith = append(signedWith, h.currentKID(t, jose.ES256))
				waitFor(verified.Load() + tt.perPhase)
			}
			cancel()
			wg.Wait()

			mu.Lock()
			defer mu.Unlock()
			if len(failures) > 0 {
				t.Errorf("%d failures, first ones: %v", len(failures), failures[:min(len(failures), 5)])
			}
			fetches, fetched := rt.stats()
			for kid, n := range kids {
				if !fetched[kid] {
					t.Errorf("%d tokens of kid %s, which no fetched JWKS contained", n, kid)
				}
			}
			// Every key that was current signed tokens that verified.
			for i, kid := range signedWith {
				if kids[kid] == 0 {
					t.Errorf("no verified token of key %s (current after %d rotations)", kid, i)
				}
			}
			if len(kids) != tt.rotations+1 {
				t.Errorf("tokens carry %d kids, want %d (one per rotation plus the first)", len(kids), tt.rotations+1)
			}
			// One initial fetch, and at most one refetch per rotation: a
			// refetch also brings the next key, so the rotation after it
			// needs none. Two rotations or more need at least one refetch.
			if fetches < 2 || fetches > 1+tt.rotations {
				t.Errorf("%d JWKS fetches, want between 2 and %d", fetches, 1+tt.rotations)
			}
			t.Logf("%d tokens verified, %d JWKS fetches", verified.Load(), fetches)
		})
	}
}

// TestTokenOutlivesRotation: a token signed before a rotation still
// verifies after it, offline and by introspection, until RetireFor has
// passed; then its key is gone and so is the token.
func TestTokenOutlivesRotation(t *testing.T) {
	const retireFor = 10 * time.Minute // the access token TTL
	h := newKeyHarness(t, krConfig{})
	tk := h.login(krApp, aliceEmail, alicePassword, "openid read")
	oldKID := headerKID(tk.Access)
	if oldKID != h.currentKID(t, jose.ES256) {
		t.Fatalf("token kid %s is not the current key", oldKID)
	}
	early, _ := h.newCountingVerifier(t, nil)
	if _, err := early.Verify(t.Context(), tk.Access); err != nil {
		t.Fatalf("before rotation: %v", err)
	}

	// Steps run in order.
	tests := []struct {
		name       string
		rotate     bool
		advance    time.Duration // key clock, before reloading
		wantActive bool
	}{
		{name: "after a forced rotation", rotate: true, wantActive: true},
		{name: "one second before RetireFor", advance: retireFor - time.Second, wantActive: true},
		{name: "at RetireFor", advance: time.Second, wantActive: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rotate {
				if err := h.forceRotate(retireFor); err != nil {
					t.Fatal(err)
				}
				newTok := h.login(krApp, aliceEmail, alicePassword, "read")
				if kid := headerKID(newTok.Access); kid == oldKID {
					t.Errorf("new token still signed by %s", kid)
				}
				// The promoted key was published as the next key, so the
				// verifier that cached the JWKS before the rotation knows it.
				if _, err := early.Verify(t.Context(), newTok.Access); err != nil {
					t.Errorf("new token, verifier with a pre-rotation cache: %v", err)
				}
				if _, err := early.Verify(t.Context(), tk.Access); err != nil {
					t.Errorf("old token, verifier with a pre-rotation cache: %v", err)
				}
			}
			h.keyClock.Advance(tt.advance)
			if err := h.keys.Reload(context.Background()); err != nil {
				t.Fatal(err)
			}
			published := slices.ContainsFunc(h.acJWKS(t).Keys, func(k jose.JSONWebKey) bool { return k.KeyID == oldKID })
			if published != tt.wantActive {
				t.Errorf("old key in JWKS = %v, want %v", published, tt.wantActive)
			}
			if got := h.active(tk.Access); got != tt.wantActive {
				t.Errorf("introspection active = %v, want %v", got, tt.wantActive)
			}
			wantStatus := http.StatusOK
			if !tt.wantActive {
				wantStatus = http.StatusUnauthorized
			}
			if r := h.userinfo(tk.Access); r.Status != wantStatus {
				t.Errorf("userinfo status = %d, want %d (%s)", r.Status, wantStatus, r.Raw)
			}
			// A verifier that fetches the JWKS now.
			fresh, _ := h.newCountingVerifier(t, nil)
			_, err := fresh.Verify(t.Context(), tk.Access)
			switch {
			case tt.wantActive && err != nil:
				t.Errorf("offline verification: %v", err)
			case !tt.wantActive && !errors.Is(err, resource.ErrInvalidToken):
				t.Errorf("offline verification error = %v, want ErrInvalidToken", err)
			}
		})
	}

	if err := h.keys.Prune(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, err := h.store.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(recs, func(r keys.Record) bool { return r.KID == oldKID }) || len(recs) != 4 {
		t.Errorf("after Prune the store holds %d keys (old key present: %v), want the 4 live ones", len(recs),
			slices.ContainsFunc(recs, func(r keys.Record) bool { return r.KID == oldKID }))
	}
}
