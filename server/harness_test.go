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
	ctx := context.Background()
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
	if cfg.busyTimeout == 0 {
		cfg.busyTimeout = 5 * time.Second
	}
	h := &harness{t: t, storeClock: &clock{}, srvClock: &clock{}, users: map[string]storage.User{}}
	h.dbPath = filepath.Join(t.TempDir(), "rotor.db")
	store, err := storage.Open(ctx, h.dbPath, storage.Options{
		BusyTimeout:       cfg.busyTimeout,
		RefreshReuseGrace: cfg.grace,
		SessionMaxTTL:     cfg.sessionMaxTTL,
		Hasher:            storage.NewPasswordHasher(64, 1, 1),
		Now:               h.storeClock.Now,
	})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	h.store = store

	sealer, err := keys.NewSealer([]byte(systemSecret))
	if err != nil {
		t.Fatalf("sealer: %v", err)
	}
	keySet, err := keys.NewManager(ctx, store, sealer, nil)
	if err != nil {
		t.Fatalf("key manager: %v", err)
	}

	// Listen first so the issuer is the real URL and discovery's
	// jwks_uri can be fetched.
	ts := httptest.NewUnstartedServer(nil)
	h.URL = "http://" + ts.Listener.Addr().String()
	secretHasher := storage.NewSecretHasher(keys.DeriveKey([]byte(systemSecret), "client secret hash"))
	srv, err := server.New(server.Options{
		Issuer:         h.URL,
		AccessTokenTTL: cfg.accessTTL,
		RefreshIdleTTL: cfg.refreshIdleTTL,
		HMACKey:        keys.DeriveKey([]byte(systemSecret), "token hmac"),
		SuccessorKey:   keys.DeriveKey([]byte(systemSecret), "refresh token successor"),
		SecretHasher:   secretHasher,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:            h.srvClock.Now,
	}, store, keySet)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	h.http = ts.Client()
	h.http.Timeout = 30 * time.Second

	for _, u := range [][2]string{{aliceEmail, alicePassword}, {bobEmail, bobPassword}} {
		user, err := store.CreateUser(ctx, u[0], u[1])
		if err != nil {
			t.Fatalf("create user %s: %v", u[0], err)
		}
		h.users[u[0]] = user
	}
	for _, c := range allClients {
		nc := storage.NewClient{
			ID: c.ID, Name: c.ID, Public: c.Public, TokenEndpointAuthMethod: c.AuthMethod,
			GrantTypes: c.Grants, Scopes: []string{"read", "write"}, Audience: []string{testAudience},
		}
		if !c.Public {
			nc.SecretHash, _ = secretHasher.Hash(ctx, []byte(c.Secret))
		}
		if err := store.CreateClient(ctx, nc); err != nil {
			t.Fatalf("create client %s: %v", c.ID, err)
		}
	}
	return h
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
