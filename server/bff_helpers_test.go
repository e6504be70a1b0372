package server_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rotorauth/rotor/server"
	"github.com/rotorauth/rotor/storage"
)

// The BFF's client, registered the way cmd/rotor/bff.go does.
const (
	bffClientID     = "rotor-bff"
	bffClientSecret = "bff-secret-0123456789abcdef0123456789abcd"
	bffDemoAudience = "rotor-demo-api"
	bffSessionName  = "rotor_bff_session" // http issuer: no __Host- prefix
	bffLoginName    = "rotor_bff_login"
	bffEvilOrigin   = "https://evil.example"
)

// bffEncKey seals the BFF's stored tokens; the tests know it so they can
// open a stored session and see the real tokens.
var bffEncKey = []byte("bff-test-encryption-key-32-bytes")

// bffConfig tunes a BFF harness; zero values take defaults.
type bffConfig struct {
	accessTTL      time.Duration
	refreshIdleTTL time.Duration
	sessionTTL     time.Duration
	// upstream is BFFOptions.UpstreamURL; "" means the demo API.
	upstream string
}

// bffHarness is a harness whose server runs the BFF and the demo API.
type bffHarness struct {
	*harness
	noRedirect *http.Client
}

// newBFFHarness builds a real Rotor like newHarness does, with the BFF and
// the demo API enabled and the BFF's client registered.
func newBFFHarness(t *testing.T, cfg bffConfig) *bffHarness {
	t.Helper()
	ctx := context.Background()
	if cfg.accessTTL == 0 {
		cfg.accessTTL = 10 * time.Minute
	}
	if cfg.refreshIdleTTL == 0 {
		cfg.refreshIdleTTL = time.Hour
	}
	if cfg.sessionTTL == 0 {
		cfg.sessionTTL = 24 * time.Hour
	}
	h := newBareHarness(t)
	h.openStore(t, storage.Options{RefreshReuseGrace: 10 * time.Second, SessionMaxTTL: cfg.sessionTTL})
	h.start(t, newTestKeys(t, h.store, nil), func(o *server.Options) {
		o.AccessTokenTTL, o.RefreshIdleTTL = cfg.accessTTL, cfg.refreshIdleTTL
		upstream := cfg.upstream
		if upstream == "" {
			upstream = o.Issuer + "/demo-api"
		}
		o.BFF = &server.BFFOptions{
			ClientID:      bffClientID,
			ClientSecret:  bffClientSecret,
			UpstreamURL:   upstream,
			EncryptionKey: bffEncKey,
			SessionTTL:    cfg.sessionTTL,
		}
		o.Demo = &server.DemoOptions{Audience: bffDemoAudience}
	})
	h.registerClients(t, webClient, rsClient, auditorClient)
	store := h.store
	secretHasher := testSecretHasher()
	bffHash, err := secretHasher.Hash(ctx, []byte(bffClientSecret))
	if err != nil {
		t.Fatal(err)
	}
	err = store.CreateClient(ctx, storage.NewClient{
		ID:                      bffClientID,
		Name:                    "Rotor demo app",
		SecretHash:              bffHash,
		FirstParty:              true,
		TokenEndpointAuthMethod: "client_secret_basic",
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		RedirectURIs:            []string{h.URL + "/bff/callback"},
		PostLogoutRedirectURIs:  []string{h.URL + "/bff/logged-out"},
		Scopes:                  []string{"openid", "email", "offline_access"},
		Audience:                []string{bffDemoAudience},
	})
	if err != nil {
		t.Fatalf("create bff client: %v", err)
	}
	nr := &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &bffHarness{harness: h, noRedirect: nr}
}

// bffReq is one request; header may carry a Cookie line.
type bffReq struct {
	method string
	url    string // absolute, or a path on the issuer
	body   string
	header map[string]string
}

// bffResp is an answer, redirects not followed.
type bffResp struct {
	response
	cookies []*http.Cookie
}

