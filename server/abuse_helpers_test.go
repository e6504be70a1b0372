package server_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rotorauth/rotor/server"
	"github.com/rotorauth/rotor/storage"
)

// abuseConfig tunes an abuse harness: a harness (see newHarness) whose
// server.Options and password hasher the abuse-resistance tests choose.
type abuseConfig struct {
	throttle server.ThrottleOptions
	// hasher verifies passwords; nil means the harness's fast one.
	hasher *storage.PasswordHasher
	// noGrace disables the refresh reuse grace.
	noGrace bool
	// oidc registers the authorization-code clients of newOIDCHarness.
	oidc bool
	// bff enables the BFF and the demo API and app, with the BFF's client
	// registered the way cmd/rotor/bff.go does.
	bff bool
	// proxies are server.Options.TrustedProxies.
	proxies []netip.Prefix
}

// abuseBFF* are the BFF settings of an abuse harness with bff set.
const (
	abuseBFFClientID = "rotor-bff"
	abuseBFFSecret   = "abuse-bff-secret-0123456789abcdef012345"
	abuseDemoAud     = "rotor-demo-api"
)

var abuseBFFKey = []byte("abuse-test-bff-encryption-key-32")

// abuseHarness is a harness plus what it takes to start more servers on
// the same database.
type abuseHarness struct {
	*harness
	cfg     abuseConfig
	handler http.Handler
	srv     *server.Server
}

// newAbuseHarness builds a real Rotor the way newHarness does, with cfg's
// options. tb may be a *testing.F (the fuzz target): then h.t is nil and
// only the raw HTTP client may be used.
func newAbuseHarness(tb testing.TB, cfg abuseConfig) *abuseHarness {
	tb.Helper()
	ctx := context.Background()
	h := newBareHarness(tb)
	if cfg.hasher == nil {
		cfg.hasher = storage.NewPasswordHasher(64, 1, 1)
	}
	grace := 10 * time.Second
	if cfg.noGrace {
		grace = 0
	}
	h.openStore(tb, storage.Options{RefreshReuseGrace: grace, Hasher: cfg.hasher})
	store := h.store

	a := &abuseHarness{harness: h, cfg: cfg}
	a.srv = h.start(tb, newTestKeys(tb, store, nil), a.options)
	a.handler = a.srv.Handler()

	secretHasher := testSecretHasher()
	var clients []storage.NewClient
	for _, c := range allClients {
		clients = append(clients, fixtureClient(c))
	}
	if cfg.oidc {
		// As newOIDCHarness registers them.
		scopes := []string{"openid", "email", "offline_access", "read"}
		for _, nc := range []storage.NewClient{
			{ID: acApp.ID, Name: acAppName, RedirectURIs: []string{acAppRedirect, acAppLoopback}, PostLogoutRedirectURIs: []string{acAppLogout}},
			{ID: acSPA.ID, Name: "Example SPA", Public: true, RedirectURIs: []string{acSPARedirect}, PostLogoutRedirectURIs: []string{acSPALogout}},
			{ID: acFirstParty.ID, Name: "Rotor Console", FirstParty: true, RedirectURIs: []string{acFirstRedirect}},
		} {
			tc := acClientByID(nc.ID)
			nc.TokenEndpointAuthMethod = tc.AuthMethod
			nc.GrantTypes = tc.Grants
			nc.Scopes = scopes
			nc.Audience = []string{testAudience}
			nc.ResponseTypes = []string{"code"}
			if !tc.Public {
				nc.SecretHash, _ = secretHasher.Hash(ctx, []byte(tc.Secret))
			}
			clients = append(clients, nc)
		}
	}
	if cfg.bff {
		hash, _ := secretHasher.Hash(ctx, []byte(abuseBFFSecret))
		clients = append(clients, storage.NewClient{
			ID:                      abuseBFFClientID,
			Name:                    "Rotor demo app",
			SecretHash:              hash,
			FirstParty:              true,
			TokenEndpointAuthMethod: "client_secret_basic",
			GrantTypes:              []string{"authorization_code", "refresh_token"},
			ResponseTypes:           []string{"code"},
			RedirectURIs:            []string{h.URL + "/bff/callback"},
			Scopes:                  []string{"openid", "email", "offline_access"},
			Audience:                []string{abuseDemoAud},
		})
	}
	for _, nc := range clients {
		if err := store.CreateClient(ctx, nc); err != nil {
			tb.Fatalf("create client %s: %v", nc.ID, err)
		}
	}
	return a
}

