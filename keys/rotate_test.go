package keys

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// rotClock is an adjustable clock for the rotation tests.
type rotClock struct {
	mu  sync.Mutex
	now time.Time
}

func newRotClock() *rotClock { return &rotClock{now: fixedNow} }

func (c *rotClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *rotClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var rotPolicy = RotatePolicy{PublishAhead: 10 * time.Minute, RetireFor: time.Hour}

// rotManager is a fresh Manager on its own store with an adjustable clock.
func rotManager(t *testing.T) (*Manager, *fakeStore, *rotClock) {
	t.Helper()
	store, clk := &fakeStore{}, newRotClock()
	m, err := NewManager(context.Background(), store, testSealer(t), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return m, store, clk
}

// recordsByState returns the store's records for alg keyed by state; it
// fails if a state holds more than one key.
func recordsByState(t *testing.T, s *fakeStore, alg jose.SignatureAlgorithm) map[string]Record {
	t.Helper()
	recs, _ := s.SigningKeys(context.Background())
	out := map[string]Record{}
	for _, r := range recs {
		if r.Algorithm != string(alg) {
			continue
		}
		if _, dup := out[r.State]; dup {
			t.Fatalf("two %s %s keys in the store", alg, r.State)
		}
		out[r.State] = r
	}
	return out
}

func jwksKIDs(m *Manager) []string {
	var kids []string
	for _, k := range m.JWKS().Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

func signWith(t *testing.T, m *Manager, alg jose.SignatureAlgorithm) (token, kid string) {
	t.Helper()
	s, err := m.Signer(alg, "at+jwt")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign(map[string]string{"sub": "alice"})
	if err != nil {
		t.Fatal(err)
	}
	return tok, s.KID()
}

// TestRotatePromotesAndRetires: Rotate moves next→current→retired and
// publishes a new next key, for both algorithms.
func TestRotatePromotesAndRetires(t *testing.T) {
	m, store, clk := rotManager(t)
	algs := []jose.SignatureAlgorithm{jose.ES256, jose.RS256}
	before := map[jose.SignatureAlgorithm]map[string]Record{}
	for _, alg := range algs {
		before[alg] = recordsByState(t, store, alg)
	}
	clk.Advance(rotPolicy.PublishAhead)
	rotatedAt := clk.Now()
	if err := m.Rotate(context.Background(), rotPolicy); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	tests := []struct {
		name string
		alg  jose.SignatureAlgorithm
	}{
		{name: "ES256", alg: jose.ES256},
		{name: "RS256", alg: jose.RS256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, now := before[tt.alg], recordsByState(t, store, tt.alg)
			if len(now) != 3 {
				t.Fatalf("states after rotation = %v, want next, current and retired", slices.Collect(func(yield func(string) bool) {
					for s := range now {
						if !yield(s) {
							return
						}
					}
				}))
			}
			if now[StateCurrent].KID != old[StateNext].KID {
				t.Errorf("current = %s, want the former next key %s", now[StateCurrent].KID, old[StateNext].KID)
			}
			if now[StateRetired].KID != old[StateCurrent].KID {
				t.Errorf("retired = %s, want the former current key %s", now[StateRetired].KID, old[StateCurrent].KID)
			}
			if want := rotatedAt.Add(rotPolicy.RetireFor); !now[StateRetired].NotAfter.Equal(want) {
				t.Errorf("retired NotAfter = %v, want now + RetireFor = %v", now[StateRetired].NotAfter, want)
			}
			if !now[StateCurrent].NotAfter.IsZero() {
				t.Errorf("current key has NotAfter %v, want none", now[StateCurrent].NotAfter)
			}
			nx := now[StateNext]
			if nx.KID == old[StateNext].KID || nx.KID == old[StateCurrent].KID || !nx.CreatedAt.Equal(rotatedAt) {
				t.Errorf("next = %s created %v, want a new key created %v", nx.KID, nx.CreatedAt, rotatedAt)
			}
			for _, kid := range []string{now[StateNext].KID, now[StateCurrent].KID, now[StateRetired].KID} {
				if !slices.Contains(jwksKIDs(m), kid) {
					t.Errorf("JWKS lacks %s", kid)
				}
			}
			if _, kid := signWith(t, m, tt.alg); kid != old[StateNext].KID {
				t.Errorf("signing kid after rotation = %s, want the promoted key %s", kid, old[StateNext].KID)
			}
			var states []string
			for _, k := range m.Keys() {
				if k.Algorithm == string(tt.alg) {
					states = append(states, k.State)
					if k.State == StateRetired && !k.RemoveAt.Equal(rotatedAt.Add(rotPolicy.RetireFor)) {
						t.Errorf("Keys() retired RemoveAt = %v", k.RemoveAt)
					}
				}
			}
			if !slices.Equal(states, []string{StateCurrent, StateNext, StateRetired}) {
				t.Errorf("Keys() states = %v, want current, next, retired", states)
			}
		})
	}
}

// TestRotateTooEarly: a next key published less than PublishAhead ago is
// not promoted, and nothing changes, unless Force.
func TestRotateTooEarly(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		force   bool
		wantErr error
	}{
		{name: "next key just created", advance: 0, wantErr: ErrTooEarly},
		{name: "one second short", advance: rotPolicy.PublishAhead - time.Second, wantErr: ErrTooEarly},
		{name: "forced", advance: 0, force: true},
		{name: "published long enough", advance: rotPolicy.PublishAhead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, store, clk := rotManager(t)
			clk.Advance(tt.advance)
			recsBefore, _ := store.SigningKeys(context.Background())
			jwksBefore := string(m.JWKSJSON())
			_, kidBefore := signWith(t, m, jose.ES256)

			p := rotPolicy
			p.Force = tt.force
			err := m.Rotate(context.Background(), p)
			recsAfter, _ := store.SigningKeys(context.Background())
			_, kidAfter := signWith(t, m, jose.ES256)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Rotate error = %v, want %v", err, tt.wantErr)
				}
				if !slices.EqualFunc(recsBefore, recsAfter, recordEqual) {
					t.Errorf("store changed by a refused rotation:\nbefore %v\nafter  %v", summary(recsBefore), summary(recsAfter))
				}
				if string(m.JWKSJSON()) != jwksBefore {
					t.Error("JWKS changed by a refused rotation")
				}
				if kidAfter != kidBefore {
					t.Errorf("signing kid changed from %s to %s", kidBefore, kidAfter)
				}
				return
			}
			if err != nil {
				t.Fatalf("Rotate: %v", err)
			}
			if len(recsAfter) != 6 {
				t.Errorf("store holds %d keys after rotation, want 6", len(recsAfter))
			}
			if kidAfter == kidBefore {
				t.Errorf("signing kid still %s after rotation", kidAfter)
			}
		})
	}
}

