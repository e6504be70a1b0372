package server_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"github.com/rotorauth/rotor/keys"
	"github.com/rotorauth/rotor/server"
	"github.com/rotorauth/rotor/storage"
)

// Fixture credentials. Every harness registers the same users and clients.
const (
	aliceEmail    = "alice@example.com"
	alicePassword = "correct horse battery staple"
	bobEmail      = "bob@example.com"
	bobPassword   = "hunter2hunter2"

	testAudience = "https://api.example.com"
	systemSecret = "integration-test-system-secret-0123456789"
)

// testClient is a registered client and the secret it authenticates with.
type testClient struct {
	ID, Secret string
	Public     bool
	FirstParty bool // the password grant needs it
	AuthMethod string
	Grants     []string
	Resources  []string // the APIs it serves: it may introspect their tokens
	// Introspector: a trusted introspector, which may introspect every token.
	Introspector bool
}

var (
	// webClient is confidential, client_secret_basic, every grant.
	webClient = testClient{ID: "web", FirstParty: true, Secret: "web-secret-0123456789abcdef0123456789", AuthMethod: "client_secret_basic",
		Grants: []string{"password", "refresh_token", "client_credentials"}}
	// postClient is confidential, client_secret_post.
	postClient = testClient{ID: "post", FirstParty: true, Secret: "post-secret-0123456789abcdef012345678", AuthMethod: "client_secret_post",
		Grants: []string{"password", "refresh_token"}}
	// mobileClient is public (auth method none).
	mobileClient = testClient{ID: "mobile", FirstParty: true, Public: true, AuthMethod: "none",
		Grants: []string{"password", "refresh_token"}}
	// otherClient is a second confidential client, for cross-client checks.
	otherClient = testClient{ID: "other", FirstParty: true, Secret: "other-secret-0123456789abcdef01234567", AuthMethod: "client_secret_basic",
		Grants: []string{"password", "refresh_token"}}
	// serviceClient may only use client_credentials.
	serviceClient = testClient{ID: "service", Secret: "service-secret-0123456789abcdef012345", AuthMethod: "client_secret_basic",
		Grants: []string{"client_credentials"}}
	// rsClient is a resource server that introspects tokens.
	rsClient = testClient{ID: "resource-server", Secret: "rs-secret-0123456789abcdef0123456789ab", AuthMethod: "client_secret_basic",
		Grants: []string{"client_credentials"}, Resources: []string{testAudience, bffDemoAudience}}

	// auditorClient is a trusted introspector: the tests' oracle of whether a
	// token is active (harness.introspect), whoever it was issued to.
	auditorClient = testClient{ID: "auditor", Secret: "auditor-secret-0123456789abcdef012345", AuthMethod: "client_secret_basic",
		Grants: []string{"client_credentials"}, Introspector: true}

	allClients = []testClient{webClient, postClient, mobileClient, otherClient, serviceClient, rsClient, auditorClient}
)

// clock is an adjustable clock: real time plus an offset.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// config tunes a harness; zero values take the defaults in newHarness.
type config struct {
	grace          time.Duration // refresh reuse grace; see noGrace
	noGrace        bool
	accessTTL      time.Duration
	refreshIdleTTL time.Duration
	sessionMaxTTL  time.Duration
	busyTimeout    time.Duration
}

// harness is a real Rotor: SQLite file, key manager, fosite, Echo, served
// over loopback HTTP.
type harness struct {
	t          *testing.T
	URL        string // == issuer
	store      *storage.Store
	dbPath     string
	storeClock *clock // storage.Options.Now
	srvClock   *clock // server.Options.Now
	users      map[string]storage.User
	http       *http.Client
}

// newHarness builds the pieces the way cmd/rotor/serve.go does.
func newHarness(t *testing.T, cfg config) *harness {
	t.Helper()
	if cfg.grace == 0 && !cfg.noGrace {
		cfg.grace = 10 * time.Second
	}
	if cfg.noGrace {
		cfg.grace = 0
	}
	if cfg.accessTTL == 0 {
		cfg.accessTTL = 10 * time.Minute
	}
	if cfg.refreshIdleTTL == 0 {
		cfg.refreshIdleTTL = time.Hour
	}
	if cfg.sessionMaxTTL == 0 {
		cfg.sessionMaxTTL = 24 * time.Hour
	}
	h := newBareHarness(t)
	h.openStore(t, storage.Options{BusyTimeout: cfg.busyTimeout, RefreshReuseGrace: cfg.grace, SessionMaxTTL: cfg.sessionMaxTTL})
	h.start(t, newTestKeys(t, h.store, nil), func(o *server.Options) {
		o.AccessTokenTTL, o.RefreshIdleTTL = cfg.accessTTL, cfg.refreshIdleTTL
	})
	h.registerClients(t, allClients...)
	return h
}

// newBareHarness is a harness with its clocks and nothing started; tb may
// be a *testing.F, which leaves h.t nil.
func newBareHarness(tb testing.TB) *harness {
	t, _ := tb.(*testing.T)
	return &harness{t: t, storeClock: &clock{}, srvClock: &clock{}, users: map[string]storage.User{}}
}

