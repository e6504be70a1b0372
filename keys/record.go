package keys

import (
	"context"
	"time"
)

// Key states. Every state is published in the JWKS; only StateCurrent keys
// sign. Publishing StateNext keys ahead of use lets relying parties cache
// them before the first token signed with them arrives, and publishing
// StateRetired keys keeps tokens already issued verifiable until they expire.
const (
	StateNext    = "next"
	StateCurrent = "current"
	StateRetired = "retired"
)

// Record is a signing key as persisted. Private holds the PKCS#8 DER
// private key sealed by a Sealer (AES-256-GCM) with the KID as additional
// data; the public half is derived on load rather than stored, so the two
// can never disagree.
type Record struct {
	KID       string
	Algorithm string // "ES256" (default for access tokens), "RS256" (ID tokens), "EdDSA"
	State     string // StateNext, StateCurrent, StateRetired
	Private   []byte // sealed
	CreatedAt time.Time
	NotAfter  time.Time // zero = none; when a retired key may be removed
}

// Store persists Records; rotor's storage package implements it.
type Store interface {
	SigningKeys(ctx context.Context) ([]Record, error)
	CreateSigningKey(ctx context.Context, r Record) error
	// UpdateSigningKey changes a key's state and removal time.
	UpdateSigningKey(ctx context.Context, kid, state string, notAfter time.Time) error
	// DeleteSigningKey removes a key for good.
	DeleteSigningKey(ctx context.Context, kid string) error
}
