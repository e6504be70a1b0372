package storage

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordHasher hashes user passwords with argon2id in the PHC string
// format, so parameters can be raised later without invalidating hashes.
type PasswordHasher struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	dummy     string
}

// DefaultPasswordHasher uses OWASP's argon2id recommendation
// (m=19 MiB, t=2, p=1).
func DefaultPasswordHasher() *PasswordHasher {
	return NewPasswordHasher(19*1024, 2, 1)
}

// NewPasswordHasher returns a hasher with the given argon2id parameters.
func NewPasswordHasher(memoryKiB, time uint32, threads uint8) *PasswordHasher {
	h := &PasswordHasher{MemoryKiB: memoryKiB, Time: time, Threads: threads}
	// Unknown users are checked against this hash so that their responses
	// take as long as a known user's.
	h.dummy, _ = h.Hash("rotor-dummy-password")
	return h
}

var b64 = base64.RawStdEncoding

// Hash returns the PHC-encoded argon2id hash of password.
func (h *PasswordHasher) Hash(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	sum := argon2.IDKey([]byte(password), salt, h.Time, h.MemoryKiB, h.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, h.MemoryKiB, h.Time, h.Threads, b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// Verify reports whether password matches the PHC-encoded hash, using the
// parameters stored in the hash.
func (h *PasswordHasher) Verify(encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, errors.New("unsupported password hash format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, errors.New("unsupported argon2 version")
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false, fmt.Errorf("parse argon2 parameters: %w", err)
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, fmt.Errorf("decode salt: %w", err)
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil {
		return false, fmt.Errorf("decode hash: %w", err)
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// burn spends the time of one verification without a user.
func (h *PasswordHasher) burn(password string) {
	_, _ = h.Verify(h.dummy, password)
}
