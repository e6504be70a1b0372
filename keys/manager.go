package keys

import (
	"cmp"
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// defaultAlgorithms are the algorithms NewManager guarantees a current key
// for: ES256 for access tokens, RS256 because OIDC Core makes it the
// ID-token default every relying party supports.
var defaultAlgorithms = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}

// Manager holds the decrypted key set in memory. Keys are decrypted once,
// at load, never on the signing or verification path. It is safe for
// concurrent use.
type Manager struct {
	// set is an immutable snapshot behind an atomic pointer so readers
	// never take a lock and a key-set change is a single swap.
	set     atomic.Pointer[keySet]
	created []string
}

// key is one loaded signing key.
type key struct {
	kid       string
	alg       jose.SignatureAlgorithm
	state     string
	createdAt time.Time
	private   crypto.Signer
	public    jose.JSONWebKey

	// signers caches one go-jose signer per typ: building one per token
	// would redo key setup on every request.
	mu      sync.RWMutex
	signers map[string]*Signer
}

// keySet is everything derived from one set of Records. It is never
// modified after build, apart from the per-key signer caches.
type keySet struct {
	byKID    map[string]*key
	current  map[jose.SignatureAlgorithm]*key
	jwks     jose.JSONWebKeySet
	jwksJSON []byte
}

// NewManager loads every Record from store and opens each private key. For
// each of ES256 and RS256 that has no StateCurrent key it generates one
// (P-256 or RSA-2048), seals it, persists it as current, and remembers its
// KID in Created. Retired keys whose NotAfter has passed are skipped as if
// already removed. A nil now means time.Now.
func NewManager(ctx context.Context, store Store, sealer *Sealer, now func() time.Time) (*Manager, error) {
	if store == nil || sealer == nil {
		return nil, errors.New("new key manager: store and sealer are required")
	}
	if now == nil {
		now = time.Now
	}
	recs, err := store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}

	loadedAt := now()
	var loaded []*key
	seen := make(map[string]bool, len(recs))
	for _, rec := range recs {
		if seen[rec.KID] {
			return nil, fmt.Errorf("load signing key %s: duplicate kid", rec.KID)
		}
		seen[rec.KID] = true
		switch rec.State {
		case StateNext, StateCurrent:
		case StateRetired:
			// A key its rotation schedule declared removable must stop
			// validating tokens even if the row has not been purged yet.
			if !rec.NotAfter.IsZero() && !loadedAt.Before(rec.NotAfter) {
				continue
			}
		default:
			return nil, fmt.Errorf("load signing key %s: unknown state %q", rec.KID, rec.State)
		}
		priv, err := openRecord(sealer, rec)
		if err != nil {
			return nil, err
		}
		loaded = append(loaded, newKey(rec.KID, jose.SignatureAlgorithm(rec.Algorithm), rec.State, rec.CreatedAt, priv))
	}

	m := &Manager{}
	for _, alg := range defaultAlgorithms {
		if hasCurrent(loaded, alg) {
			continue
		}
		rec, priv, err := newRecord(sealer, alg, StateCurrent, now().UTC())
		if err != nil {
			return nil, err
		}
		if err := store.CreateSigningKey(ctx, rec); err != nil {
			return nil, fmt.Errorf("store signing key %s: %w", rec.KID, err)
		}
		loaded = append(loaded, newKey(rec.KID, alg, rec.State, rec.CreatedAt, priv))
		m.created = append(m.created, rec.KID)
	}

	set, err := buildKeySet(loaded)
	if err != nil {
		return nil, err
	}
	m.set.Store(set)
	return m, nil
}

func newKey(kid string, alg jose.SignatureAlgorithm, state string, createdAt time.Time, priv crypto.Signer) *key {
	return &key{
		kid:       kid,
		alg:       alg,
		state:     state,
		createdAt: createdAt,
		private:   priv,
		public: jose.JSONWebKey{
			Key:       priv.Public(),
			KeyID:     kid,
			Algorithm: string(alg),
			Use:       "sig",
		},
		signers: make(map[string]*Signer),
	}
}

func hasCurrent(keys []*key, alg jose.SignatureAlgorithm) bool {
	return slices.ContainsFunc(keys, func(k *key) bool { return k.alg == alg && k.state == StateCurrent })
}

// stateRank orders the JWKS current-first, because some clients naively
// take the first key that matches.
var stateRank = map[string]int{StateCurrent: 0, StateNext: 1, StateRetired: 2}

func buildKeySet(keys []*key) (*keySet, error) {
	slices.SortFunc(keys, func(a, b *key) int {
		return cmp.Or(
			cmp.Compare(stateRank[a.state], stateRank[b.state]),
			b.createdAt.Compare(a.createdAt),
			cmp.Compare(a.kid, b.kid),
		)
	})
	set := &keySet{
		byKID:   make(map[string]*key, len(keys)),
		current: make(map[jose.SignatureAlgorithm]*key),
		jwks:    jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))},
	}
	for _, k := range keys {
		set.byKID[k.kid] = k
		// Sorted newest first, so if two instances raced to create a
		// current key every instance signs with the same one.
		if k.state == StateCurrent && set.current[k.alg] == nil {
			set.current[k.alg] = k
		}
		set.jwks.Keys = append(set.jwks.Keys, k.public)
	}
	raw, err := json.Marshal(set.jwks)
	if err != nil {
		return nil, fmt.Errorf("marshal jwks: %w", err)
	}
	set.jwksJSON = raw
	return set, nil
}

// Created returns the KIDs NewManager generated, so the CLI can log them.
func (m *Manager) Created() []string {
	return slices.Clone(m.created)
}

// JWKS returns the public keys of every loaded key, each with KeyID,
// Algorithm and Use "sig". Keys in states next, current and retired are
// all published.
func (m *Manager) JWKS() jose.JSONWebKeySet {
	keys := m.set.Load().jwks.Keys
	return jose.JSONWebKeySet{Keys: slices.Clone(keys)}
}

// JWKSJSON returns the marshalled JWKS. It is computed once per key-set
// change because /jwks is hot; the slice is shared, so callers must not
// modify it.
func (m *Manager) JWKSJSON() []byte {
	return m.set.Load().jwksJSON
}

// PublicKey returns the public key named kid, in any state.
func (m *Manager) PublicKey(kid string) (*jose.JSONWebKey, bool) {
	k, ok := m.set.Load().byKID[kid]
	if !ok {
		return nil, false
	}
	pub := k.public
	return &pub, true
}
