package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ory/fosite/handler/openid"

	"github.com/rotorauth/rotor/storage"
	"github.com/rotorauth/rotor/storage/storagetest"
)

// The PostgreSQL tests need TEST_POSTGRES_DSN (a superuser DSN; each store
// gets a fresh database); without it they skip, or fail under
// REQUIRE_POSTGRES=1.

func TestPostgres(t *testing.T) {
	storagetest.AdminDSN(t)
	storagetest.RunTests(t, func(t *testing.T, opts storage.Options) *storage.Store {
		return storagetest.OpenStore(t, storagetest.PostgresDSN(t), opts)
	})
}

func TestPostgresConcurrency(t *testing.T) {
	storagetest.AdminDSN(t)
	storagetest.RunConcurrencyTests(t, func(t *testing.T) string { return storagetest.PostgresDSN(t) })
}

// TestPostgresLostDatabase locks the store out of its database: every
// operation fails with ErrUnavailable (never "not found" or another verdict
// on the token), whether it meets a killed pooled connection or a refused
// new one, and the store recovers once the database is back.
func TestPostgresLostDatabase(t *testing.T) {
	name, dsn := storagetest.PostgresDatabase(t)
	s := storagetest.OpenStore(t, dsn, storage.Options{Hasher: storagetest.CheapHasher()})
	ctx := context.Background()
	ops := []struct {
		name string
		op   func() error
	}{
		{name: "ping", op: func() error { return s.Ping(ctx) }},
		{name: "get refresh token", op: func() error {
			_, err := s.GetRefreshTokenSession(ctx, "sig", &openid.DefaultSession{})
			return err
		}},
		{name: "get access token", op: func() error {
			_, err := s.GetAccessTokenSession(ctx, "sig", &openid.DefaultSession{})
			return err
		}},
		{name: "begin transaction", op: func() error {
			tctx, err := s.BeginTX(ctx)
			if err == nil {
				err = s.RotateRefreshToken(tctx, "fam", "sig")
				_ = s.Rollback(tctx)
			}
			return err
		}},
		{name: "authenticate", op: func() error { _, err := s.Authenticate(ctx, "a@example.com", "pw"); return err }},
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	storagetest.AdminExec(t, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS false")
	storagetest.AdminExec(t, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '"+name+"' AND pid <> pg_backend_pid()")
	for _, o := range ops {
		t.Run("unreachable/"+o.name, func(t *testing.T) {
			for try := range 3 {
				if err := o.op(); !errors.Is(err, storage.ErrUnavailable) {
					t.Errorf("try %d: %v, want ErrUnavailable", try+1, err)
				}
			}
		})
	}
	storagetest.AdminExec(t, "ALTER DATABASE "+name+" ALLOW_CONNECTIONS true")
	for _, o := range ops {
		t.Run("back/"+o.name, func(t *testing.T) {
			if err := o.op(); errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("after the database came back: %v", err)
			}
		})
	}
}
