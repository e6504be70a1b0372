package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	fositestorage "github.com/ory/fosite/storage"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// FositeStore is everything fosite's composed handlers need from storage.
type FositeStore interface {
	fosite.Storage
	oauth2.CoreStorage
	oauth2.TokenRevocationStorage
	oauth2.ResourceOwnerPasswordCredentialsGrantStorage
	pkce.PKCERequestStorage
	openid.OpenIDConnectRequestStorage
	fositestorage.Transactional
}

var _ FositeStore = (*Store)(nil)

// Options tune a Store. Zero values take the documented defaults.
type Options struct {
	// BusyTimeout is how long SQLite waits for a lock held by another
	// process before the operation fails with ErrUnavailable.
	BusyTimeout time.Duration
	// MaxReadConns sizes the read pool (SQLite) or the whole pool
	// (PostgreSQL); 0 means one per CPU, at least 4 (SQLite), or 20.
	MaxReadConns int
	// ConnMaxLifetime recycles PostgreSQL connections (0: 30 minutes), so
	// a failover or DNS change is picked up without a restart.
	ConnMaxLifetime time.Duration
	// RefreshReuseGrace is the window after a rotation in which the parent
	// may be presented again and yields the same successor (0 disables).
	RefreshReuseGrace time.Duration
	// SessionMaxTTL is a family's absolute lifetime, counted from login.
	SessionMaxTTL time.Duration
	// Hasher verifies user passwords; nil means DefaultPasswordHasher.
	Hasher *PasswordHasher
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnAudit, when set, sees every audit event as it is recorded (the
	// server logs them).
	OnAudit func(AuditEvent)
}

// Store implements fosite's storage interfaces on gorm.
//
// On SQLite all writes go through one connection whose transactions begin
// IMMEDIATE: writers queue in Go instead of spinning on SQLITE_BUSY, and a
// rotation's read-check-write can't interleave with another in-process.
// Reads use a separate pool so that introspection never waits for writers.
type Store struct {
	write, read *gorm.DB
	opts        Options
	now         func() time.Time
	hasher      *PasswordHasher
	newSession  func() fosite.Session
	path        string
	postgres    bool
	hot         atomic.Pointer[hotStatements]
	hotMu       sync.Mutex

	clientMu    sync.RWMutex
	clientCache map[string]cachedClient

	commits     committer
	checkpoints *checkpointer // SQLite only
}

// Open connects to the database named by dsn: a file path or sqlite://path
// (SQLite), or postgres:// (PostgreSQL).
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	var (
		s   *Store
		err error
	)
	if isPostgres(dsn) {
		s, err = openPostgres(ctx, dsn, opts)
	} else {
		s, err = openSQLite(ctx, dsn, opts)
	}
	if err != nil {
		return nil, err
	}
	s.opts = opts
	s.now = opts.Now
	s.hasher = opts.Hasher
	s.newSession = func() fosite.Session { return &openid.DefaultSession{} }
	s.clientCache = map[string]cachedClient{}
	if s.now == nil {
		s.now = time.Now
	}
	if s.hasher == nil {
		s.hasher = DefaultPasswordHasher()
	}
	if s.opts.SessionMaxTTL == 0 {
		s.opts.SessionMaxTTL = 30 * 24 * time.Hour
	}
	return s, nil
}

// Prepare readies the hot-path statements; it runs after Migrate, when the
// tables exist.
func (s *Store) prepare(ctx context.Context) error {
	_, err := s.statements(ctx)
	return err
}

// gormConfig is shared by both databases.
func gormConfig() *gorm.Config {
	return &gorm.Config{
		Logger:                 logger.Discard, // SQL arguments include token signatures
		SkipDefaultTransaction: true,
	}
}

func openSQLite(ctx context.Context, dsn string, opts Options) (*Store, error) {
	path, err := sqlitePath(dsn)
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create database directory: %w", err)
		}
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	busy := opts.BusyTimeout
	if busy == 0 {
		busy = 5 * time.Second
	}
	// synchronous=NORMAL in WAL mode loses nothing on a process crash
	// (kill -9): only an OS crash can drop the last commits.
	params := fmt.Sprintf("_journal_mode=WAL&_busy_timeout=%d&_foreign_keys=on&_synchronous=NORMAL", busy.Milliseconds())
	registerWriterDriver()
	write, err := gorm.Open(sqlite.New(sqlite.Config{DriverName: writerDriver, DSN: "file:" + path + "?" + params + "&_txlock=immediate"}), gormConfig())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, mapErr(err))
	}
	read, err := gorm.Open(sqlite.Open("file:"+path+"?"+params), gormConfig())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, mapErr(err))
	}
	wdb, err := write.DB()
	if err != nil {
		return nil, err
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	rdb, err := read.DB()
	if err != nil {
		return nil, err
	}
	n := opts.MaxReadConns
	if n == 0 {
		n = max(4, runtime.NumCPU())
	}
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	if err := wdb.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, mapErr(err))
	}
	return &Store{write: write, read: read, path: path, checkpoints: startCheckpointer(rdb)}, nil
}

// sqlitePath accepts a plain file path or sqlite://path.
// createPrivate creates the database file readable by its owner only, as
// it holds password hashes and token signatures. SQLite gives the -wal and
// -shm files it creates the database file's permissions, so they are 0600
// too; the mode is set by OpenFile, which the umask can only narrow. An
// existing file is left as it is.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create sqlite %s: %w", path, err)
	}
	return f.Close()
}

