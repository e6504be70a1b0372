package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// Every access token is signed on the request path, and go-jose rebuilds
// and re-marshals the same protected header for each one (a third of the
// cost of an ES256 token on top of the signature itself). For the
// algorithms Rotor issues, Sign therefore reuses the header go-jose made
// once and computes the RFC 7518 signature with the standard library;
// tests verify the result with go-jose. Any other algorithm stays with
// go-jose end to end.

var jwsB64 = base64.RawURLEncoding

// directSigner returns the raw JWS signature function for alg and key, or
// nil when go-jose should sign.
func directSigner(alg jose.SignatureAlgorithm, key crypto.Signer) func([]byte) ([]byte, error) {
	switch alg {
	case jose.ES256:
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok || k.Curve != elliptic.P256() {
			return nil
		}
		return func(in []byte) ([]byte, error) {
			digest := sha256.Sum256(in)
			r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
			if err != nil {
				return nil, err
			}
			// RFC 7518 §3.4: R and S as 32-byte big-endian integers.
			sig := make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
			return sig, nil
		}
	case jose.EdDSA:
		k, ok := key.(ed25519.PrivateKey)
		if !ok {
			return nil
		}
		return func(in []byte) ([]byte, error) { return ed25519.Sign(k, in), nil }
	case jose.RS256:
		k, ok := key.(*rsa.PrivateKey)
		if !ok {
			return nil
		}
		return func(in []byte) ([]byte, error) {
			digest := sha256.Sum256(in)
			return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:])
		}
	}
	return nil
}

// protectedHeader is the first segment of a token js signs: the encoded
// header exactly as go-jose writes it (alg, kid, typ).
func protectedHeader(js jose.Signer) ([]byte, error) {
	jws, err := js.Sign([]byte("{}"))
	if err != nil {
		return nil, fmt.Errorf("protected header: %w", err)
	}
	compact, err := jws.CompactSerialize()
	if err != nil {
		return nil, fmt.Errorf("protected header: %w", err)
	}
	header, _, ok := strings.Cut(compact, ".")
	if !ok || header == "" {
		return nil, errors.New("protected header: not a compact JWS")
	}
	return []byte(header), nil
}

// signDirect returns header.payload.signature (RFC 7515 §7.1).
func (s *Signer) signDirect(payload []byte) (string, error) {
	buf := make([]byte, 0, len(s.header)+1+jwsB64.EncodedLen(len(payload))+1+jwsB64.EncodedLen(512))
	buf = append(buf, s.header...)
	buf = append(buf, '.')
	buf = jwsB64.AppendEncode(buf, payload)
	sig, err := s.direct(buf)
	if err != nil {
		return "", fmt.Errorf("sign with key %s: %w", s.kid, err)
	}
	buf = append(buf, '.')
	buf = jwsB64.AppendEncode(buf, sig)
	return string(buf), nil
}
