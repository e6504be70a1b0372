package keys

import (
	"crypto/hkdf"
	"crypto/sha256"
	"fmt"
)

// derivedKeyLen is 32 bytes because every consumer (AES-256, HMAC-SHA256)
// wants a full 256-bit key.
const derivedKeyLen = 32

// DeriveKey derives a 32-byte key for one purpose from the system secret
// with HKDF-SHA256 (info = "rotor " + purpose), so one configured secret
// yields independent keys for sealing, token HMACs and client-secret
// hashing: learning one derived key reveals nothing about the others.
//
// DeriveKey panics only if HKDF refuses its input, which happens solely in
// FIPS 140-only mode with a secret shorter than 112 bits; callers are
// expected to have validated the secret's length at configuration time.
func DeriveKey(systemSecret []byte, purpose string) []byte {
	// No salt: the system secret is already meant to be high-entropy, and a
	// fixed info string is what separates the purposes.
	key, err := hkdf.Key(sha256.New, systemSecret, nil, "rotor "+purpose, derivedKeyLen)
	if err != nil {
		panic(fmt.Sprintf("keys: derive key for %q: %v", purpose, err))
	}
	return key
}
