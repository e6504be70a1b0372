package storagetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for raw checks
	_ "github.com/mattn/go-sqlite3"    // database/sql driver "sqlite3" for raw checks
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/rotorauth/rotor/storage"
)

// NewDSNFunc returns the DSN of a fresh, empty database that lives as long
// as t.
type NewDSNFunc func(t *testing.T) string

// racers is how many requests race on one refresh token.
const racers = 50

// RunConcurrencyTests races refresh rotations and migrations on databases
// from newDSN.
func RunConcurrencyTests(t *testing.T, newDSN NewDSNFunc) {
	tests := []struct {
		name        string
		grace       time.Duration
		groupCommit bool
	}{
		{name: "RefreshRace/grace on", grace: 10 * time.Second},
		{name: "RefreshRace/grace off", grace: 0},
		{name: "RefreshRace/grace on, group commit", grace: 10 * time.Second, groupCommit: true},
		{name: "RefreshRace/grace off, group commit", grace: 0, groupCommit: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testRefreshRace(t, newDSN(t), tt.grace, tt.groupCommit) })
	}
	t.Run("GroupCommit/one failing unit", func(t *testing.T) { testGroupCommitIsolation(t, newDSN(t)) })
	t.Run("Migrate", func(t *testing.T) { testConcurrentMigrate(t, newDSN(t)) })
	t.Run("ThrottleRace", func(t *testing.T) { testThrottleRace(t, newDSN(t)) })
	t.Run("ConsentRace", func(t *testing.T) { testConsentRace(t, newDSN(t)) })
}

// outcome classes of one racing rotation.
type raceResult struct {
	ok, reuse, unavailable int
}

// testRefreshRace has racers requests rotate one parent at once, as many
// retries of one refresh would: each stores its own access token and the
// same successor refresh token (Rotor derives the successor from the
// parent, so every retry computes the same one). With group commit the
// racers' writes share transactions, so the race is decided inside one.
func testRefreshRace(t *testing.T, dsn string, grace time.Duration, groupCommit bool) {
	s := OpenStore(t, dsn, storage.Options{RefreshReuseGrace: grace, Hasher: CheapHasher()})
	ctx := context.Background()
	rotateCtx := ctx
	if groupCommit {
		rotateCtx = storage.WithGroupCommit(ctx)
	}
	f := raceFixture(t, s)
	const family, parent, successor = "fam-race", "rt-parent", "rt-successor"
	f.issue(t, f.request(family, subject), "at-parent", parent)

	errs := make([]error, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range racers {
		r := f.request(family, subject)
		// Marks whose request stored the successor.
		r.Session.(*openid.DefaultSession).Claims.Extra["racer"] = strconv.Itoa(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = Rotate(rotateCtx, s, r, parent, fmt.Sprintf("at-%d", i), successor)
		}()
	}
	close(start)
	wg.Wait()

	var res raceResult
	for i, err := range errs {
		var reuse *storage.ReuseError
		switch {
		case err == nil:
			res.ok++
		case errors.As(err, &reuse):
			res.reuse++
		case errors.Is(err, storage.ErrUnavailable):
			res.unavailable++
			t.Logf("racer %d: retryable error: %v", i, err)
		default:
			t.Errorf("racer %d: unexpected error: %v", i, err)
		}
	}
	t.Logf("%d rotated or replayed, %d reuse, %d unavailable", res.ok, res.reuse, res.unavailable)

	// Which racer's request is stored under the successor: the one rotation
	// that won. Had two rotations won, the second insert of the successor
	// would have failed with a conflict.
	got, err := s.GetRefreshTokenSession(ctx, successor, &openid.DefaultSession{})
	if err != nil {
		t.Fatalf("successor: %v", err)
	}
	winner, err := strconv.Atoi(fmt.Sprint(got.GetSession().(*openid.DefaultSession).Claims.Extra["racer"]))
	if err != nil || winner < 0 || winner >= racers {
		t.Fatalf("successor stored by racer %v (%v)", got.GetSession().(*openid.DefaultSession).Claims.Extra["racer"], err)
	}
	if errs[winner] != nil {
		t.Errorf("racer %d stored the successor but got %v", winner, errs[winner])
	}

	if grace > 0 {
		// Every loser is a grace replay: success, and its access token stored.
		if res.ok != racers {
			t.Errorf("%d of %d rotations succeeded, want all (one rotation, the rest grace replays)", res.ok, racers)
		}
		for i := range racers {
			if errs[i] == nil {
				f.accessState(t, fmt.Sprintf("at-%d", i), nil)
			}
		}
	} else {
		if res.ok != 1 {
			t.Errorf("%d rotations succeeded, want exactly 1", res.ok)
		}
		if res.reuse+res.unavailable != racers-1 {
			t.Errorf("%d reuse and %d unavailable errors, want %d losers", res.reuse, res.unavailable, racers-1)
		}
		// A loser committed nothing.
		for i := range racers {
			want := error(fosite.ErrNotFound)
			if i == winner {
				want = nil
			}
			f.accessState(t, fmt.Sprintf("at-%d", i), want)
		}
	}
	f.refreshState(t, parent, fosite.ErrInactiveToken)
	f.accessState(t, "at-parent", fosite.ErrInactiveToken)

	db := rawDB(t, dsn)
	rows := []struct {
		name  string
		query string
		args  []any
		want  int64
	}{
		{name: "live successors of the parent", query: "SELECT COUNT(*) FROM refresh_tokens WHERE parent_signature = ? AND active = ?", args: []any{parent, true}, want: 1},
		{name: "refresh tokens of the family", query: "SELECT COUNT(*) FROM refresh_tokens WHERE request_id = ?", args: []any{family}, want: 2},
		{name: "live families", query: "SELECT COUNT(*) FROM token_families WHERE id = ? AND revoked_at IS NULL", args: []any{family}, want: 1},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			if n := count(t, db, dsn, r.query, r.args...); n != r.want {
				t.Errorf("%d rows, want %d", n, r.want)
			}
		})
	}
}