// newServer composes a server.Server over store with the harness's
// options and issuer.
func (a *abuseHarness) newServer(tb testing.TB, store *storage.Store) *server.Server {
	tb.Helper()
	return a.harness.newServer(tb, store, newTestKeys(tb, store, nil), a.options)
}

// options are the harness's server options on top of baseServerOptions.
func (a *abuseHarness) options(o *server.Options) {
	o.Throttle = a.cfg.throttle
	o.TrustedProxies = a.cfg.proxies
	o.Logger = abuseLogger()
	if a.cfg.bff {
		o.BFF = &server.BFFOptions{
			ClientID:      abuseBFFClientID,
			ClientSecret:  abuseBFFSecret,
			UpstreamURL:   o.Issuer + "/demo-api",
			EncryptionKey: abuseBFFKey,
			SessionTTL:    24 * time.Hour,
		}
		o.Demo = &server.DemoOptions{Audience: abuseDemoAud}
	}
}

// replica starts a second Rotor on the same SQLite file with its own
// connections, as another replica would run, sharing the harness's clock.
// Its issuer is the harness's: both are one deployment behind one name.
func (a *abuseHarness) replica(t *testing.T) *harness {
	t.Helper()
	// Migrated as `rotor serve` does on start (a no-op on a current schema).
	store := openTestStore(t, a.dbPath, storage.Options{Now: a.storeClock.Now})
	ts := httptest.NewServer(a.newServer(t, store).Handler())
	t.Cleanup(ts.Close)
	r := *a.harness
	r.t = t
	r.URL = ts.URL
	r.store = store
	r.http = ts.Client()
	r.http.Timeout = 30 * time.Second
	return &r
}

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (any of 127.0.0.0/8 on Linux), so that the server sees a
// different client IP. It keeps cookies and never follows redirects.
func clientFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Jar:           jar,
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// sendWith sends req on client and decodes the answer like harness.do.
func (h *harness) sendWith(client *http.Client, req *http.Request) response {
	h.t.Helper()
	saved := h.http
	h.http = client
	defer func() { h.http = saved }()
	return h.do(req)
}

// signInResult is what one sign-in attempt got.
type signInResult struct {
	Status     int
	RetryAfter string
	// Error is the OAuth error code (password grant) or the login page's
	// error message (login form).
	Error    string
	Location string
	Raw      string
}

// signInSurface is one way to try a password: the password grant or the
// login form.
type signInSurface struct {
	name string
	// okStatus is a successful sign-in's status, failStatus a wrong
	// password's.
	okStatus, failStatus int
	// failError and throttledError are the Error of a wrong password and
	// of a throttled attempt.
	failError, throttledError string
	try                       func(t *testing.T, h *harness, client *http.Client, email, password string, header http.Header) signInResult
}

var signInSurfaces = []signInSurface{
	{
		name:     "password grant",
		okStatus: http.StatusOK, failStatus: http.StatusBadRequest,
		failError: "invalid_grant", throttledError: "invalid_grant",
		try: tryPasswordGrant,
	},
	{
		name:     "login form",
		okStatus: http.StatusSeeOther, failStatus: http.StatusUnauthorized,
		failError:      "The email or password is not correct.",
		throttledError: "Too many failed attempts. Wait a moment and try again.",
		try:            tryLoginForm,
	},
}

