package keys

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

func TestNewManagerCreatesThenReuses(t *testing.T) {
	ctx := context.Background()
	store := &fakeStore{}
	first, err := NewManager(ctx, store, testSealer(t), clock)
	if err != nil {
		t.Fatal(err)
	}
	// A current and a next key for each of ES256 and RS256.
	if got := len(first.Created()); got != 4 {
		t.Fatalf("first load created %d keys, want 4", got)
	}
	algs := map[string]string{}
	for _, r := range store.records {
		if (r.State != StateCurrent && r.State != StateNext) || !r.CreatedAt.Equal(fixedNow) {
			t.Errorf("record %s: state %q created %v", r.KID, r.State, r.CreatedAt)
		}
		if _, err := testSealer(t).Open(r.Private, []byte(r.KID)); err != nil {
			t.Errorf("record %s does not open under its kid: %v", r.KID, err)
		}
		if r.State == StateCurrent {
			algs[r.Algorithm] = r.KID
		}
	}
	if algs["ES256"] == "" || algs["RS256"] == "" || len(algs) != 2 {
		t.Fatalf("stored algorithms %v, want ES256 and RS256", algs)
	}
	if !slices.Contains(first.Created(), algs["ES256"]) || !slices.Contains(first.Created(), algs["RS256"]) {
		t.Fatalf("Created() = %v, want the stored kids %v", first.Created(), algs)
	}

	second, err := NewManager(ctx, store, testSealer(t), clock)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		alg  jose.SignatureAlgorithm
	}{
		{name: "ES256 reused", alg: jose.ES256},
		{name: "RS256 reused", alg: jose.RS256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := second.Signer(tt.alg, "JWT")
			if err != nil {
				t.Fatal(err)
			}
			if s.KID() != algs[string(tt.alg)] {
				t.Fatalf("kid = %s, want %s", s.KID(), algs[string(tt.alg)])
			}
		})
	}
	if got := second.Created(); len(got) != 0 {
		t.Fatalf("second load Created() = %v, want empty", got)
	}
	if len(store.records) != 4 {
		t.Fatalf("store has %d records after second load, want 4", len(store.records))
	}
}