// testSecretHasher hashes fixture client secrets the way the servers of
// every harness compare them.
func testSecretHasher() *storage.SecretHasher {
	return storage.NewSecretHasher(keys.DeriveKey([]byte(systemSecret), "client secret hash"))
}

// openTestStore opens and migrates a store on path with the test defaults
// (a cheap password hasher, 5 s busy timeout); fields set in opts win.
func openTestStore(tb testing.TB, path string, opts storage.Options) *storage.Store {
	tb.Helper()
	if opts.BusyTimeout == 0 {
		opts.BusyTimeout = 5 * time.Second
	}
	if opts.Hasher == nil {
		opts.Hasher = storage.NewPasswordHasher(64, 1, 1)
	}
	store, err := storage.Open(context.Background(), path, opts)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	if _, err := store.Migrate(context.Background()); err != nil {
		tb.Fatalf("migrate: %v", err)
	}
	return store
}

// openStore gives h a store on a fresh SQLite file, on h's store clock.
func (h *harness) openStore(tb testing.TB, opts storage.Options) {
	tb.Helper()
	h.dbPath = filepath.Join(tb.TempDir(), "rotor.db")
	if opts.Now == nil {
		opts.Now = h.storeClock.Now
	}
	if opts.SessionMaxTTL == 0 {
		opts.SessionMaxTTL = 24 * time.Hour
	}
	h.store = openTestStore(tb, h.dbPath, opts)
}

// newTestKeys loads (creating) the signing keys of store; now may be nil.
func newTestKeys(tb testing.TB, store *storage.Store, now func() time.Time) *keys.Manager {
	tb.Helper()
	sealer, err := keys.NewSealer([]byte(systemSecret))
	if err != nil {
		tb.Fatalf("sealer: %v", err)
	}
	m, err := keys.NewManager(context.Background(), store, sealer, now)
	if err != nil {
		tb.Fatalf("key manager: %v", err)
	}
	return m
}

// baseServerOptions are the server options every harness starts from.
func baseServerOptions(issuer string, now func() time.Time) server.Options {
	return server.Options{
		Issuer:         issuer,
		AccessTokenTTL: 10 * time.Minute,
		RefreshIdleTTL: time.Hour,
		HMACKey:        keys.DeriveKey([]byte(systemSecret), "token hmac"),
		SuccessorKey:   keys.DeriveKey([]byte(systemSecret), "refresh token successor"),
		SecretHasher:   testSecretHasher(),
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:            now,
	}
}

// newServer composes a server over store with baseServerOptions adjusted
// by mutate.
func (h *harness) newServer(tb testing.TB, store *storage.Store, keySet server.KeySet, mutate func(*server.Options)) *server.Server {
	tb.Helper()
	opts := baseServerOptions(h.URL, h.srvClock.Now)
	if mutate != nil {
		mutate(&opts)
	}
	srv, err := server.New(opts, store, keySet)
	if err != nil {
		tb.Fatalf("server.New: %v", err)
	}
	return srv
}

// start serves h over loopback HTTP and registers alice and bob. It
// listens first so the issuer is the real URL (discovery's jwks_uri can be
// fetched); mutate sees the issuer already set.
func (h *harness) start(tb testing.TB, keySet server.KeySet, mutate func(*server.Options)) *server.Server {
	tb.Helper()
	ts := httptest.NewUnstartedServer(nil)
	h.URL = "http://" + ts.Listener.Addr().String()
	srv := h.newServer(tb, h.store, keySet, mutate)
	ts.Config.Handler = srv.Handler()
	ts.Start()
	tb.Cleanup(ts.Close)
	h.http = ts.Client()
	h.http.Timeout = 30 * time.Second
	for _, u := range [][2]string{{aliceEmail, alicePassword}, {bobEmail, bobPassword}} {
		user, err := h.store.CreateUser(context.Background(), u[0], u[1])
		if err != nil {
			tb.Fatalf("create user %s: %v", u[0], err)
		}
		h.users[u[0]] = user
	}
	return srv
}

// fixtureClient is the registration of a fixture client: scopes read and
// write, the test audience.
func fixtureClient(c testClient) storage.NewClient {
	nc := storage.NewClient{
		ID: c.ID, Name: c.ID, Public: c.Public, FirstParty: c.FirstParty, TokenEndpointAuthMethod: c.AuthMethod,
		GrantTypes: c.Grants, Scopes: []string{"read", "write"}, Audience: []string{testAudience},
		Resources: c.Resources, Introspector: c.Introspector,
	}
	if !c.Public {
		nc.SecretHash, _ = testSecretHasher().Hash(context.Background(), []byte(c.Secret))
	}
	return nc
}

// registerClients registers fixture clients (see fixtureClient).
func (h *harness) registerClients(tb testing.TB, clients ...testClient) {
	tb.Helper()
	for _, c := range clients {
		if err := h.store.CreateClient(context.Background(), fixtureClient(c)); err != nil {
			tb.Fatalf("create client %s: %v", c.ID, err)
		}
	}
}
