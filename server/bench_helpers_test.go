package server

import (
	"context"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/rotorauth/rotor/keys"
)

// memKeyStore is an in-memory keys.Store for benchmarks.
type memKeyStore struct{ recs []keys.Record }

func (m *memKeyStore) SigningKeys(context.Context) ([]keys.Record, error) { return m.recs, nil }
func (m *memKeyStore) CreateSigningKey(_ context.Context, r keys.Record) error {
	m.recs = append(m.recs, r)
	return nil
}
func (m *memKeyStore) UpdateSigningKey(context.Context, string, string, time.Time) error { return nil }
func (m *memKeyStore) DeleteSigningKey(context.Context, string) error                    { return nil }

func benchAccessStrategy(b *testing.B) *accessTokenStrategy {
	sealer, err := keys.NewSealer([]byte("benchmark-system-secret-0123456789abcdef"))
	if err != nil {
		b.Fatal(err)
	}
	m, err := keys.NewManager(context.Background(), &memKeyStore{}, sealer, nil)
	if err != nil {
		b.Fatal(err)
	}
	return &accessTokenStrategy{keys: m, alg: jose.ES256, issuer: "http://localhost:8080", ttl: 10 * time.Minute, now: time.Now}
}

func benchRequest() *fosite.AccessRequest {
	ar := fosite.NewAccessRequest(&openid.DefaultSession{Subject: "user-1"})
	ar.Client = &fosite.DefaultClient{ID: "mobile"}
	ar.GrantScope("offline_access")
	ar.GrantAudience("api")
	return ar
}
