package server_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/rotorauth/rotor/keys"
	"github.com/rotorauth/rotor/resource"
	"github.com/rotorauth/rotor/server"
	"github.com/rotorauth/rotor/storage"
)

// krApp may use the password grant with openid, so it gets ID tokens.
var krApp = testClient{ID: "kr-app", FirstParty: true, Secret: "kr-app-secret-0123456789abcdef012345678", AuthMethod: "client_secret_basic",
	Grants: []string{"password", "refresh_token", "client_credentials"}}

// krConfig tunes a key harness.
type krConfig struct {
	jwksMaxAge time.Duration // server.Options.JWKSMaxAge; zero takes the server default
}

// keyHarness is newHarness with the key manager exposed and on its own
// adjustable clock, so tests can rotate, reload and age keys.
type keyHarness struct {
	*harness
	keys     *keys.Manager
	keyClock *clock
	sealer   *keys.Sealer
}

// newKeyHarness builds the pieces the way newHarness (and cmd/rotor) does.
func newKeyHarness(t *testing.T, cfg krConfig) *keyHarness {
	t.Helper()
	ctx := context.Background()
	h := newBareHarness(t)
	h.openStore(t, storage.Options{RefreshReuseGrace: 10 * time.Second})
	sealer, err := keys.NewSealer([]byte(systemSecret))
	if err != nil {
		t.Fatalf("sealer: %v", err)
	}
	keyClock := &clock{}
	manager, err := keys.NewManager(ctx, h.store, sealer, keyClock.Now)
	if err != nil {
		t.Fatalf("key manager: %v", err)
	}
	h.start(t, manager, func(o *server.Options) { o.JWKSMaxAge = cfg.jwksMaxAge })
	h.registerClients(t, allClients...)
	app := fixtureClient(krApp)
	app.FirstParty = true
	app.Scopes = []string{"openid", "email", "read"}
	if err := h.store.CreateClient(ctx, app); err != nil {
		t.Fatalf("create client %s: %v", krApp.ID, err)
	}
	return &keyHarness{harness: h, keys: manager, keyClock: keyClock, sealer: sealer}
}

// forceRotate rotates without waiting for the next key's publication, the
// way `rotor keys rotate --force` does, and reloads.
func (k *keyHarness) forceRotate(retireFor time.Duration) error {
	ctx := context.Background()
	if err := k.keys.Rotate(ctx, keys.RotatePolicy{PublishAhead: 10 * time.Minute, RetireFor: retireFor, Force: true}); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	if err := k.keys.Reload(ctx); err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	return nil
}

// privateKey opens the stored private key of kid, as an attacker who
// somehow had it would use it, or to sign tokens that differ from real
// ones only in their header.
func (k *keyHarness) privateKey(t *testing.T, kid string) crypto.Signer {
	t.Helper()
	recs, err := k.store.SigningKeys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.KID != kid {
			continue
		}
		der, err := k.sealer.Open(r.Private, []byte(r.KID))
		if err != nil {
			t.Fatal(err)
		}
		priv, err := x509.ParsePKCS8PrivateKey(der)
		if err != nil {
			t.Fatal(err)
		}
		return priv.(crypto.Signer)
	}
	t.Fatalf("no stored key %s", kid)
	return nil
}

// currentKID is the kid the server signs alg tokens with now.
func (k *keyHarness) currentKID(t *testing.T, alg jose.SignatureAlgorithm) string {
	t.Helper()
	s, err := k.keys.Signer(alg, "at+jwt")
	if err != nil {
		t.Fatal(err)
	}
	return s.KID()
}

// jwksTransport counts JWKS fetches and remembers the kids each one
// returned; everything else passes through.
type jwksTransport struct {
	base http.RoundTripper

	mu      sync.Mutex
	fetches int
	kids    map[string]bool // union over every fetched JWKS
}

func (rt *jwksTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := rt.base.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/.well-known/jwks.json") {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	var set jose.JSONWebKeySet
	_ = json.Unmarshal(body, &set)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.fetches++
	if rt.kids == nil {
		rt.kids = map[string]bool{}
	}
	for _, k := range set.Keys {
		rt.kids[k.KeyID] = true
	}
	return res, nil
}

func (rt *jwksTransport) stats() (fetches int, kids map[string]bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	out := make(map[string]bool, len(rt.kids))
	for k := range rt.kids {
		out[k] = true
	}
	return rt.fetches, out
}

// newCountingVerifier is a resource.Verifier for testAudience whose JWKS
// fetches go through a jwksTransport. now may be nil (real time).
func (k *keyHarness) newCountingVerifier(t *testing.T, now func() time.Time) (*resource.Verifier, *jwksTransport) {
	t.Helper()
	rt := &jwksTransport{base: k.http.Transport}
	if rt.base == nil {
		rt.base = http.DefaultTransport
	}
	v, err := resource.NewVerifier(resource.Config{
		Issuer:     k.URL,
		Audience:   testAudience,
		HTTPClient: &http.Client{Transport: rt, Timeout: 30 * time.Second},
		Now:        now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v, rt
}

// clientCredentialsToken gets a token for c without touching testing.T, so
// load-test goroutines can call it.
func (k *keyHarness) clientCredentialsToken(ctx context.Context, c testClient) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.URL+"/oauth2/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	res, err := k.http.Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("token endpoint: status %d: %s", res.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &body); err != nil || body.AccessToken == "" {
		return "", errors.Join(errors.New("no access_token in token response"), err)
	}
	return body.AccessToken, nil
}

// headerKID returns a compact JWS's kid without verifying it.
func headerKID(token string) string {
	seg, _, _ := strings.Cut(token, ".")
	raw, err := rawURL(seg)
	if err != nil {
		return ""
	}
	var h struct {
		KID string `json:"kid"`
	}
	_ = json.Unmarshal(raw, &h)
	return h.KID
}
