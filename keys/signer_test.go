package keys

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

type testClaims struct {
	Sub string `json:"sub"`
	N   int    `json:"n"`
}

func TestSignVerifyRoundTrip(t *testing.T) {
	m := testManager(t)
	tests := []struct {
		name string
		alg  jose.SignatureAlgorithm
		typ  string
	}{
		{name: "ES256 access token", alg: jose.ES256, typ: "at+jwt"},
		{name: "RS256 ID token", alg: jose.RS256, typ: "JWT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := m.Signer(tt.alg, tt.typ)
			if err != nil {
				t.Fatal(err)
			}
			if s.Algorithm() != tt.alg {
				t.Fatalf("Algorithm() = %s, want %s", s.Algorithm(), tt.alg)
			}
			tok, err := s.Sign(testClaims{Sub: "alice", N: 7})
			if err != nil {
				t.Fatal(err)
			}

			header := decodeHeader(t, tok)
			if header["kid"] != s.KID() || header["typ"] != tt.typ || header["alg"] != string(tt.alg) {
				t.Fatalf("header = %v, want kid %s typ %s alg %s", header, s.KID(), tt.typ, tt.alg)
			}

			payload, err := m.Verify(tok, tt.typ, tt.alg)
			if err != nil {
				t.Fatal(err)
			}
			var got testClaims
			if err := json.Unmarshal(payload, &got); err != nil {
				t.Fatal(err)
			}
			if got != (testClaims{Sub: "alice", N: 7}) {
				t.Fatalf("claims = %+v", got)
			}
		})
	}
}

func TestSignerCacheAndErrors(t *testing.T) {
	m := testManager(t)
	a, err := m.Signer(jose.ES256, "at+jwt")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		alg     jose.SignatureAlgorithm
		typ     string
		wantErr error
		check   func(t *testing.T, s *Signer)
	}{
		{name: "same alg and typ is cached", alg: jose.ES256, typ: "at+jwt", check: func(t *testing.T, s *Signer) {
			if s != a {
				t.Fatal("got a new signer for the same (kid, typ)")
			}
		}},
		{name: "other typ is a different signer", alg: jose.ES256, typ: "JWT", check: func(t *testing.T, s *Signer) {
			if s == a || s.KID() != a.KID() {
				t.Fatal("want a distinct signer on the same key")
			}
		}},
		{name: "no current key for alg", alg: jose.EdDSA, typ: "JWT", wantErr: ErrUnknownKey},
		{name: "empty typ", alg: jose.ES256, typ: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := m.Signer(tt.alg, tt.typ)
			if tt.check == nil {
				if err == nil {
					t.Fatal("Signer succeeded, want error")
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}

	t.Run("unmarshalable claims", func(t *testing.T) {
		if _, err := a.Sign(map[string]any{"c": make(chan int)}); err == nil {
			t.Fatal("Sign succeeded, want error")
		}
	})
}

func TestConcurrentSignVerify(t *testing.T) {
	m := testManager(t)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 16 {
		wg.Go(func() {
			alg, typ := jose.ES256, "at+jwt"
			if i%2 == 1 {
				alg, typ = jose.RS256, "JWT"
			}
			for range 8 {
				s, err := m.Signer(alg, typ)
				if err != nil {
					errs <- err
					return
				}
				tok, err := s.Sign(testClaims{Sub: "alice", N: i})
				if err != nil {
					errs <- err
					return
				}
				if _, err := m.Verify(tok, typ, alg); err != nil {
					errs <- err
					return
				}
				_ = m.JWKSJSON()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func decodeHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.SplitN(tok, ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}
