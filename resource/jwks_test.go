package resource

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestJWKSCaching(t *testing.T) {
	key := newTestKey(t, "ec-1", jose.ES256)
	tests := []struct {
		name         string
		cacheControl string
		advance      time.Duration
		wantHits     int64 // JWKS fetches after two verifications separated by advance
	}{
		{name: "within max-age", cacheControl: "public, max-age=60", advance: 59 * time.Second, wantHits: 1},
		{name: "after max-age", cacheControl: "public, max-age=60", advance: 60 * time.Second, wantHits: 2},
		{name: "default five minutes, before", cacheControl: "", advance: 4 * time.Minute, wantHits: 1},
		{name: "default five minutes, after", cacheControl: "", advance: 5 * time.Minute, wantHits: 2},
		{name: "capped at 24h", cacheControl: "max-age=31536000", advance: 24 * time.Hour, wantHits: 2},
		{name: "max-age=0 floored at 10s", cacheControl: "no-cache, max-age=0", advance: 5 * time.Second, wantHits: 1},
		{name: "unparsable max-age uses default", cacheControl: "max-age=soon", advance: 4 * time.Minute, wantHits: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIssuer(t, key)
			f.set(func(f *fakeIssuer) { f.cacheControl = tc.cacheControl })
			v := f.verifier(t)
			if got := f.jwksHits.Load(); got != 0 {
				t.Fatalf("NewVerifier fetched the JWKS %d times; want lazy fetching", got)
			}
			for i := range 2 {
				if i == 1 {
					f.clock.Advance(tc.advance)
				}
				if _, err := v.Verify(context.Background(), sign(t, key, f.claims(), signOpts{})); err != nil {
					t.Fatalf("Verify #%d: %v", i+1, err)
				}
			}
			if got := f.jwksHits.Load(); got != tc.wantHits {
				t.Fatalf("JWKS fetched %d times, want %d", got, tc.wantHits)
			}
		})
	}
}

func TestJWKSUnknownKid(t *testing.T) {
	key := newTestKey(t, "ec-1", jose.ES256)
	rotated := newTestKey(t, "ec-2", jose.ES256)
	stranger := newTestKey(t, "ec-stranger", jose.ES256)

	tests := []struct {
		name string
		run  func(t *testing.T, f *fakeIssuer, v *Verifier)
	}{
		{name: "unknown kid refetches once, then is rejected", run: func(t *testing.T, f *fakeIssuer, v *Verifier) {
			for range 3 {
				_, err := v.Verify(context.Background(), sign(t, stranger, f.claims(), signOpts{}))
				if !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "unknown kid") {
					t.Fatalf("err = %v, want unknown kid", err)
				}
			}
			if got := f.jwksHits.Load(); got != 2 {
				t.Fatalf("JWKS fetched %d times, want 2 (initial + one refetch)", got)
			}
		}},
		{name: "key added after the first fetch is picked up", run: func(t *testing.T, f *fakeIssuer, v *Verifier) {
			f.addKey(rotated)
			if _, err := v.Verify(context.Background(), sign(t, rotated, f.claims(), signOpts{})); err != nil {
				t.Fatalf("Verify with rotated key: %v", err)
			}
			if got := f.jwksHits.Load(); got != 2 {
				t.Fatalf("JWKS fetched %d times, want 2", got)
			}
		}},
		{name: "garbage kids cause at most one fetch per 10s", run: func(t *testing.T, f *fakeIssuer, v *Verifier) {
			var wg sync.WaitGroup
			for i := range 50 {
				wg.Go(func() {
					token := sign(t, stranger, f.claims(), signOpts{kid: "garbage-" + string(rune('a'+i%26))})
					if _, err := v.Verify(context.Background(), token); !errors.Is(err, ErrInvalidToken) {
						t.Errorf("err = %v, want ErrInvalidToken", err)
					}
				})
			}
			wg.Wait()
			if got := f.jwksHits.Load(); got != 2 {
				t.Fatalf("JWKS fetched %d times, want 2", got)
			}
			f.clock.Advance(9 * time.Second)
			_, _ = v.Verify(context.Background(), sign(t, stranger, f.claims(), signOpts{}))
			if got := f.jwksHits.Load(); got != 2 {
				t.Fatalf("JWKS fetched %d times after 9s, want 2", got)
			}
			f.clock.Advance(time.Second)
			_, _ = v.Verify(context.Background(), sign(t, stranger, f.claims(), signOpts{}))
			if got := f.jwksHits.Load(); got != 3 {
				t.Fatalf("JWKS fetched %d times after 10s, want 3", got)
			}
		}},
		{name: "rate limit does not block known keys", run: func(t *testing.T, f *fakeIssuer, v *Verifier) {
			_, _ = v.Verify(context.Background(), sign(t, stranger, f.claims(), signOpts{}))
			if _, err := v.Verify(context.Background(), sign(t, key, f.claims(), signOpts{})); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIssuer(t, key)
			v := f.verifier(t)
			if _, err := v.Verify(context.Background(), sign(t, key, f.claims(), signOpts{})); err != nil {
				t.Fatalf("warm-up Verify: %v", err)
			}
			tc.run(t, f, v)
		})
	}
}

