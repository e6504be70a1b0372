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

	store  Store
	sealer *Sealer
	now    func() time.Time
	mu     sync.Mutex
	opened map[string]crypto.Signer // by KID: RSA keys are slow to parse
	algs   []jose.SignatureAlgorithm
}

// key is one loaded signing key.
type key struct {
	kid       string
	alg       jose.SignatureAlgorithm
	state     string
	createdAt time.Time
	notAfter  time.Time
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
// each of ES256 and RS256 it makes sure there is a current key (signing)
// and a next key (published, waiting to sign), generating, sealing and
// persisting what is missing and remembering those KIDs in Created.
// Retired keys whose NotAfter has passed are skipped as if already removed.
// A nil now means time.Now. algs replaces ES256 and RS256 as the algorithms
// kept signing (e.g. EdDSA for access tokens).
func NewManager(ctx context.Context, store Store, sealer *Sealer, now func() time.Time, algs ...jose.SignatureAlgorithm) (*Manager, error) {
	if store == nil || sealer == nil {
		return nil, errors.New("new key manager: store and sealer are required")
	}
	if now == nil {
		now = time.Now
	}
	if len(algs) == 0 {
		algs = defaultAlgorithms
	}
	m := &Manager{store: store, sealer: sealer, now: now, opened: map[string]crypto.Signer{}, algs: slices.Compact(slices.Clone(algs))}
	recs, err := m.records(ctx)
	if err != nil {
		return nil, err
	}
	for _, alg := range m.algs {
		for _, state := range []string{StateCurrent, StateNext} {
			if slices.ContainsFunc(recs, func(r Record) bool { return r.Algorithm == string(alg) && r.State == state }) {
				continue
			}
			rec, err := m.create(ctx, alg, state)
			if err != nil {
				return nil, err
			}
			recs = append(recs, rec)
			m.created = append(m.created, rec.KID)
		}
	}
	if err := m.Reload(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// records reads every Record, rejecting duplicates and unknown states.
func (m *Manager) records(ctx context.Context) ([]Record, error) {
	recs, err := m.store.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	seen := make(map[string]bool, len(recs))
	for _, rec := range recs {
		if seen[rec.KID] {
			return nil, fmt.Errorf("load signing key %s: duplicate kid", rec.KID)
		}
		seen[rec.KID] = true
		switch rec.State {
		case StateNext, StateCurrent, StateRetired:
		default:
			return nil, fmt.Errorf("load signing key %s: unknown state %q", rec.KID, rec.State)
		}
	}
	return recs, nil
}

// create generates, seals and persists a key.
func (m *Manager) create(ctx context.Context, alg jose.SignatureAlgorithm, state string) (Record, error) {
	rec, priv, err := newRecord(m.sealer, alg, state, m.now().UTC())
	if err != nil {
		return Record{}, err
	}
	if err := m.store.CreateSigningKey(ctx, rec); err != nil {
		return Record{}, fmt.Errorf("store signing key %s: %w", rec.KID, err)
	}
	m.mu.Lock()
	m.opened[rec.KID] = priv
	m.mu.Unlock()
	return rec, nil
}

// Reload re-reads the key set from the store, so that a rotation made by
// another replica (or the CLI) takes effect here. Private keys already
// opened are not decrypted again.
func (m *Manager) Reload(ctx context.Context) error {
	recs, err := m.records(ctx)
	if err != nil {
		return err
	}
	now := m.now()
	var loaded []*key
	for _, rec := range recs {
		// A key its rotation schedule declared removable must stop
		// validating tokens even if the row has not been purged yet.
		if rec.State == StateRetired && !rec.NotAfter.IsZero() && !now.Before(rec.NotAfter) {
			continue
		}
		m.mu.Lock()
		priv, ok := m.opened[rec.KID]
		m.mu.Unlock()
		if !ok {
			if priv, err = openRecord(m.sealer, rec); err != nil {
				return err
			}
			m.mu.Lock()
			m.opened[rec.KID] = priv
			m.mu.Unlock()
		}
		k := newKey(rec.KID, jose.SignatureAlgorithm(rec.Algorithm), rec.State, rec.CreatedAt, priv)
		k.notAfter = rec.NotAfter
		if old := m.set.Load(); old != nil {
			if prev, ok := old.byKID[rec.KID]; ok && prev.state == rec.State {
				k = prev // keep its cached signers
			}
		}
		loaded = append(loaded, k)
	}
	set, err := buildKeySet(loaded)
	if err != nil {
		return err
	}
	m.set.Store(set)
	return nil
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
