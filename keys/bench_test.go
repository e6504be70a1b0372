package keys

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

var benchClaims = map[string]any{
	"iss":       "https://rotor.example",
	"sub":       "alice",
	"aud":       "api",
	"client_id": "web",
	"exp":       1767330245,
	"iat":       1767326645,
	"jti":       "b0b6a1a8-0d1c-4bde-9a5b-0c6a3b6a5d1f",
	"scope":     "openid profile",
}

func BenchmarkSignES256(b *testing.B) {
	m := testManager(b)
	b.ReportAllocs()
	for b.Loop() {
		s, err := m.Signer(jose.ES256, "at+jwt")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Sign(benchClaims); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyES256(b *testing.B) {
	m := testManager(b)
	s, err := m.Signer(jose.ES256, "at+jwt")
	if err != nil {
		b.Fatal(err)
	}
	tok, err := s.Sign(benchClaims)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Verify(tok, "at+jwt", jose.ES256); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkECDSAP256Baseline is the floor BenchmarkSignES256 is measured
// against: one bare P-256 signature over a SHA-256 digest.
func BenchmarkECDSAP256Baseline(b *testing.B) {
	priv := currentKey(b, testManager(b), jose.ES256).private.(*ecdsa.PrivateKey)
	sum := sha256.Sum256([]byte("baseline"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ecdsa.SignASN1(rand.Reader, priv, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJWKSJSON(b *testing.B) {
	m := testManager(b)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.JWKSJSON()
	}
}
