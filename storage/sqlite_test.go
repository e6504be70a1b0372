package storage_test

import (
	"path/filepath"
	"testing"

	"github.com/rotorauth/rotor/storage"
	"github.com/rotorauth/rotor/storage/storagetest"
)

func sqliteDSN(t *testing.T) string { return filepath.Join(t.TempDir(), "rotor.db") }

func TestSQLite(t *testing.T) {
	storagetest.RunTests(t, func(t *testing.T, opts storage.Options) *storage.Store {
		return storagetest.OpenStore(t, sqliteDSN(t), opts)
	})
}

func TestSQLiteConcurrency(t *testing.T) {
	storagetest.RunConcurrencyTests(t, sqliteDSN)
}