func TestJWKSFailures(t *testing.T) {
	key := newTestKey(t, "ec-1", jose.ES256)
	tests := []struct {
		name     string
		warm     bool // verify once before the issuer breaks
		status   int
		wantErr  error // nil: the token still verifies
		wantHits int64
	}{
		{name: "failed refresh keeps serving the old set", warm: true, status: http.StatusInternalServerError, wantHits: 2},
		{name: "cold fetch failure is not an invalid token", status: http.StatusInternalServerError,
			wantErr: ErrIssuerUnavailable, wantHits: 1},
		{name: "cold fetch 404 is not an invalid token", status: http.StatusNotFound,
			wantErr: ErrIssuerUnavailable, wantHits: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIssuer(t, key)
			v := f.verifier(t)
			if tc.warm {
				if _, err := v.Verify(context.Background(), sign(t, key, f.claims(), signOpts{})); err != nil {
					t.Fatalf("warm-up Verify: %v", err)
				}
				f.clock.Advance(time.Hour) // past max-age
			}
			f.set(func(f *fakeIssuer) { f.jwksStatus = tc.status })
			// Retries within 10s of a failure reuse the failure instead of
			// fetching again.
			for range 3 {
				_, err := v.Verify(context.Background(), sign(t, key, f.claims(), signOpts{}))
				if tc.wantErr == nil && err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if tc.wantErr != nil && (!errors.Is(err, tc.wantErr) || errors.Is(err, ErrInvalidToken)) {
					t.Fatalf("err = %v, want %v and not ErrInvalidToken", err, tc.wantErr)
				}
			}
			if got := f.jwksHits.Load(); got != tc.wantHits {
				t.Fatalf("JWKS fetched %d times, want %d", got, tc.wantHits)
			}
			// Once the issuer recovers and the back-off passes, keys load.
			f.set(func(f *fakeIssuer) { f.jwksStatus = http.StatusOK })
			f.clock.Advance(10 * time.Second)
			if _, err := v.Verify(context.Background(), sign(t, key, f.claims(), signOpts{})); err != nil {
				t.Fatalf("Verify after recovery: %v", err)
			}
		})
	}
}

func TestParseJWKSSkipsUnusableKeys(t *testing.T) {
	good := newTestKey(t, "good", jose.ES256)
	goodJSON, err := good.jwk.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		body     string
		wantKids []string
		wantErr  bool
	}{
		{name: "unknown kty is skipped", body: `{"keys":[{"kty":"XYZ","kid":"odd"},` + string(goodJSON) + `]}`, wantKids: []string{"good"}},
		{name: "symmetric key is skipped", body: `{"keys":[{"kty":"oct","kid":"sym","k":"c2VjcmV0"},` + string(goodJSON) + `]}`, wantKids: []string{"good"}},
		{name: "encryption key is skipped", body: `{"keys":[` + strings.Replace(string(goodJSON), `"use":"sig"`, `"use":"enc"`, 1) + `]}`},
		{name: "not JSON", body: `<html>`, wantErr: true},
		{name: "no keys member", body: `{}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := parseJWKS([]byte(tc.body))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if len(keys) != len(tc.wantKids) {
				t.Fatalf("got %d keys, want %v", len(keys), tc.wantKids)
			}
			for _, kid := range tc.wantKids {
				if _, ok := keys[kid]; !ok {
					t.Fatalf("missing kid %q", kid)
				}
			}
		})
	}
}