func recordEqual(a, b Record) bool {
	return a.KID == b.KID && a.Algorithm == b.Algorithm && a.State == b.State &&
		a.CreatedAt.Equal(b.CreatedAt) && a.NotAfter.Equal(b.NotAfter) && string(a.Private) == string(b.Private)
}

func summary(recs []Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.Algorithm+"/"+r.State+"/"+r.KID)
	}
	return out
}

// TestRetiredKeyLifetime: a token signed by a key that was rotated out
// keeps verifying until RetireFor has passed; then the key leaves the JWKS
// on Reload and Prune deletes it from the store.
func TestRetiredKeyLifetime(t *testing.T) {
	m, store, clk := rotManager(t)
	ctx := context.Background()
	esTok, esKID := signWith(t, m, jose.ES256)
	rsTok, rsKID := signWith(t, m, jose.RS256)
	clk.Advance(rotPolicy.PublishAhead)
	if err := m.Rotate(ctx, rotPolicy); err != nil {
		t.Fatal(err)
	}
	inStore := func(kid string) bool {
		recs, _ := store.SigningKeys(ctx)
		return slices.ContainsFunc(recs, func(r Record) bool { return r.KID == kid })
	}
	// Steps run in order; each advances the clock, reloads, then prunes.
	tests := []struct {
		name              string
		advance           time.Duration
		wantPublished     bool // in the JWKS after Reload
		wantStoredAfter   bool // in the store after Prune
		wantVerifyFailure error
	}{
		{name: "right after rotation", advance: 0, wantPublished: true, wantStoredAfter: true},
		{name: "one second before RetireFor", advance: rotPolicy.RetireFor - time.Second, wantPublished: true, wantStoredAfter: true},
		{name: "at RetireFor", advance: time.Second, wantPublished: false, wantStoredAfter: false, wantVerifyFailure: ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(tt.advance)
			if err := m.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			for _, tok := range []struct{ token, kid string }{{esTok, esKID}, {rsTok, rsKID}} {
				if got := slices.Contains(jwksKIDs(m), tok.kid); got != tt.wantPublished {
					t.Errorf("%s in JWKS = %v, want %v", tok.kid, got, tt.wantPublished)
				}
				_, err := m.Verify(tok.token, "at+jwt", jose.ES256, jose.RS256)
				if tt.wantVerifyFailure == nil && err != nil {
					t.Errorf("token of %s: Verify: %v", tok.kid, err)
				}
				if tt.wantVerifyFailure != nil && !errors.Is(err, tt.wantVerifyFailure) {
					t.Errorf("token of %s: Verify error = %v, want %v", tok.kid, err, tt.wantVerifyFailure)
				}
				// Reload alone never deletes: the row is there until Prune.
				if !inStore(tok.kid) {
					t.Errorf("%s deleted from the store before Prune", tok.kid)
				}
			}
			if err := m.Prune(ctx); err != nil {
				t.Fatal(err)
			}
			for _, kid := range []string{esKID, rsKID} {
				if got := inStore(kid); got != tt.wantStoredAfter {
					t.Errorf("%s in store after Prune = %v, want %v", kid, got, tt.wantStoredAfter)
				}
			}
			if n := len(store.records); n != 4+2*btoi(tt.wantStoredAfter) {
				t.Errorf("store holds %d keys, want %d", n, 4+2*btoi(tt.wantStoredAfter))
			}
		})
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestDue: a rotation is due once the current key has signed for
// interval, and not again right after a rotation.
func TestDue(t *testing.T) {
	const interval = 30 * 24 * time.Hour
	m, _, clk := rotManager(t)
	tests := []struct {
		name    string
		advance time.Duration
		rotate  bool // rotate (not forced) after advancing, before asking
		want    bool
	}{
		{name: "fresh keys", want: false},
		{name: "one second short", advance: interval - time.Second, want: false},
		{name: "at the interval", advance: time.Second, want: true},
		{name: "right after a rotation", rotate: true, want: false},
		{name: "half an interval after the rotation", advance: interval / 2, want: false},
		{name: "an interval after the rotation", advance: interval / 2, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(tt.advance)
			if tt.rotate {
				if err := m.Rotate(context.Background(), rotPolicy); err != nil {
					t.Fatal(err)
				}
			}
			if got := m.Due(interval); got != tt.want {
				t.Errorf("Due(%s) = %v, want %v (keys %+v)", interval, got, tt.want, m.Keys())
			}
		})
	}
}

