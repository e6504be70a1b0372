package keys

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestVerify(t *testing.T) {
	m := testManager(t)
	es := currentKey(t, m, jose.ES256)
	rs := currentKey(t, m, jose.RS256)
	payload := []byte(`{"sub":"alice"}`)
	hdr := func(alg, kid, typ string, extra ...any) map[string]any {
		h := map[string]any{"alg": alg}
		if kid != "" {
			h["kid"] = kid
		}
		if typ != "" {
			h["typ"] = typ
		}
		for i := 0; i < len(extra); i += 2 {
			h[extra[i].(string)] = extra[i+1]
		}
		return h
	}
	esTok := func(h map[string]any) string { return rawToken(t, h, payload, signES256(t, es.private)) }

	atSigner, err := m.Signer(jose.ES256, "at+jwt")
	if err != nil {
		t.Fatal(err)
	}
	valid, err := atSigner.Sign(map[string]string{"sub": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(valid, ".")
	tamperedPayload := parts[0] + "." + b64([]byte(`{"sub":"admin"}`)) + "." + parts[2]
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1
	tamperedSig := parts[0] + "." + parts[1] + "." + b64(sig)

	idSigner, err := m.Signer(jose.RS256, "JWT")
	if err != nil {
		t.Fatal(err)
	}
	idToken, err := idSigner.Sign(map[string]string{"sub": "alice"})
	if err != nil {
		t.Fatal(err)
	}

	esPublicDER, err := x509.MarshalPKIXPublicKey(es.public.Key)
	if err != nil {
		t.Fatal(err)
	}
	esPublicJWK, err := json.Marshal(es.public)
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert := selfSignedCert(t, es.private.(*ecdsa.PrivateKey))

	tests := []struct {
		name    string
		token   string
		typ     string
		algs    []jose.SignatureAlgorithm
		wantErr error // nil means the token must verify
	}{
		{name: "valid", token: valid, typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}},
		{name: "valid with several algs allowed", token: valid, typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.RS256, jose.ES256}},
		{name: "typ with application prefix", token: esTok(hdr("ES256", es.kid, "application/at+jwt")), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}},
		{name: "typ differing in case", token: esTok(hdr("ES256", es.kid, "AT+JWT")), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}},
		{name: "expected typ with application prefix", token: valid, typ: "Application/at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}},

		{name: "alg none", token: rawToken(t, hdr("none", es.kid, "at+jwt"), payload, noSignature), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrBadHeader},
		{name: "alg none even if allowed", token: rawToken(t, hdr("none", es.kid, "at+jwt"), payload, noSignature), typ: "at+jwt", algs: []jose.SignatureAlgorithm{"none"}, wantErr: ErrBadHeader},
		{name: "HS256 keyed with public key DER", token: rawToken(t, hdr("HS256", es.kid, "at+jwt"), payload, signHS256(esPublicDER)), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrBadHeader},
		{name: "HS256 keyed with public JWK even if allowed", token: rawToken(t, hdr("HS256", es.kid, "at+jwt"), payload, signHS256(esPublicJWK)), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256, jose.HS256}, wantErr: ErrBadHeader},
		{name: "alg not in allowlist", token: idToken, typ: "JWT", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrBadHeader},
		{name: "header alg differs from key alg", token: rawToken(t, hdr("RS256", es.kid, "at+jwt"), payload, signRS256(t, rs.private)), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256, jose.RS256}, wantErr: ErrBadHeader},
		{name: "kid of RS256 key on ES256 token", token: rawToken(t, hdr("ES256", rs.kid, "at+jwt"), payload, signES256(t, stranger)), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256, jose.RS256}, wantErr: ErrBadHeader},

		{name: "unknown kid", token: rawToken(t, hdr("ES256", "not-a-key", "at+jwt"), payload, signES256(t, stranger)), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrUnknownKey},
		{name: "missing kid", token: esTok(hdr("ES256", "", "at+jwt")), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrBadHeader},

		{name: "jku header", token: esTok(hdr("ES256", es.kid, "at+jwt", "jku", "https://evil.example/jwks")), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrBadHeader},
		{name: "x5u header", token: esTok(hdr("ES256", es.kid, "at+jwt", "x5u", "https://evil.example/cert")), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrBadHeader},
		{name: "x5c header", token: esTok(hdr("ES256", es.kid, "at+jwt", "x5c", []string{base64.StdEncoding.EncodeToString(cert)})), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrBadHeader},
		{name: "embedded jwk header", token: esTok(hdr("ES256", es.kid, "at+jwt", "jwk", json.RawMessage(esPublicJWK))), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrBadHeader},
		{name: "embedded stranger jwk without kid", token: strangerEmbedded(t, stranger), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrBadHeader},
		{name: "crit header", token: esTok(hdr("ES256", es.kid, "at+jwt", "crit", []string{"exp"}, "exp", 1)), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrBadHeader},

		{name: "wrong typ", token: idToken, typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.RS256}, wantErr: ErrBadHeader},
		{name: "missing typ", token: esTok(hdr("ES256", es.kid, "")), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrBadHeader},
		{name: "non-string typ", token: esTok(hdr("ES256", es.kid, "", "typ", 1)), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrBadHeader},
		{name: "bare application prefix typ", token: esTok(hdr("ES256", es.kid, "application/")), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrBadHeader},

		{name: "tampered payload", token: tamperedPayload, typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrInvalidSignature},
		{name: "tampered signature", token: tamperedSig, typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrInvalidSignature},
		{name: "signed by another key under our kid", token: rawToken(t, hdr("ES256", es.kid, "at+jwt"), payload, signES256(t, stranger)), typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrInvalidSignature},
		{name: "signature stripped", token: parts[0] + "." + parts[1] + ".", typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrInvalidSignature},

		{name: "empty", token: "", typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrMalformed},
		{name: "no dots", token: "garbage", typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrMalformed},
		{name: "two parts", token: parts[0] + "." + parts[1], typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrMalformed},
		{name: "four parts", token: valid + ".x", typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrMalformed},
		{name: "dots only", token: "...", typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrMalformed},
		{name: "header not base64", token: "!!!." + parts[1] + "." + parts[2], typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrMalformed},
		{name: "header not json", token: b64([]byte("not json")) + "." + parts[1] + "." + parts[2], typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrMalformed},
		{name: "payload not base64", token: parts[0] + ".!!!." + parts[2], typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrMalformed},
		{name: "JSON serialization", token: `{"payload":"e30","signatures":[]}`, typ: "at+jwt", algs: []jose.SignatureAlgorithm{jose.ES256}, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := m.Verify(tt.token, tt.typ, tt.algs...)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if len(got) == 0 {
					t.Fatal("Verify returned an empty payload")
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if got != nil {
				t.Fatalf("payload %q returned alongside error", got)
			}
		})
	}

	misuse := []struct {
		name string
		typ  string
		algs []jose.SignatureAlgorithm
	}{
		{name: "empty expected typ", typ: "", algs: []jose.SignatureAlgorithm{jose.ES256}},
		{name: "empty allowlist", typ: "at+jwt", algs: nil},
	}
	for _, tt := range misuse {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Verify(valid, tt.typ, tt.algs...)
			if err == nil || wrapsSentinel(err) {
				t.Fatalf("err = %v, want a caller error wrapping no sentinel", err)
			}
		})
	}
}

// strangerEmbedded is the classic embedded-key attack: the token carries
// the attacker's public key and is signed by it.
func strangerEmbedded(t *testing.T, stranger *ecdsa.PrivateKey) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: stranger},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("at+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign([]byte(`{"sub":"admin"}`))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func selfSignedCert(t *testing.T, priv *ecdsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "evil"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	if err != nil {
		t.Fatal(err)
	}
	return der
}
