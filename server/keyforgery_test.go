package server_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/rotorauth/rotor/resource"
)

// forge builds a compact JWS by hand: any header, payload and signature.
func forge(t *testing.T, header map[string]any, payload []byte, sign func([]byte) []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	input := encodeRawURL(h) + "." + encodeRawURL(payload)
	return input + "." + encodeRawURL(sign([]byte(input)))
}

func es256Signer(t *testing.T, priv crypto.Signer) func([]byte) []byte {
	return func(input []byte) []byte {
		sum := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, priv.(*ecdsa.PrivateKey), sum[:])
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
}

func rs256Signer(t *testing.T, priv crypto.Signer) func([]byte) []byte {
	return func(input []byte) []byte {
		sum := sha256.Sum256(input)
		sig, err := rsa.SignPKCS1v15(rand.Reader, priv.(*rsa.PrivateKey), crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

func hs256Signer(secret []byte) func([]byte) []byte {
	return func(input []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(input)
		return m.Sum(nil)
	}
}

func publicPEM(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestForgedTokensRejected: tokens with a forbidden algorithm, an unknown
// kid, a header pointing at other key material, or the wrong typ are
// refused by the resource verifier, by introspection and by /userinfo.
// Payloads are the claims of a real access token.
func TestForgedTokensRejected(t *testing.T) {
	h := newKeyHarness(t, krConfig{})
	tk := h.login(krApp, aliceEmail, alicePassword, "openid read")
	idToken := ""
	{
		// The ID token of the same grant.
		r := h.form("/oauth2/token", krApp, urlValues("grant_type", "password", "username", aliceEmail, "password", alicePassword, "scope", "openid read"))
		idToken = r.str("id_token")
		if idToken == "" {
			t.Fatalf("no id_token from the password grant with openid: %s", r.Raw)
		}
	}
	parts := strings.Split(tk.Access, ".")
	payload, err := rawURL(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	esKID, rsKID := h.currentKID(t, jose.ES256), h.currentKID(t, jose.RS256)
	if headerKID(tk.Access) != esKID {
		t.Fatalf("access token kid %s, want current ES256 key %s", headerKID(tk.Access), esKID)
	}
	esPriv, rsPriv := h.privateKey(t, esKID), h.privateKey(t, rsKID)
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK := jose.JSONWebKey{Key: &attacker.PublicKey, KeyID: esKID, Algorithm: "ES256", Use: "sig"}
	esJWKJSON, err := json.Marshal(jose.JSONWebKey{Key: esPriv.Public(), KeyID: esKID, Algorithm: "ES256", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	// Access-token claims signed by the real RS256 key, typed as an ID token.
	jwtSigner, err := h.keys.Signer(jose.RS256, "JWT")
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	typedJWT, err := jwtSigner.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}

	hdr := func(alg, kid string, extra ...any) map[string]any {
		m := map[string]any{"alg": alg, "typ": "at+jwt", "kid": kid}
		for i := 0; i < len(extra); i += 2 {
			if extra[i+1] == nil {
				delete(m, extra[i].(string))
				continue
			}
			m[extra[i].(string)] = extra[i+1]
		}
		return m
	}
	tests := []struct {
		name  string
		token string
		// Controls only: the resource verifier accepts it, and Rotor
		// (introspection, /userinfo) does too. Every forgery wants neither.
		offlineOK, serverOK bool
	}{
		{name: "genuine access token (control)", token: tk.Access, offlineOK: true, serverOK: true},
		// Valid offline, but Rotor never issued it: introspection and
		// /userinfo also require the token to be in storage.
		{name: "same header and claims re-signed by the real key (control)", token: forge(t, hdr("ES256", esKID), payload, es256Signer(t, esPriv)), offlineOK: true},
		{name: "alg none", token: forge(t, hdr("none", esKID), payload, func([]byte) []byte { return nil })},
		{name: "alg none keeping the real signature", token: forge(t, hdr("none", esKID), payload, func([]byte) []byte { sig, _ := rawURL(parts[2]); return sig })},
		{name: "HS256 keyed with the RSA public key PEM", token: forge(t, hdr("HS256", rsKID), payload, hs256Signer(publicPEM(t, rsPriv.Public())))},
		{name: "HS256 keyed with the EC public key PEM", token: forge(t, hdr("HS256", esKID), payload, hs256Signer(publicPEM(t, esPriv.Public())))},
		{name: "HS256 keyed with the EC public JWK", token: forge(t, hdr("HS256", esKID), payload, hs256Signer(esJWKJSON))},
		{name: "unknown kid signed by an attacker key", token: forge(t, hdr("ES256", "attacker-key"), payload, es256Signer(t, attacker))},
		{name: "unknown kid signed by the real key", token: forge(t, hdr("ES256", "no-such-kid"), payload, es256Signer(t, esPriv))},
		{name: "known kid signed by an attacker key", token: forge(t, hdr("ES256", esKID), payload, es256Signer(t, attacker))},
		{name: "RS256 header on the EC kid", token: forge(t, hdr("RS256", esKID), payload, rs256Signer(t, rsPriv))},
		{name: "jku header", token: forge(t, hdr("ES256", esKID, "jku", "https://attacker.example/jwks.json"), payload, es256Signer(t, esPriv))},
		{name: "x5u header", token: forge(t, hdr("ES256", esKID, "x5u", "https://attacker.example/cert.pem"), payload, es256Signer(t, esPriv))},
		{name: "embedded jwk of an attacker key", token: forge(t, hdr("ES256", esKID, "jwk", attackerJWK), payload, es256Signer(t, attacker))},
		{name: "embedded jwk, signed by the real key", token: forge(t, hdr("ES256", esKID, "jwk", attackerJWK), payload, es256Signer(t, esPriv))},
		{name: "ID token presented as an access token", token: idToken},
		{name: "access-token claims typed JWT, signed by the real RS256 key", token: typedJWT},
		{name: "no typ, signed by the real key", token: forge(t, hdr("ES256", esKID, "typ", nil), payload, es256Signer(t, esPriv))},
	}
	v, _ := h.newCountingVerifier(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(t.Context(), tt.token)
			switch {
			case tt.offlineOK && err != nil:
				t.Errorf("resource verifier rejected a validly signed token: %v", err)
			case !tt.offlineOK && !errors.Is(err, resource.ErrInvalidToken):
				t.Errorf("resource verifier: error = %v, want ErrInvalidToken", err)
			}
			// Rotor's own signature and header check, which introspection
			// and /userinfo run after finding the token in storage.
			if _, err := h.keys.Verify(tt.token, "at+jwt", jose.ES256, jose.RS256, jose.EdDSA); (err == nil) != tt.offlineOK {
				t.Errorf("keys.Manager.Verify error = %v, want accepted = %v", err, tt.offlineOK)
			}
			if got := h.active(tt.token); got != tt.serverOK {
				t.Errorf("introspection active = %v, want %v", got, tt.serverOK)
			}
			want := http.StatusUnauthorized
			if tt.serverOK {
				want = http.StatusOK
			}
			if r := h.userinfo(tt.token); r.Status != want {
				t.Errorf("userinfo status = %d, want %d (%s)", r.Status, want, r.Raw)
			}
		})
	}
}