// location is the Location header parsed; it fails the test without one.
func (r bffResp) location(t *testing.T) *url.URL {
	t.Helper()
	loc := r.Header.Get("Location")
	if loc == "" {
		t.Fatalf("no Location (status %d, body %s)", r.Status, r.Raw)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	return u
}

// cookie returns the Set-Cookie for name, nil if none.
func (r bffResp) cookie(name string) *http.Cookie {
	for _, c := range r.cookies {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// send sends r without following redirects.
func (h *bffHarness) send(r bffReq) bffResp {
	h.t.Helper()
	u := r.url
	if strings.HasPrefix(u, "/") {
		u = h.URL + u
	}
	method := r.method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		h.t.Fatalf("new request %s: %v", u, err)
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	res, err := h.noRedirect.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatalf("read body: %v", err)
	}
	out := bffResp{response: response{Status: res.StatusCode, Header: res.Header, Raw: raw}, cookies: res.Cookies()}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out.JSON); err != nil {
			h.t.Fatalf("decode JSON body %q: %v", raw, err)
		}
	}
	return out
}

// bffStored is a bff_sessions row, and the tokens sealed in it.
type bffStored struct {
	IDHash, Subject, Email string
	Sealed                 []byte
	Access, Refresh, ID    string
}

// storedSession reads the only BFF session row for subject and opens its
// tokens with the BFF's key.
func (h *bffHarness) storedSession(subject string) bffStored {
	h.t.Helper()
	db := h.openDB()
	var s bffStored
	err := db.QueryRow(`SELECT id_hash, subject, email, sealed_tokens FROM bff_sessions WHERE subject = ?`, subject).
		Scan(&s.IDHash, &s.Subject, &s.Email, &s.Sealed)
	if err != nil {
		h.t.Fatalf("read bff session of %s: %v", subject, err)
	}
	plain, err := bffOpen(s.Sealed, []byte(s.IDHash))
	if err != nil {
		h.t.Fatalf("open sealed tokens: %v", err)
	}
	var toks struct{ A, R, I string }
	if err := json.Unmarshal(plain, &toks); err != nil {
		h.t.Fatalf("sealed tokens are not JSON: %v", err)
	}
	if toks.A == "" || toks.R == "" {
		h.t.Fatalf("sealed tokens lack the access or refresh token")
	}
	s.Access, s.Refresh, s.ID = toks.A, toks.R, toks.I
	return s
}

// bffOpen opens a value sealed by the BFF: base64url(nonce ‖ AES-GCM).
func bffOpen(sealed, aad []byte) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(string(sealed))
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(bffEncKey)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	if len(raw) < gcm.NonceSize() {
		return nil, io.ErrUnexpectedEOF
	}
	return gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], aad)
}

// metric reads a counter from /metrics.
func (h *bffHarness) metric(name string) float64 {
	h.t.Helper()
	r := h.send(bffReq{url: "/metrics"})
	if r.Status != http.StatusOK {
		h.t.Fatalf("GET /metrics: status %d", r.Status)
	}
	for _, line := range strings.Split(string(r.Raw), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				h.t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	h.t.Fatalf("metric %s not in /metrics", name)
	return 0
}

// wantBFFError asserts a JSON error answer of the BFF.
func wantBFFError(t *testing.T, r bffResp, status int, code string) {
	t.Helper()
	wantOAuthError(t, r.response, status, code)
	if loc := r.Header.Get("Location"); loc != "" {
		t.Errorf("error answer redirects to %q", loc)
	}
}

// hasSubstringOf reports whether hay contains any n-byte substring of s.
func hasSubstringOf(hay, s string, n int) bool {
	if len(s) < n {
		return s != "" && strings.Contains(hay, s)
	}
	for i := 0; i+n <= len(s); i++ {
		if strings.Contains(hay, s[i:i+n]) {
			return true
		}
	}
	return false
}
