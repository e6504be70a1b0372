package server_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestDiscoveryDocuments checks RFC 8414 and OIDC discovery metadata.
func TestDiscoveryDocuments(t *testing.T) {
	h := newHarness(t, config{})
	for _, tc := range []struct {
		name, path string
	}{
		{name: "openid-configuration", path: "/.well-known/openid-configuration"},
		{name: "oauth-authorization-server", path: "/.well-known/oauth-authorization-server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, h.URL+tc.path, nil)
			r := h.do(req)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d", r.Status)
			}
			for k, want := range map[string]string{
				"issuer":                 h.URL,
				"token_endpoint":         h.URL + "/oauth2/token",
				"jwks_uri":               h.URL + "/.well-known/jwks.json",
				"revocation_endpoint":    h.URL + "/oauth2/revoke",
				"introspection_endpoint": h.URL + "/oauth2/introspect",
			} {
				if got := r.str(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			for k, want := range map[string][]string{
				"grant_types_supported":                 {"password", "refresh_token", "client_credentials"},
				"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post", "none"},
			} {
				list, _ := r.JSON[k].([]any)
				for _, w := range want {
					if !slices.Contains(list, any(w)) {
						t.Errorf("%s = %v, want to contain %s", k, list, w)
					}
				}
			}
		})
	}
}

// TestJWKSPublicOnly: the JWKS has only public keys, each with kid, alg
// and use.
func TestJWKSPublicOnly(t *testing.T) {
	h := newHarness(t, config{})
	res, err := h.http.Get(h.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.NewDecoder(res.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Keys) < 1 {
		t.Fatal("empty JWKS")
	}
	algs := map[string]bool{}
	for i, k := range raw.Keys {
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := k[private]; ok {
				t.Errorf("key %d has private member %q", i, private)
			}
		}
		for _, field := range []string{"kid", "alg", "use"} {
			if s, _ := k[field].(string); s == "" {
				t.Errorf("key %d lacks %s", i, field)
			}
		}
		if k["use"] != "sig" {
			t.Errorf("key %d use = %v, want sig", i, k["use"])
		}
		algs[k["alg"].(string)] = true
	}
	if !algs["ES256"] {
		t.Error("no ES256 key for access tokens")
	}
	for i, k := range h.fetchJWKS(t).Keys {
		if !k.IsPublic() || !k.Valid() {
			t.Errorf("go-jose: key %d public=%v valid=%v", i, k.IsPublic(), k.Valid())
		}
	}
}

// verifyWithJWKS checks token the way an API would: parse, find the
// header's kid in the JWKS, verify the signature with that key.
func verifyWithJWKS(token string, set jose.JSONWebKeySet) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return nil, err
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("want exactly one signature")
	}
	hdr := jws.Signatures[0].Protected
	if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" {
		return nil, errors.New("typ is not at+jwt")
	}
	keys := set.Key(hdr.KeyID)
	if len(keys) != 1 {
		return nil, errors.New("kid not in JWKS")
	}
	if keys[0].Algorithm != hdr.Algorithm {
		return nil, errors.New("alg does not match the key")
	}
	return jws.Verify(keys[0])
}

// TestAccessTokenVerifiesAgainstLiveJWKS verifies issued tokens with
// go-jose v4 against the JWKS fetched over HTTP, and rejects tampering.
func TestAccessTokenVerifiesAgainstLiveJWKS(t *testing.T) {
	h := newHarness(t, config{})
	jwks := h.fetchJWKS(t)
	login := h.login(webClient, aliceEmail, alicePassword, "read")
	refreshed := h.mustRefresh(webClient, login.Refresh)
	for _, tc := range []struct {
		name, token string
		valid       bool
	}{
		{name: "password grant token", token: login.Access, valid: true},
		{name: "refreshed token", token: refreshed.Access, valid: true},
		{name: "tampered payload", token: tamper(login.Access), valid: false},
		{name: "signature of another token", token: swapSignature(login.Access, refreshed.Access), valid: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload, err := verifyWithJWKS(tc.token, jwks)
			if !tc.valid {
				if err == nil {
					t.Fatal("tampered token verified")
				}
				return
			}
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			var c map[string]any
			if err := json.Unmarshal(payload, &c); err != nil {
				t.Fatal(err)
			}
			if c["iss"] != h.URL || c["client_id"] != webClient.ID || c["sub"] != h.users[aliceEmail].ID {
				t.Errorf("verified claims = %v", c)
			}
		})
	}
}

// tamper changes the payload's subject while keeping the signature.
func tamper(token string) string {
	parts := strings.Split(token, ".")
	c := map[string]any{}
	b, _ := rawURL(parts[1])
	_ = json.Unmarshal(b, &c)
	c["sub"] = "mallory"
	nb, _ := json.Marshal(c)
	parts[1] = encodeRawURL(nb)
	return strings.Join(parts, ".")
}

func swapSignature(token, donor string) string {
	return token[:strings.LastIndexByte(token, '.')] + donor[strings.LastIndexByte(donor, '.'):]
}

// TestHealthEndpoints: liveness and readiness.
func TestHealthEndpoints(t *testing.T) {
	h := newHarness(t, config{})
	for _, tc := range []struct{ name, path string }{
		{name: "healthz", path: "/healthz"},
		{name: "readyz", path: "/readyz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, h.URL+tc.path, nil)
			r := h.do(req)
			if r.Status != http.StatusOK || r.str("status") != "ok" {
				t.Errorf("status %d body %s", r.Status, r.Raw)
			}
		})
	}
	t.Run("readyz after the database closed", func(t *testing.T) {
		if err := h.store.Close(); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, h.URL+"/readyz", nil)
		if r := h.do(req); r.Status != http.StatusServiceUnavailable {
			t.Errorf("readyz with a closed database: %d, want 503", r.Status)
		}
	})
}
