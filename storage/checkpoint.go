package storage

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3"
)

// SQLite checkpoints off the commit path. By default the connection whose
// commit pushes the WAL past 1,000 pages copies the WAL back into the
// database file and fsyncs both, inside that commit: with one writer, every
// token write waits behind it (measured: a quarter of the two cores idle
// under refresh load, and the p99). Rotor's writer never checkpoints; a
// background goroutine runs PASSIVE checkpoints, which never block the
// writer, on a read connection. Durability is unchanged: with
// synchronous=NORMAL a commit is in the WAL once it returns, and the
// checkpoint's fsyncs only ever guarded the copy into the main file.

// writerDriver is mattn's driver with automatic checkpoints turned off.
const writerDriver = "sqlite3_rotor_writer"

var registerWriterDriver = sync.OnceFunc(func() {
	sql.Register(writerDriver, &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA wal_autocheckpoint = 0", nil)
			return err
		},
	})
})

// checkpointInterval bounds how far the WAL grows between checkpoints:
// at the measured peak write rate, a few MB.
const checkpointInterval = 200 * time.Millisecond

// checkpointer runs PASSIVE checkpoints until stop is closed.
type checkpointer struct {
	stop, done chan struct{}
	once       sync.Once
}

func startCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		t := time.NewTicker(checkpointInterval)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
				// Errors (a busy database, a closing pool) are transient:
				// the next tick tries again, and SQLite checkpoints on the
				// last close regardless.
				_, _ = db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
			}
		}
	}()
	return c
}

func (c *checkpointer) close() {
	if c == nil {
		return
	}
	c.once.Do(func() { close(c.stop) })
	<-c.done
}
