package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
)

// sealPurpose is part of the on-disk format: changing it makes every
// stored key unreadable.
const sealPurpose = "signing key encryption"

// minSecretLen is 16 bytes because below that the system secret, not
// AES-256, becomes the weakest link for keys at rest.
const minSecretLen = 16

// Sealer encrypts private key material at rest with AES-256-GCM under
// DeriveKey(secret, "signing key encryption"). Callers bind the KID as
// additional data so a sealed blob can't be swapped between rows.
type Sealer struct {
	aead cipher.AEAD
	// previous open what older system secrets sealed, so that the secret
	// can be rotated: new seals always use the current one.
	previous []cipher.AEAD
}

// NewSealer returns a Sealer keyed from the system secret; previous are
// retired system secrets whose sealed data it can still open. It refuses
// secrets shorter than 16 bytes.
func NewSealer(systemSecret []byte, previous ...[]byte) (*Sealer, error) {
	aead, err := newAEAD(systemSecret)
	if err != nil {
		return nil, err
	}
	s := &Sealer{aead: aead}
	for _, p := range previous {
		old, err := newAEAD(p)
		if err != nil {
			return nil, fmt.Errorf("previous secret: %w", err)
		}
		s.previous = append(s.previous, old)
	}
	return s, nil
}

func newAEAD(systemSecret []byte) (cipher.AEAD, error) {
	if len(systemSecret) < minSecretLen {
		return nil, fmt.Errorf("new sealer: system secret must be at least %d bytes, got %d", minSecretLen, len(systemSecret))
	}
	block, err := aes.NewCipher(DeriveKey(systemSecret, sealPurpose))
	if err != nil {
		return nil, fmt.Errorf("new sealer: %w", err)
	}
	// Random nonces are safe here: far fewer than 2^32 keys will ever be
	// sealed under one secret.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("new sealer: %w", err)
	}
	return aead, nil
}

// Seal encrypts plaintext, authenticating additionalData with it. The
// result is a random 12-byte nonce followed by the ciphertext and tag.
func (s *Sealer) Seal(plaintext, additionalData []byte) ([]byte, error) {
	return s.aead.Seal(nil, nil, plaintext, additionalData), nil
}

// errOpen hides why authentication failed: wrong secret, wrong additional
// data and tampering are indistinguishable by design.
var errOpen = errors.New("message authentication failed")

// Open reverses Seal. It fails if sealed was altered, was sealed under a
// different secret, or was sealed with different additionalData.
func (s *Sealer) Open(sealed, additionalData []byte) ([]byte, error) {
	if len(sealed) < s.aead.Overhead() {
		return nil, fmt.Errorf("open sealed data: %d bytes is too short", len(sealed))
	}
	plaintext, err := s.aead.Open(nil, nil, sealed, additionalData)
	for _, old := range s.previous {
		if err == nil {
			break
		}
		plaintext, err = old.Open(nil, nil, sealed, additionalData)
	}
	if err != nil {
		return nil, fmt.Errorf("open sealed data: %w", errOpen)
	}
	return plaintext, nil
}