func TestNewManagerKeyStates(t *testing.T) {
	sealer := testSealer(t)
	mk := func(alg jose.SignatureAlgorithm, state string, created time.Time, notAfter time.Time) Record {
		r, _, err := newRecord(sealer, alg, state, created)
		if err != nil {
			t.Fatal(err)
		}
		r.NotAfter = notAfter
		return r
	}
	day := 24 * time.Hour
	next := mk(jose.ES256, StateNext, fixedNow, time.Time{})
	older := mk(jose.ES256, StateCurrent, fixedNow.Add(-2*day), time.Time{})
	newer := mk(jose.ES256, StateCurrent, fixedNow.Add(-day), time.Time{})
	rsCurrent := mk(jose.RS256, StateCurrent, fixedNow.Add(-day), time.Time{})
	retired := mk(jose.RS256, StateRetired, fixedNow.Add(-9*day), fixedNow.Add(day))
	expired := mk(jose.RS256, StateRetired, fixedNow.Add(-9*day), fixedNow)
	ed := mk(jose.EdDSA, StateCurrent, fixedNow, time.Time{})
	store := &fakeStore{records: []Record{retired, next, expired, older, rsCurrent, newer, ed}}

	m, err := NewManager(context.Background(), store, sealer, clock)
	if err != nil {
		t.Fatal(err)
	}
	// Only the missing RS256 next key is created.
	if len(m.Created()) != 1 {
		t.Fatalf("Created() = %v, want one (the RS256 next key)", m.Created())
	}

	t.Run("newest current key signs", func(t *testing.T) {
		s, err := m.Signer(jose.ES256, "at+jwt")
		if err != nil {
			t.Fatal(err)
		}
		if s.KID() != newer.KID {
			t.Fatalf("signing kid = %s, want newest current %s", s.KID(), newer.KID)
		}
	})

	t.Run("jwks order and membership", func(t *testing.T) {
		var got []string
		for _, k := range m.JWKS().Keys {
			got = append(got, k.KeyID)
		}
		// Current first, newest first, ties by kid; then next; then retired.
		tied := []string{newer.KID, rsCurrent.KID}
		slices.Sort(tied)
		// The generated RS256 next key is as old as next: ties go by kid.
		nexts := []string{next.KID, m.Created()[0]}
		slices.Sort(nexts)
		want := []string{ed.KID, tied[0], tied[1], older.KID, nexts[0], nexts[1], retired.KID}
		if !slices.Equal(got, want) {
			t.Fatalf("JWKS kids = %v, want %v", got, want)
		}
	})

	lookups := []struct {
		name string
		kid  string
		want bool
	}{
		{name: "next key published", kid: next.KID, want: true},
		{name: "retired key published", kid: retired.KID, want: true},
		{name: "expired retired key dropped", kid: expired.KID, want: false},
		{name: "unknown kid", kid: "nope", want: false},
	}
	for _, tt := range lookups {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := m.PublicKey(tt.kid); ok != tt.want {
				t.Fatalf("PublicKey(%s) ok = %v, want %v", tt.kid, ok, tt.want)
			}
		})
	}

	t.Run("EdDSA round trip", func(t *testing.T) {
		s, err := m.Signer(jose.EdDSA, "JWT")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.Sign(map[string]string{"sub": "alice"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Verify(tok, "JWT", jose.EdDSA); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNewManagerErrors(t *testing.T) {
	sealer := testSealer(t)
	good, _, err := newRecord(sealer, jose.ES256, StateCurrent, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := newRecord(sealer, jose.RS256, StateCurrent, fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	wrongSecret, err := NewSealer([]byte("a different system secret entirely"))
	if err != nil {
		t.Fatal(err)
	}
	with := func(f func(r *Record)) Record {
		r := good
		f(&r)
		return r
	}
	boom := errors.New("boom")

	tests := []struct {
		name    string
		store   Store
		sealer  *Sealer
		wantErr error
	}{
		{name: "nil store", store: nil, sealer: sealer},
		{name: "nil sealer", store: &fakeStore{}, sealer: nil},
		{name: "load fails", store: &fakeStore{loadErr: boom}, sealer: sealer, wantErr: boom},
		{name: "create fails", store: &fakeStore{createErr: boom}, sealer: sealer, wantErr: boom},
		{name: "wrong secret", store: &fakeStore{records: []Record{good}}, sealer: wrongSecret},
		{name: "blob swapped between rows", store: &fakeStore{records: []Record{with(func(r *Record) { r.Private = other.Private })}}, sealer: sealer},
		{name: "key type does not match algorithm", store: &fakeStore{records: []Record{with(func(r *Record) { r.Algorithm = "RS256" })}}, sealer: sealer},
		{name: "unsupported algorithm", store: &fakeStore{records: []Record{with(func(r *Record) { r.Algorithm = "HS256" })}}, sealer: sealer},
		{name: "unknown state", store: &fakeStore{records: []Record{with(func(r *Record) { r.State = "active" })}}, sealer: sealer},
		{name: "duplicate kid", store: &fakeStore{records: []Record{good, good}}, sealer: sealer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewManager(context.Background(), tt.store, tt.sealer, clock)
			if err == nil {
				t.Fatal("NewManager succeeded, want error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestJWKS(t *testing.T) {
	m := testManager(t)
	raw := m.JWKSJSON()
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 4 {
		t.Fatalf("%d keys, want 4 (current and next for ES256 and RS256)", len(doc.Keys))
	}
	for _, k := range doc.Keys {
		t.Run(k["alg"].(string), func(t *testing.T) {
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := k[private]; ok {
					t.Errorf("published key has private member %q", private)
				}
			}
			if k["kid"] == "" || k["kid"] == nil || k["use"] != "sig" {
				t.Errorf("key missing kid/use: %v", k)
			}
			pub, ok := m.PublicKey(k["kid"].(string))
			if !ok || pub.Algorithm != k["alg"] || !pub.IsPublic() {
				t.Errorf("PublicKey(%v) = %+v, %v", k["kid"], pub, ok)
			}
		})
	}

	t.Run("JWKS matches JWKSJSON", func(t *testing.T) {
		again, err := json.Marshal(m.JWKS())
		if err != nil {
			t.Fatal(err)
		}
		if string(again) != string(raw) {
			t.Fatalf("JWKS() marshals to %s, JWKSJSON() is %s", again, raw)
		}
	})
	t.Run("JWKSJSON is cached", func(t *testing.T) {
		if &m.JWKSJSON()[0] != &raw[0] {
			t.Fatal("JWKSJSON re-marshalled")
		}
	})
	t.Run("JWKS returns a copy", func(t *testing.T) {
		set := m.JWKS()
		set.Keys[0].KeyID = "mutated"
		if m.JWKS().Keys[0].KeyID == "mutated" {
			t.Fatal("caller mutated the shared key set")
		}
	})
}
