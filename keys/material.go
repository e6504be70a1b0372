package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// rsaBits is the size of generated RSA keys and the smallest accepted on
// load; RFC 7518 section 3.3 requires at least 2048.
const rsaBits = 2048

// generateKey makes a fresh private key for alg.
func generateKey(alg jose.SignatureAlgorithm) (crypto.Signer, error) {
	switch alg {
	case jose.ES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.RS256:
		return rsa.GenerateKey(rand.Reader, rsaBits)
	case jose.EdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		return priv, err
	default:
		return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
}

// checkKey makes sure a parsed key is fit for alg. The Algorithm column is
// not covered by the seal, so a key of the wrong type must be caught here
// rather than surface later as an unverifiable token.
func checkKey(alg jose.SignatureAlgorithm, key any) (crypto.Signer, error) {
	switch alg {
	case jose.ES256:
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%s needs a P-256 ECDSA key, got %T", alg, key)
		}
		return k, nil
	case jose.RS256:
		k, ok := key.(*rsa.PrivateKey)
		if !ok || k.N.BitLen() < rsaBits {
			return nil, fmt.Errorf("%s needs an RSA key of at least %d bits, got %T", alg, rsaBits, key)
		}
		return k, nil
	case jose.EdDSA:
		k, ok := key.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%s needs an Ed25519 key, got %T", alg, key)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("unsupported signing algorithm %q", alg)
	}
}

// thumbprintKID names a key by its RFC 7638 thumbprint, so the KID is
// derived from the key itself and two keys can't share one by accident.
func thumbprintKID(pub crypto.PublicKey) (string, error) {
	jwk := jose.JSONWebKey{Key: pub}
	sum, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// newRecord generates a key for alg and returns it both sealed, ready to
// persist, and in the clear, ready to use.
func newRecord(sealer *Sealer, alg jose.SignatureAlgorithm, state string, now time.Time) (Record, crypto.Signer, error) {
	priv, err := generateKey(alg)
	if err != nil {
		return Record{}, nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	kid, err := thumbprintKID(priv.Public())
	if err != nil {
		return Record{}, nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return Record{}, nil, fmt.Errorf("marshal signing key %s: %w", kid, err)
	}
	sealed, err := sealer.Seal(der, []byte(kid))
	clear(der)
	if err != nil {
		return Record{}, nil, fmt.Errorf("seal signing key %s: %w", kid, err)
	}
	rec := Record{
		KID:       kid,
		Algorithm: string(alg),
		State:     state,
		Private:   sealed,
		CreatedAt: now,
	}
	return rec, priv, nil
}

// openRecord unseals and parses a stored key. This is the only place
// private key bytes are decrypted, and it runs once per key at load.
func openRecord(sealer *Sealer, rec Record) (crypto.Signer, error) {
	der, err := sealer.Open(rec.Private, []byte(rec.KID))
	if err != nil {
		return nil, fmt.Errorf("open signing key %s: %w", rec.KID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(der)
	// The parsed key owns its own copy; don't leave the DER lying around.
	clear(der)
	if err != nil {
		return nil, fmt.Errorf("parse signing key %s: %w", rec.KID, err)
	}
	priv, err := checkKey(jose.SignatureAlgorithm(rec.Algorithm), parsed)
	if err != nil {
		return nil, fmt.Errorf("check signing key %s: %w", rec.KID, err)
	}
	return priv, nil
}
