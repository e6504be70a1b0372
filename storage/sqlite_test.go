package storage_test

import (
	"path/filepath"
	"testing"

	"github.com/rotorauth/rotor/storage"
	"github.com/rotorauth/rotor/storage/storagetest"
)

func sqliteDSN(t *testing.T) string { return filepath.Join(t.TempDir(), "rotor.db") }

// backends are the databases a storage test runs on: SQLite always,
// PostgreSQL with TEST_POSTGRES_DSN (see storagetest.AdminDSN).
var backends = []struct {
	name string
	dsn  func(t *testing.T) string
}{
	{name: "sqlite", dsn: sqliteDSN},
	{name: "postgres", dsn: func(t *testing.T) string { storagetest.AdminDSN(t); return storagetest.PostgresDSN(t) }},
}

func TestSQLite(t *testing.T) {
	storagetest.RunTests(t, func(t *testing.T, opts storage.Options) *storage.Store {
		return storagetest.OpenStore(t, sqliteDSN(t), opts)
	})
}

func TestSQLiteConcurrency(t *testing.T) {
	storagetest.RunConcurrencyTests(t, sqliteDSN)
}
