package storage_test

import (
	"testing"

	"rotor/storage"
	"rotor/storage/storagetest"
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