func tryPasswordGrant(t *testing.T, h *harness, client *http.Client, email, password string, header http.Header) signInResult {
	t.Helper()
	v := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}
	req, err := http.NewRequest(http.MethodPost, h.URL+"/oauth2/token", strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(webClient.ID, webClient.Secret)
	for k, vs := range header {
		req.Header[k] = vs
	}
	r := h.sendWith(client, req)
	return signInResult{Status: r.Status, RetryAfter: r.Header.Get("Retry-After"), Error: r.str("error"), Raw: string(r.Raw)}
}

// tryLoginForm opens the first-party client's authorization request (the
// login page) and submits the form. The harness must have cfg.oidc.
func tryLoginForm(t *testing.T, h *harness, client *http.Client, email, password string, header http.Header) signInResult {
	t.Helper()
	v, _ := acParams(acFirstParty, "openid")
	v.Set("prompt", "login")
	req, err := http.NewRequest(http.MethodGet, h.acAuthorizeURL(v), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := h.sendWith(client, req)
	if r.Status != http.StatusOK {
		t.Fatalf("GET authorize: status %d, body %s", r.Status, r.Raw)
	}
	p := page{URL: req.URL, Status: r.Status, Header: r.Header, Body: string(r.Raw)}
	f := mustForm(t, p, "/login")
	form := url.Values{}
	for k, vs := range f.Fields {
		form[k] = vs
	}
	form.Set("username", email)
	form.Set("password", password)
	req, err = http.NewRequest(http.MethodPost, h.URL+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range header {
		req.Header[k] = vs
	}
	r = h.sendWith(client, req)
	res := signInResult{Status: r.Status, RetryAfter: r.Header.Get("Retry-After"), Location: r.Header.Get("Location"), Raw: string(r.Raw)}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		res.Error = textOf(t, string(r.Raw), byClass("p", "error"))
	}
	return res
}

// wantFailed asserts a wrong password's answer (not throttled).
func (s signInSurface) wantFailed(t *testing.T, r signInResult, what string) {
	t.Helper()
	if r.Status != s.failStatus || r.Error != s.failError || r.RetryAfter != "" {
		t.Fatalf("%s: got status %d, error %q, Retry-After %q; want %d %q without Retry-After (body %.300s)",
			what, r.Status, r.Error, r.RetryAfter, s.failStatus, s.failError, r.Raw)
	}
}

// wantOK asserts a successful sign-in.
func (s signInSurface) wantOK(t *testing.T, r signInResult, what string) {
	t.Helper()
	if r.Status != s.okStatus {
		t.Fatalf("%s: got status %d, error %q, Retry-After %q; want %d (body %.300s)",
			what, r.Status, r.Error, r.RetryAfter, s.okStatus, r.Raw)
	}
}

// wantThrottled asserts 429 with the surface's error and returns the
// Retry-After in seconds.
func (s signInSurface) wantThrottled(t *testing.T, r signInResult, what string) int {
	t.Helper()
	if r.Status != http.StatusTooManyRequests || r.Error != s.throttledError {
		t.Fatalf("%s: got status %d, error %q; want 429 %q (body %.300s)", what, r.Status, r.Error, s.throttledError, r.Raw)
	}
	var secs int
	if _, err := fmt.Sscanf(r.RetryAfter, "%d", &secs); err != nil || secs < 1 || fmt.Sprint(secs) != r.RetryAfter {
		t.Fatalf("%s: Retry-After %q is not a positive number of seconds", what, r.RetryAfter)
	}
	return secs
}

// auditEvents returns every stored audit event, oldest first.
func (h *harness) auditEvents() []storage.AuditEvent {
	h.t.Helper()
	ev, err := h.store.AuditEvents(context.Background(), "", "", 10000)
	if err != nil {
		h.t.Fatalf("audit events: %v", err)
	}
	return ev
}

// abuseLogger discards the server's log unless ROTOR_TEST_LOG is set.
func abuseLogger() *slog.Logger {
	if os.Getenv("ROTOR_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