func sqlitePath(dsn string) (string, error) {
	switch {
	case dsn == "":
		return "", errors.New("empty database dsn")
	case strings.HasPrefix(dsn, "sqlite://"):
		p := strings.TrimPrefix(dsn, "sqlite://")
		if p == "" {
			return "", errors.New("sqlite dsn has no path")
		}
		return p, nil
	case isPostgres(dsn):
		return "", errors.New("not a sqlite dsn")
	case strings.Contains(dsn, "://"):
		u, err := url.Parse(dsn)
		if err != nil {
			return "", fmt.Errorf("parse database dsn: %w", err)
		}
		return "", fmt.Errorf("unsupported database scheme %q", u.Scheme)
	default:
		return dsn, nil
	}
}

// Path returns the SQLite file the store uses ("" on PostgreSQL).
func (s *Store) Path() string { return s.path }

// Close releases both connection pools.
func (s *Store) Close() error {
	s.closeCommitter()
	s.checkpoints.close()
	var errs []error
	for _, db := range []*gorm.DB{s.write, s.read} {
		if sqlDB, err := db.DB(); err == nil {
			errs = append(errs, sqlDB.Close())
		}
	}
	return errors.Join(errs...)
}

// Ping checks that the database answers, for readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.read.DB()
	if err != nil {
		return err
	}
	var one int
	if err := sqlDB.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", mapErr(err))
	}
	return nil
}

// txState is the transaction fosite opened through BeginTX, plus what the
// refresh rotation learned inside it.
type txState struct {
	tx *gorm.DB
	// rotatedParent is the refresh token this transaction rotated; the
	// successor row links back to it.
	rotatedParent string
	// graceReplay is set when the parent had already been rotated and is
	// presented again within the grace window: the successor exists already.
	graceReplay bool
	// encodedReq and encoded cache the last request stored in this
	// transaction (see newTokenRow).
	encodedReq fosite.Requester
	encoded    []byte
	// deferred, when set, replaces tx: the writes are recorded and
	// committed later together with other requests' (WithGroupCommit).
	deferred *deferredWrites
}

// errDeferredRead is the answer to a storage call that needs the database
// inside a deferred transaction: only writes can be deferred.
var errDeferredRead = errors.New("storage call not supported inside a group-committed transaction")

type txKey struct{}

func stateFrom(ctx context.Context) *txState {
	st, _ := ctx.Value(txKey{}).(*txState)
	return st
}

// BeginTX starts the transaction fosite wraps a refresh (or a reuse
// revocation) in. On SQLite it takes the write lock at once.
func (s *Store) BeginTX(ctx context.Context) (context.Context, error) {
	if st := stateFrom(ctx); st != nil {
		return ctx, nil // fosite nests MaybeBeginTx in its reuse handling
	}
	if ctx.Value(groupCommitKey{}) != nil {
		return context.WithValue(ctx, txKey{}, &txState{deferred: &deferredWrites{}}), nil
	}
	tx := s.write.WithContext(ctx).Begin()
	if tx.Error != nil {
		return ctx, fmt.Errorf("begin transaction: %w", mapErr(tx.Error))
	}
	return context.WithValue(ctx, txKey{}, &txState{tx: tx}), nil
}

// Commit commits the transaction in ctx.
func (s *Store) Commit(ctx context.Context) error {
	st := stateFrom(ctx)
	if st == nil {
		return errors.New("commit: no transaction in context")
	}
	if st.deferred != nil {
		steps := st.deferred.steps
		st.deferred.steps = nil
		if len(steps) == 0 {
			return nil
		}
		return s.submit(steps)
	}
	if err := st.tx.Commit().Error; err != nil {
		return fmt.Errorf("commit: %w", mapErr(err))
	}
	return nil
}

// Rollback rolls back the transaction in ctx.
func (s *Store) Rollback(ctx context.Context) error {
	st := stateFrom(ctx)
	if st == nil {
		return nil
	}
	if st.deferred != nil {
		st.deferred.steps = nil // nothing was written yet
		return nil
	}
	if err := st.tx.Rollback().Error; err != nil && !errors.Is(err, gorm.ErrInvalidTransaction) {
		return fmt.Errorf("rollback: %w", mapErr(err))
	}
	return nil
}

// writer returns the transaction in ctx, or the write pool.
func (s *Store) writer(ctx context.Context) *gorm.DB {
	if st := stateFrom(ctx); st != nil {
		return s.txOf(ctx, st)
	}
	return s.write.WithContext(ctx)
}

// reader returns the transaction in ctx (to see its own writes), or the
// read pool.
func (s *Store) reader(ctx context.Context) *gorm.DB {
	if st := stateFrom(ctx); st != nil {
		return s.txOf(ctx, st)
	}
	return s.read.WithContext(ctx)
}

// inTx runs fn in a write transaction of its own unless ctx carries one.
func (s *Store) inTx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	if st := stateFrom(ctx); st != nil {
		if st.deferred != nil {
			return errDeferredRead
		}
		return fn(st.tx)
	}
	return s.write.WithContext(ctx).Transaction(fn)
}

// txOf returns st's transaction; a deferred one has none, so the handle it
// returns fails every statement with errDeferredRead.
func (s *Store) txOf(ctx context.Context, st *txState) *gorm.DB {
	if st.deferred == nil {
		return st.tx
	}
	db := s.write.WithContext(ctx)
	_ = db.AddError(errDeferredRead)
	return db
}