// TestReloadSeesOtherReplicasRotation: two Managers on one store are two
// replicas; a rotation by one takes effect at the other on Reload.
func TestReloadSeesOtherReplicasRotation(t *testing.T) {
	ctx := context.Background()
	store, clk := &fakeStore{}, newRotClock()
	a, err := NewManager(ctx, store, testSealer(t), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewManager(ctx, store, testSealer(t), clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Created()) != 0 {
		t.Fatalf("second replica created keys %v, want it to load the first's", b.Created())
	}
	tokB, kidB := signWith(t, b, jose.ES256)
	clk.Advance(rotPolicy.PublishAhead)
	if err := a.Rotate(ctx, rotPolicy); err != nil {
		t.Fatal(err)
	}
	_, kidA := signWith(t, a, jose.ES256)

	tests := []struct {
		name       string
		reload     bool
		wantSigner string
		wantJWKS   string // JWKS JSON of a
	}{
		{name: "before reload b still signs with the old key", wantSigner: kidB},
		{name: "after reload b signs with a's new current key", reload: true, wantSigner: kidA, wantJWKS: string(a.JWKSJSON())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.reload {
				if err := b.Reload(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if _, kid := signWith(t, b, jose.ES256); kid != tt.wantSigner {
				t.Errorf("b signs with %s, want %s", kid, tt.wantSigner)
			}
			if tt.wantJWKS != "" && string(b.JWKSJSON()) != tt.wantJWKS {
				t.Errorf("b's JWKS differs from a's after reload:\n a %s\n b %s", tt.wantJWKS, b.JWKSJSON())
			}
			// Either way a token b signed before the rotation verifies on both.
			for name, m := range map[string]*Manager{"a": a, "b": b} {
				if _, err := m.Verify(tokB, "at+jwt", jose.ES256); err != nil {
					t.Errorf("%s: pre-rotation token: %v", name, err)
				}
			}
		})
	}
	if kidA == kidB {
		t.Fatalf("rotation did not change the signing key (%s)", kidA)
	}
}