// testConcurrentMigrate has three separate stores, as three replicas
// starting together would, migrate one fresh database at once.
func testConcurrentMigrate(t *testing.T, dsn string) {
	const n = 3
	stores := make([]*storage.Store, n)
	for i := range stores {
		s, err := storage.Open(context.Background(), dsn, storage.Options{Hasher: CheapHasher()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	applied := make([][]int, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			applied[i], errs[i] = s.Migrate(context.Background())
		}()
	}
	close(start)
	wg.Wait()
	var all []int
	for i, err := range errs {
		if err != nil {
			t.Errorf("migration %d: %v", i, err)
		}
		all = append(all, applied[i]...)
	}
	slices.Sort(all)
	if len(all) == 0 || len(slices.Compact(slices.Clone(all))) != len(all) {
		t.Errorf("versions applied across the stores: %v, want each once", all)
	}

	db := rawDB(t, dsn)
	rows, err := db.Query("SELECT version, COUNT(*) FROM schema_migrations GROUP BY version ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var versions []int
	for rows.Next() {
		var v, c int
		if err := rows.Scan(&v, &c); err != nil {
			t.Fatal(err)
		}
		if c != 1 {
			t.Errorf("schema_migrations has %d rows for version %d, want 1", c, v)
		}
		versions = append(versions, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(versions, all) {
		t.Errorf("schema_migrations holds versions %v, the stores applied %v", versions, all)
	}
	for i, s := range stores {
		if v, err := s.SchemaVersion(context.Background()); err != nil || len(versions) == 0 || v != versions[len(versions)-1] {
			t.Errorf("store %d: schema version %d, %v; want %v", i, v, err, versions)
		}
	}
}

// rawDB opens dsn with database/sql for checks the Store API can't make.
func rawDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	driver, src := "sqlite3", "file:"+strings.TrimPrefix(dsn, "sqlite://")+"?_busy_timeout=5000"
	if isPostgresDSN(dsn) {
		driver, src = "pgx", dsn
	}
	db, err := sql.Open(driver, src)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func isPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// count runs a COUNT query with ? placeholders on either database.
func count(t *testing.T, db *sql.DB, dsn, query string, args ...any) int64 {
	t.Helper()
	if isPostgresDSN(dsn) {
		for i := 1; strings.Contains(query, "?"); i++ {
			query = strings.Replace(query, "?", "$"+strconv.Itoa(i), 1)
		}
	}
	var n int64
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// testGroupCommitIsolation rotates many families at once with group
// commit, one of them doomed (its successor collides with an existing
// refresh token): that one fails and rolls back, every other commits.
func testGroupCommitIsolation(t *testing.T, dsn string) {
	s := OpenStore(t, dsn, storage.Options{Hasher: CheapHasher()})
	ctx := context.Background()
	f := raceFixture(t, s)
	const families, doomed = 30, 7
	for i := range families {
		f.issue(t, f.request(fmt.Sprintf("fam-%d", i), subject), fmt.Sprintf("at-%d-0", i), fmt.Sprintf("rt-%d-0", i))
	}
	errs := make([]error, families)
	start := make(chan struct{})
	var wg sync.WaitGroup
	b0, u0 := s.GroupCommitStats()
	for i := range families {
		successor := fmt.Sprintf("rt-%d-1", i)
		if i == doomed {
			successor = "rt-0-0" // already stored: the insert fails
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = Rotate(storage.WithGroupCommit(ctx), s, f.request(fmt.Sprintf("fam-%d", i), subject),
				fmt.Sprintf("rt-%d-0", i), fmt.Sprintf("at-%d-1", i), successor)
		}()
	}
	close(start)
	wg.Wait()
	b, u := s.GroupCommitStats()
	t.Logf("%d rotations in %d group commits (a failed batch is retried unit by unit)", u-u0, b-b0)
	for i, err := range errs {
		parentWant, successorWant := error(fosite.ErrInactiveToken), error(nil)
		if i == doomed {
			if err == nil {
				t.Errorf("family %d: the colliding rotation succeeded", i)
			}
			parentWant, successorWant = nil, fosite.ErrNotFound // rolled back
		} else if err != nil {
			t.Errorf("family %d: %v", i, err)
		}
		f.refreshState(t, fmt.Sprintf("rt-%d-0", i), parentWant)
		f.refreshState(t, fmt.Sprintf("rt-%d-1", i), successorWant)
	}
}

// raceFixture registers the app client on s for the race tests.
func raceFixture(t *testing.T, s *storage.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	if err := s.CreateClient(ctx, storage.NewClient{ID: appClient, Public: true, TokenEndpointAuthMethod: "none",
		GrantTypes: []string{"password", "refresh_token"}}); err != nil {
		t.Fatal(err)
	}
	client, err := s.GetClient(ctx, appClient)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{s: s, clock: NewClock(), client: client}
}
