package keys

import (
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// Signer signs JWTs with one key. The protected header carries kid and
// typ (e.g. "at+jwt" for RFC 9068 access tokens, "JWT" for ID tokens). A
// Signer is safe for concurrent use.
type Signer struct {
	kid    string
	alg    jose.SignatureAlgorithm
	signer jose.Signer
	// header is go-jose's encoded protected header, made once; with direct
	// it lets Sign skip go-jose's per-token header map and serialisation.
	header []byte
	direct func(signingInput []byte) ([]byte, error)
}

// Signer returns a signer using the current key for alg, stamping typ into
// every header. typ must not be empty: explicit typing is what stops one
// kind of token being replayed as another (RFC 8725 section 3.11).
func (m *Manager) Signer(alg jose.SignatureAlgorithm, typ string) (*Signer, error) {
	if typ == "" {
		return nil, errors.New("signer: typ is required")
	}
	k := m.set.Load().current[alg]
	if k == nil {
		return nil, fmt.Errorf("signer: no current %s key: %w", alg, ErrUnknownKey)
	}
	return k.signer(typ)
}

// signer returns the cached Signer for typ, creating it on first use.
func (k *key) signer(typ string) (*Signer, error) {
	k.mu.RLock()
	s, ok := k.signers[typ]
	k.mu.RUnlock()
	if ok {
		return s, nil
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.signers[typ]; ok {
		return s, nil
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	// Passing a JSONWebKey with a KeyID is what makes go-jose put kid in
	// the protected header.
	js, err := jose.NewSigner(jose.SigningKey{
		Algorithm: k.alg,
		Key:       jose.JSONWebKey{Key: k.private, KeyID: k.kid, Algorithm: string(k.alg)},
	}, opts)
	if err != nil {
		return nil, fmt.Errorf("signer for key %s: %w", k.kid, err)
	}
	s = &Signer{kid: k.kid, alg: k.alg, signer: js}
	if s.direct = directSigner(k.alg, k.private); s.direct != nil {
		if s.header, err = protectedHeader(js); err != nil {
			return nil, fmt.Errorf("signer for key %s: %w", k.kid, err)
		}
	}
	k.signers[typ] = s
	return s, nil
}

// KID returns the key ID stamped into the header of every token.
func (s *Signer) KID() string { return s.kid }

// Algorithm returns the JWS algorithm the signer uses.
func (s *Signer) Algorithm() jose.SignatureAlgorithm { return s.alg }

// Sign marshals claims with encoding/json and returns a compact JWS.
func (s *Signer) Sign(claims any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("marshal claims: %w", err)
	}
	if s.direct != nil {
		return s.signDirect(payload)
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign with key %s: %w", s.kid, err)
	}
	token, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("serialize token: %w", err)
	}
	return token, nil
}
