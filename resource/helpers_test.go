package resource

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const testAudience = "https://api.example.com"

// testKey is a signing key and its JWKS entry.
type testKey struct {
	priv any
	jwk  jose.JSONWebKey // public, with KeyID, Algorithm and Use
}

func newTestKey(t testing.TB, kid string, alg jose.SignatureAlgorithm) testKey {
	t.Helper()
	var priv, pub any
	switch alg {
	case jose.ES256:
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = k, &k.PublicKey
	case jose.RS256:
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = k, &k.PublicKey
	case jose.EdDSA:
		p, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv, pub = k, p
	default:
		t.Fatalf("unsupported alg %s", alg)
	}
	return testKey{priv: priv, jwk: jose.JSONWebKey{Key: pub, KeyID: kid, Algorithm: string(alg), Use: "sig"}}
}

// fakeClock is a settable clock shared by the verifier and the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// fakeIssuer serves a JWKS and an introspection endpoint.
type fakeIssuer struct {
	srv       *httptest.Server
	clock     *fakeClock
	jwksHits  atomic.Int64
	introHits atomic.Int64

	mu           sync.Mutex
	keys         []jose.JSONWebKey
	cacheControl string
	jwksStatus   int
	introStatus  int
	introBody    string
	introForm    map[string]string
	introUser    string
	introPass    string
}

func newFakeIssuer(t testing.TB, keys ...testKey) *fakeIssuer {
	t.Helper()
	f := &fakeIssuer{
		clock:        &fakeClock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)},
		cacheControl: "public, max-age=300",
		jwksStatus:   http.StatusOK,
		introStatus:  http.StatusOK,
		introBody:    `{"active":true}`,
	}
	for _, k := range keys {
		f.keys = append(f.keys, k.jwk)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", f.serveJWKS)
	mux.HandleFunc("POST /oauth2/introspect", f.serveIntrospect)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIssuer) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	f.jwksHits.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.jwksStatus != http.StatusOK {
		w.WriteHeader(f.jwksStatus)
		return
	}
	if f.cacheControl != "" {
		w.Header().Set("Cache-Control", f.cacheControl)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: f.keys})
}

func (f *fakeIssuer) serveIntrospect(w http.ResponseWriter, r *http.Request) {
	f.introHits.Add(1)
	_ = r.ParseForm()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.introUser, f.introPass, _ = r.BasicAuth()
	f.introForm = map[string]string{"token": r.PostForm.Get("token"), "token_type_hint": r.PostForm.Get("token_type_hint")}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.introStatus)
	_, _ = w.Write([]byte(f.introBody))
}

func (f *fakeIssuer) set(fn func(f *fakeIssuer)) { f.mu.Lock(); fn(f); f.mu.Unlock() }

func (f *fakeIssuer) addKey(k testKey) { f.set(func(f *fakeIssuer) { f.keys = append(f.keys, k.jwk) }) }

// config returns a Config for this issuer driven by the fake clock.
func (f *fakeIssuer) config() Config {
	return Config{Issuer: f.srv.URL, Audience: testAudience, Now: f.clock.Now}
}

func (f *fakeIssuer) verifier(t testing.TB, mutate ...func(*Config)) *Verifier {
	t.Helper()
	cfg := f.config()
	for _, m := range mutate {
		m(&cfg)
	}
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// claims returns a valid claim set for this issuer.
func (f *fakeIssuer) claims() map[string]any {
	now := f.clock.Now()
	return map[string]any{
		"iss":       f.srv.URL,
		"sub":       "user-1",
		"aud":       []string{testAudience, "other"},
		"exp":       now.Add(time.Hour).Unix(),
		"iat":       now.Add(-time.Minute).Unix(),
		"jti":       "jti-1",
		"client_id": "client-1",
		"scope":     "read write",
	}
}

// signOpts tweaks how sign builds a token.
type signOpts struct {
	typ     string // default "at+jwt"; "-" omits typ
	noKid   bool
	kid     string // overrides the key's kid
	headers map[jose.HeaderKey]any
	embed   bool
}

func sign(t testing.TB, k testKey, claims map[string]any, o signOpts) string {
	t.Helper()
	opts := &jose.SignerOptions{EmbedJWK: o.embed}
	switch o.typ {
	case "":
		opts = opts.WithType("at+jwt")
	case "-":
	default:
		opts = opts.WithType(jose.ContentType(o.typ))
	}
	for name, value := range o.headers {
		opts = opts.WithHeader(name, value)
	}
	key := jose.JSONWebKey{Key: k.priv, KeyID: k.jwk.KeyID}
	if o.kid != "" {
		key.KeyID = o.kid
	}
	var signingKey any = key
	if o.noKid || o.embed {
		signingKey = k.priv
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(k.jwk.Algorithm), Key: signingKey}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return token
}
