package main

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestLocalFilesPrivate: a local setup's generated system secret and its
// SQLite files are created 0600 whatever the umask.
func TestLocalFilesPrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	environ, dataDir := testEnv(t)
	mustCLI(t, environ, "", "migrate")
	for _, name := range []string{secretFileName, "rotor.db", "rotor.db-wal", "rotor.db-shm"} {
		fi, err := os.Stat(filepath.Join(dataDir, name))
		if os.IsNotExist(err) && name != secretFileName && name != "rotor.db" {
			continue // checkpointed away on close
		}
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s: mode %v, want 0600", name, m)
		}
	}
}
