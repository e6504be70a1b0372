package keys

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

var testSecret = []byte("correct horse battery staple, 32b")

// fakeStore is an in-memory Store.
type fakeStore struct {
	mu        sync.Mutex
	records   []Record
	loadErr   error
	createErr error
}

func (s *fakeStore) SigningKeys(context.Context) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loadErr != nil {
		return nil, s.loadErr
	}
	return slices.Clone(s.records), nil
}

func (s *fakeStore) CreateSigningKey(_ context.Context, r Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.createErr != nil {
		return s.createErr
	}
	s.records = append(s.records, r)
	return nil
}

func (s *fakeStore) UpdateSigningKey(_ context.Context, kid, state string, notAfter time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.records {
		if s.records[i].KID == kid {
			s.records[i].State, s.records[i].NotAfter = state, notAfter
			return nil
		}
	}
	return errors.New("no such key")
}

func (s *fakeStore) DeleteSigningKey(_ context.Context, kid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = slices.DeleteFunc(s.records, func(r Record) bool { return r.KID == kid })
	return nil
}

func testSealer(t testing.TB) *Sealer {
	t.Helper()
	s, err := NewSealer(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var fixedNow = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func clock() time.Time { return fixedNow }

var (
	sharedOnce    sync.Once
	sharedManager *Manager
	sharedErr     error
)

// testManager returns one Manager shared by the tests that only read it,
// because RSA key generation dominates the test run otherwise.
func testManager(t testing.TB) *Manager {
	t.Helper()
	sharedOnce.Do(func() {
		s, err := NewSealer(testSecret)
		if err != nil {
			sharedErr = err
			return
		}
		sharedManager, sharedErr = NewManager(context.Background(), &fakeStore{}, s, clock)
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return sharedManager
}

func currentKey(t testing.TB, m *Manager, alg jose.SignatureAlgorithm) *key {
	t.Helper()
	k := m.set.Load().current[alg]
	if k == nil {
		t.Fatalf("no current %s key", alg)
	}
	return k
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// rawToken builds a compact JWS by hand so tests can produce headers and
// algorithms that go-jose refuses to emit.
func rawToken(t testing.TB, header map[string]any, payload []byte, sign func(input []byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	input := b64(h) + "." + b64(payload)
	return input + "." + b64(sign([]byte(input)))
}

func signES256(t testing.TB, priv crypto.Signer) func([]byte) []byte {
	return func(input []byte) []byte {
		sum := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, priv.(*ecdsa.PrivateKey), sum[:])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
}

func signRS256(t testing.TB, priv crypto.Signer) func([]byte) []byte {
	return func(input []byte) []byte {
		sum := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

func signHS256(secret []byte) func([]byte) []byte {
	return func(input []byte) []byte {
		mac := hmac.New(sha256.New, secret)
		mac.Write(input)
		return mac.Sum(nil)
	}
}

func noSignature([]byte) []byte { return nil }

// sentinels lists every error Verify may wrap.
var sentinels = []error{ErrMalformed, ErrBadHeader, ErrUnknownKey, ErrInvalidSignature}

func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
