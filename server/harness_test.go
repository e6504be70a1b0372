package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"

	"rotor/keys"
	"rotor/server"
	"rotor/storage"
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
	AuthMethod string
	Grants     []string
}

var (
	// webClient is confidential, client_secret_basic, every grant.
	webClient = testClient{ID: "web", Secret: "web-secret-0123456789abcdef0123456789", AuthMethod: "client_secret_basic",
		Grants: []string{"password", "refresh_token", "client_credentials"}}
	// postClient is confidential, client_secret_post.
	postClient = testClient{ID: "post", Secret: "post-secret-0123456789abcdef012345678", AuthMethod: "client_secret_post",
		Grants: []string{"password", "refresh_token"}}
	// mobileClient is public (auth method none).
	mobileClient = testClient{ID: "mobile", Public: true, AuthMethod: "none",
		Grants: []string{"password", "refresh_token"}}
	// otherClient is a second confidential client, for cross-client checks.
	otherClient = testClient{ID: "other", Secret: "other-secret-0123456789abcdef01234567", AuthMethod: "client_secret_basic",
		Grants: []string{"password", "refresh_token"}}
	// serviceClient may only use client_credentials.
	serviceClient = testClient{ID: "service", Secret: "service-secret-0123456789abcdef012345", AuthMethod: "client_secret_basic",
		Grants: []string{"client_credentials"}}
	// rsClient is a resource server that introspects tokens.
	rsClient = testClient{ID: "resource-server", Secret: "rs-secret-0123456789abcdef0123456789ab", AuthMethod: "client_secret_basic",
		Grants: []string{"client_credentials"}}

	allClients = []testClient{webClient, postClient, mobileClient, otherClient, serviceClient, rsClient}
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
		ID: c.ID, Name: c.ID, Public: c.Public, TokenEndpointAuthMethod: c.AuthMethod,
		GrantTypes: c.Grants, Scopes: []string{"read", "write"}, Audience: []string{testAudience},
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

// response is a decoded HTTP answer.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   map[string]any
}

// str returns a string field of the JSON body ("" if absent).
func (r response) str(key string) string {
	s, _ := r.JSON[key].(string)
	return s
}

// do sends req and decodes a JSON body if there is one.
func (h *harness) do(req *http.Request) response {
	h.t.Helper()
	res, err := h.http.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatalf("read body: %v", err)
	}
	r := response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.JSON); err != nil {
			h.t.Fatalf("decode JSON body %q: %v", raw, err)
		}
	}
	return r
}

// post sends a raw body with a content type; c (may be nil) authenticates
// with HTTP Basic.
func (h *harness) post(path, contentType, body string, basic *testClient) response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic.ID), url.QueryEscape(basic.Secret))
	}
	return h.do(req)
}

// form posts form values, authenticating c the way its auth method says.
func (h *harness) form(path string, c testClient, v url.Values) response {
	h.t.Helper()
	v = cloneValues(v)
	switch c.AuthMethod {
	case "client_secret_basic":
		return h.post(path, "application/x-www-form-urlencoded", v.Encode(), &c)
	case "client_secret_post":
		v.Set("client_id", c.ID)
		v.Set("client_secret", c.Secret)
	default: // none
		v.Set("client_id", c.ID)
	}
	return h.post(path, "application/x-www-form-urlencoded", v.Encode(), nil)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// login runs the password grant and requires success.
func (h *harness) login(c testClient, email, password, scope string) tokens {
	h.t.Helper()
	v := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}
	if scope != "" {
		v.Set("scope", scope)
	}
	r := h.form("/oauth2/token", c, v)
	return h.mustTokens(r)
}

// refresh presents a refresh token.
func (h *harness) refresh(c testClient, rt string) response {
	h.t.Helper()
	return h.form("/oauth2/token", c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

// mustRefresh refreshes and requires success.
func (h *harness) mustRefresh(c testClient, rt string) tokens {
	h.t.Helper()
	return h.mustTokens(h.refresh(c, rt))
}

// tokens is a successful token response.
type tokens struct {
	Access, Refresh, Scope, TokenType string
	ExpiresIn                         float64
}

func (h *harness) mustTokens(r response) tokens {
	h.t.Helper()
	if r.Status != http.StatusOK {
		h.t.Fatalf("token request: status %d, body %s", r.Status, r.Raw)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		h.t.Errorf("token response Cache-Control = %q, want no-store", cc)
	}
	tk := tokens{Access: r.str("access_token"), Refresh: r.str("refresh_token"), Scope: r.str("scope"), TokenType: r.str("token_type")}
	tk.ExpiresIn, _ = r.JSON["expires_in"].(float64)
	if tk.Access == "" {
		h.t.Fatalf("token response without access_token: %s", r.Raw)
	}
	return tk
}

// wantOAuthError asserts an RFC 6749 §5.2 error response.
func wantOAuthError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status = %d, want %d (body %s)", r.Status, status, r.Raw)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if got := r.str("error"); got != code {
		t.Errorf("error = %q, want %q (body %s)", got, code, r.Raw)
	}
	if code == "invalid_client" && r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("invalid_client without WWW-Authenticate")
	}
}

// introspect asks as the resource server.
func (h *harness) introspect(token string) response {
	h.t.Helper()
	v := url.Values{"token": {token}}
	return h.post("/oauth2/introspect", "application/x-www-form-urlencoded", v.Encode(), &rsClient)
}

// active reports whether introspection calls token active.
func (h *harness) active(token string) bool {
	h.t.Helper()
	r := h.introspect(token)
	if r.Status != http.StatusOK {
		h.t.Fatalf("introspect: status %d, body %s", r.Status, r.Raw)
	}
	a, ok := r.JSON["active"].(bool)
	if !ok {
		h.t.Fatalf("introspect: no boolean active in %s", r.Raw)
	}
	return a
}

// revoke revokes token as c.
func (h *harness) revoke(c testClient, token, hint string) response {
	h.t.Helper()
	v := url.Values{"token": {token}}
	if hint != "" {
		v.Set("token_type_hint", hint)
	}
	return h.form("/oauth2/revoke", c, v)
}
