package storage

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// PasswordHasher hashes user passwords with argon2id in the PHC string
// format, so parameters can be raised later without invalidating hashes.
type PasswordHasher struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
	dummy     string
	// slots bounds how many hashes run at once: each holds MemoryKiB, so
	// the pool, not the request rate, decides peak memory.
	slots chan struct{}
	wait  time.Duration
}

// ErrHashPoolBusy: every hashing slot stayed busy for the whole wait.
var ErrHashPoolBusy = fmt.Errorf("%w: password hashing pool busy", ErrUnavailable)

// Bound limits the hasher to n concurrent hashes (n ≤ 0: one per CPU);
// a caller waits at most wait for a slot, then gets ErrHashPoolBusy.
func (h *PasswordHasher) Bound(n int, wait time.Duration) *PasswordHasher {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	h.slots = make(chan struct{}, n)
	h.wait = wait
	return h
}

// acquire takes a hashing slot, or fails after the configured wait.
func (h *PasswordHasher) acquire(ctx context.Context) (release func(), err error) {
	if h.slots == nil {
		return func() {}, nil
	}
	t := time.NewTimer(h.wait)
	defer t.Stop()
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	case <-t.C:
		return nil, ErrHashPoolBusy
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())
	}
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

// verifyBounded is Verify inside a hashing slot.
func (h *PasswordHasher) verifyBounded(ctx context.Context, encoded, password string) (bool, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return h.Verify(encoded, password)
}
