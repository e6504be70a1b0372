package resource

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// testKeys are generated once: RSA key generation is slow.
type testKeys struct{ ec, rsa, ed, unpublished testKey }

func newTestKeys(t testing.TB) testKeys {
	return testKeys{
		ec:          newTestKey(t, "ec-1", jose.ES256),
		rsa:         newTestKey(t, "rsa-1", jose.RS256),
		ed:          newTestKey(t, "ed-1", jose.EdDSA),
		unpublished: newTestKey(t, "ec-unpublished", jose.ES256),
	}
}

// craft assembles a compact JWS from a literal header, claims and signature
// segment, for tokens go-jose refuses to produce.
func craft(t testing.TB, header string, claims map[string]any, sig string) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(payload) + "." + sig
}

func with(claims map[string]any, key string, value any) map[string]any {
	if value == nil {
		delete(claims, key)
	} else {
		claims[key] = value
	}
	return claims
}

func TestVerify(t *testing.T) {
	keys := newTestKeys(t)
	f := newFakeIssuer(t, keys.ec, keys.rsa, keys.ed)
	now := f.clock.Now()
	fakeSig := base64.RawURLEncoding.EncodeToString([]byte("not a signature"))

	tests := []struct {
		name    string
		token   func() string
		leeway  time.Duration
		wantErr string // empty: the token must verify
	}{
		{name: "valid ES256", token: func() string { return sign(t, keys.ec, f.claims(), signOpts{}) }},
		{name: "valid RS256", token: func() string { return sign(t, keys.rsa, f.claims(), signOpts{}) }},
		{name: "valid EdDSA", token: func() string { return sign(t, keys.ed, f.claims(), signOpts{}) }},
		{name: "aud as a string", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "aud", testAudience), signOpts{})
		}},
		{name: "typ application/at+jwt in upper case", token: func() string {
			return sign(t, keys.ec, f.claims(), signOpts{typ: "APPLICATION/AT+JWT"})
		}},
		{name: "expired", wantErr: "expired", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "exp", now.Add(-time.Second).Unix()), signOpts{})
		}},
		{name: "expires exactly now", wantErr: "expired", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "exp", now.Unix()), signOpts{})
		}},
		{name: "expired but within leeway", leeway: time.Minute, token: func() string {
			return sign(t, keys.ec, with(f.claims(), "exp", now.Add(-30*time.Second).Unix()), signOpts{})
		}},
		{name: "missing exp", wantErr: "missing exp", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "exp", nil), signOpts{})
		}},
		{name: "absurd exp", wantErr: "out of range", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "exp", 1e300), signOpts{})
		}},
		{name: "iat in the future", wantErr: "future", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "iat", now.Add(time.Minute).Unix()), signOpts{})
		}},
		{name: "iat in the future within leeway", leeway: 2 * time.Minute, token: func() string {
			return sign(t, keys.ec, with(f.claims(), "iat", now.Add(time.Minute).Unix()), signOpts{})
		}},
		{name: "missing iat", wantErr: "missing iat", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "iat", nil), signOpts{})
		}},
		{name: "nbf in the future", wantErr: "not valid yet", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "nbf", now.Add(time.Minute).Unix()), signOpts{})
		}},
		{name: "wrong iss", wantErr: "issuer", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "iss", "https://evil.example"), signOpts{})
		}},
		{name: "iss with extra trailing slash", wantErr: "issuer", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "iss", f.srv.URL+"/"), signOpts{})
		}},
		{name: "wrong aud", wantErr: "audience", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "aud", []string{"https://other.example"}), signOpts{})
		}},
		{name: "missing aud", wantErr: "audience", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "aud", nil), signOpts{})
		}},
		{name: "aud of the wrong type", wantErr: "not valid JSON", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "aud", 42), signOpts{})
		}},
		{name: "empty sub", wantErr: "missing sub", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "sub", ""), signOpts{})
		}},
		{name: "missing kid", wantErr: "missing kid", token: func() string {
			return sign(t, keys.ec, f.claims(), signOpts{noKid: true})
		}},
		{name: "typ JWT (an ID token)", wantErr: "typ", token: func() string {
			return sign(t, keys.ec, f.claims(), signOpts{typ: "JWT"})
		}},
		{name: "no typ", wantErr: "typ", token: func() string {
			return sign(t, keys.ec, f.claims(), signOpts{typ: "-"})
		}},
		{name: "jku header", wantErr: `"jku"`, token: func() string {
			return sign(t, keys.ec, f.claims(), signOpts{headers: map[jose.HeaderKey]any{"jku": f.srv.URL + "/evil.json"}})
		}},
		{name: "x5u header", wantErr: `"x5u"`, token: func() string {
			return sign(t, keys.ec, f.claims(), signOpts{headers: map[jose.HeaderKey]any{"x5u": "https://evil.example/cert"}})
		}},
		{name: "embedded jwk header", wantErr: `"jwk"`, token: func() string {
			return sign(t, keys.unpublished, f.claims(), signOpts{embed: true})
		}},
		{name: "crit header", wantErr: `"crit"`, token: func() string {
			return craft(t, `{"alg":"ES256","typ":"at+jwt","kid":"ec-1","crit":["exp"],"exp":1}`, f.claims(), fakeSig)
		}},
		{name: "duplicate typ header", wantErr: "duplicate", token: func() string {
			return craft(t, `{"alg":"ES256","typ":"JWT","typ":"at+jwt","kid":"ec-1"}`, f.claims(), fakeSig)
		}},
		{name: "alg none", wantErr: "malformed JWS", token: func() string {
			return craft(t, `{"alg":"none","typ":"at+jwt","kid":"ec-1"}`, f.claims(), "")
		}},
		{name: "HS256 signed with the RSA public key bytes", wantErr: "malformed JWS", token: func() string {
			der, err := x509.MarshalPKIXPublicKey(keys.rsa.jwk.Key)
			if err != nil {
				t.Fatal(err)
			}
			hmacKey := testKey{priv: der, jwk: jose.JSONWebKey{KeyID: "rsa-1", Algorithm: string(jose.HS256)}}
			return sign(t, hmacKey, f.claims(), signOpts{})
		}},
		{name: "header alg differs from the key's alg", wantErr: "does not match", token: func() string {
			return sign(t, keys.ec, f.claims(), signOpts{kid: "rsa-1"})
		}},
		{name: "tampered payload", wantErr: "bad signature", token: func() string {
			parts := strings.Split(sign(t, keys.ec, f.claims(), signOpts{}), ".")
			evil, _ := json.Marshal(with(f.claims(), "sub", "admin"))
			parts[1] = base64.RawURLEncoding.EncodeToString(evil)
			return strings.Join(parts, ".")
		}},
		{name: "oversized token", wantErr: "larger than", token: func() string {
			return sign(t, keys.ec, with(f.claims(), "pad", strings.Repeat("a", 8<<10)), signOpts{})
		}},
		{name: "empty token", wantErr: "empty", token: func() string { return "" }},
		{name: "garbage", wantErr: "not a compact JWS", token: func() string { return "garbage" }},
		{name: "garbage with dots", wantErr: "header", token: func() string { return "a.b.c" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := f.verifier(t, func(c *Config) { c.Leeway = tc.leeway })
			claims, err := v.Verify(context.Background(), tc.token())
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if claims.Subject != "user-1" || claims.ClientID != "client-1" || claims.JTI != "jti-1" ||
					claims.Issuer != f.srv.URL || !claims.HasScope("read") || !claims.HasScope("write") ||
					claims.HasScope("admin") || len(claims.Audience) == 0 || claims.ExpiresAt.IsZero() || claims.IssuedAt.IsZero() {
					t.Fatalf("unexpected claims %+v", claims)
				}
				return
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %q, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestNewVerifier(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{name: "minimal", cfg: Config{Issuer: "https://rotor.example", Audience: "api"}},
		{name: "with introspection", cfg: Config{Issuer: "https://rotor.example", Audience: "api",
			Introspection: &Introspection{ClientID: "api", ClientSecret: "s"}}},
		{name: "no issuer", cfg: Config{Audience: "api"}, wantErr: "Issuer is required"},
		{name: "relative issuer", cfg: Config{Issuer: "rotor", Audience: "api"}, wantErr: "absolute"},
		{name: "no audience", cfg: Config{Issuer: "https://rotor.example"}, wantErr: "Audience is required"},
		{name: "negative leeway", cfg: Config{Issuer: "https://rotor.example", Audience: "api", Leeway: -time.Second}, wantErr: "Leeway"},
		{name: "bad JWKS URL", cfg: Config{Issuer: "https://rotor.example", Audience: "api", JWKSURL: "/jwks"}, wantErr: "JWKSURL"},
		{name: "introspection without client", cfg: Config{Issuer: "https://rotor.example", Audience: "api",
			Introspection: &Introspection{}}, wantErr: "ClientID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVerifier(tc.cfg)
			if tc.wantErr == "" {
				if err != nil || v == nil {
					t.Fatalf("NewVerifier: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
		})
	}
}

func TestDefaultURLs(t *testing.T) {
	v, err := NewVerifier(Config{Issuer: "https://rotor.example/", Audience: "api", Introspection: &Introspection{ClientID: "api"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.keys.url, "https://rotor.example/.well-known/jwks.json"; got != want {
		t.Errorf("JWKS URL = %q, want %q", got, want)
	}
	if got, want := v.introspection.url, "https://rotor.example/oauth2/introspect"; got != want {
		t.Errorf("introspection URL = %q, want %q", got, want)
	}
}
