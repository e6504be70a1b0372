package storagetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/rotorauth/rotor/storage"
)

// Families: reuse detection and its grace window, revocation, listing and
// the absolute lifetime.

func testRefreshReuse(t *testing.T, newStore NewStoreFunc) {
	tests := []struct {
		name         string
		grace        time.Duration
		advance      time.Duration // clock move after the first rotation
		useSuccessor bool          // the successor is rotated before the parent comes back
		wantReplay   bool          // the parent is accepted again (grace replay)
	}{
		{name: "grace disabled", grace: 0, advance: time.Second},
		{name: "within grace with unused successor", grace: 10 * time.Second, advance: 5 * time.Second, wantReplay: true},
		{name: "at the end of the grace window", grace: 10 * time.Second, advance: 10 * time.Second, wantReplay: true},
		{name: "grace expired", grace: 10 * time.Second, advance: 11 * time.Second},
		{name: "within grace but successor already used", grace: 10 * time.Second, advance: time.Second, useSuccessor: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, newStore, storage.Options{RefreshReuseGrace: tt.grace})
			ctx := context.Background()
			r := f.request("fam-reuse", subject)
			f.issue(t, r, "at-0", "rt-0")
			if err := Rotate(ctx, f.s, r, "rt-0", "at-1", "rt-1"); err != nil {
				t.Fatalf("first rotation: %v", err)
			}
			if tt.useSuccessor {
				if err := Rotate(ctx, f.s, r, "rt-1", "at-2", "rt-2"); err != nil {
					t.Fatalf("rotating the successor: %v", err)
				}
			}
			f.clock.Add(tt.advance)

			// Outside a refresh request a spent token is simply inactive.
			f.refreshState(t, "rt-0", fosite.ErrInactiveToken)
			// Another client's refresh request learns nothing.
			_, err := f.s.GetRefreshTokenSession(refreshCtx(f.other), "rt-0", &openid.DefaultSession{})
			checkErr(t, "parent presented by another client", err, fosite.ErrNotFound)

			rctx := refreshCtx(f.client)
			got, err := f.s.GetRefreshTokenSession(rctx, "rt-0", &openid.DefaultSession{})
			if tt.wantReplay {
				checkErr(t, "parent in the grace window", err, nil)
			} else {
				checkErr(t, "spent parent", err, fosite.ErrInactiveToken)
			}
			if got == nil || got.GetID() != "fam-reuse" {
				t.Errorf("GetRefreshTokenSession returned request %v, want fam-reuse", got)
			}

			tctx, err := f.s.BeginTX(rctx)
			if err != nil {
				t.Fatal(err)
			}
			err = f.s.RotateRefreshToken(tctx, "fam-reuse", "rt-0")
			if !tt.wantReplay {
				var reuse *storage.ReuseError
				if !errors.As(err, &reuse) {
					t.Fatalf("rotating the spent parent: %v, want *storage.ReuseError", err)
				}
				if reuse.FamilyID != "fam-reuse" {
					t.Errorf("ReuseError.FamilyID = %q, want fam-reuse", reuse.FamilyID)
				}
				checkErr(t, "ReuseError unwraps", err, fosite.ErrInactiveToken)
				if err := f.s.Rollback(tctx); err != nil {
					t.Fatal(err)
				}
				// The store only reports reuse (revoking is the caller's) and
				// the rolled-back attempt changed nothing.
				if tt.useSuccessor {
					f.refreshState(t, "rt-2", nil)
				} else {
					f.refreshState(t, "rt-1", nil)
				}
				return
			}
			if err != nil {
				t.Fatalf("grace replay rotation: %v", err)
			}
			if err := f.s.CreateAccessTokenSession(tctx, "at-replay", r); err != nil {
				t.Fatal(err)
			}
			// The successor exists already: storing it again is a no-op.
			if err := f.s.CreateRefreshTokenSession(tctx, "rt-1", "at-replay", r); err != nil {
				t.Fatalf("storing the successor again: %v", err)
			}
			if err := f.s.Commit(tctx); err != nil {
				t.Fatal(err)
			}
			f.refreshState(t, "rt-1", nil)
			f.accessState(t, "at-replay", nil)
			f.refreshState(t, "rt-0", fosite.ErrInactiveToken)
		})
	}
}

func testRevokeRefreshToken(t *testing.T, f *fixture) {
	ctx := storage.WithRevocationReason(context.Background(), "test_reason")
	r := f.request("fam-1", subject)
	f.issue(t, r, "at-0", "rt-0")
	if err := Rotate(context.Background(), f.s, r, "rt-0", "at-1", "rt-1"); err != nil {
		t.Fatal(err)
	}
	f.issue(t, f.request("fam-2", subject), "other-at", "other-rt")

	// fosite's revocation handler calls both with the request ID.
	if err := f.s.RevokeRefreshToken(ctx, "fam-1"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.RevokeAccessToken(ctx, "fam-1"); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []string{"rt-0", "rt-1"} {
		f.refreshState(t, sig, fosite.ErrInactiveToken)
	}
	for _, sig := range []string{"at-0", "at-1"} {
		f.accessState(t, sig, fosite.ErrInactiveToken)
	}
	// Presenting a revoked family's token in a refresh is no grace replay.
	_, err := f.s.GetRefreshTokenSession(refreshCtx(f.client), "rt-1", &openid.DefaultSession{})
	checkErr(t, "refresh of a revoked family", err, fosite.ErrInactiveToken)
	f.refreshState(t, "other-rt", nil)
	f.accessState(t, "other-at", nil)
	fam := f.family(t, subject, "fam-1")
	if fam.RevokedAt == nil || fam.RevokedReason != "test_reason" {
		t.Errorf("family revoked at %v for %q, want revoked for test_reason", fam.RevokedAt, fam.RevokedReason)
	}
	if err := f.s.RevokeRefreshToken(context.Background(), "no-such-family"); err != nil {
		t.Errorf("revoking an unknown family: %v", err)
	}
}

func testRevokeFamily(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.issue(t, f.request("fam-1", subject), "at-1", "rt-1")
	f.issue(t, f.request("fam-2", subject), "at-2", "rt-2")
	tests := []struct {
		name      string
		id        string
		wantFound bool
	}{
		{name: "existing family", id: "fam-1", wantFound: true},
		{name: "revoked again", id: "fam-1", wantFound: true},
		{name: "unknown family", id: "no-such-family", wantFound: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			found, err := f.s.RevokeFamily(ctx, tt.id, "admin_revoked")
			if err != nil || found != tt.wantFound {
				t.Errorf("RevokeFamily(%s) = %v, %v; want %v", tt.id, found, err, tt.wantFound)
			}
		})
	}
	f.refreshState(t, "rt-1", fosite.ErrInactiveToken)
	f.accessState(t, "at-1", fosite.ErrInactiveToken)
	f.refreshState(t, "rt-2", nil)
	f.accessState(t, "at-2", nil)
	if fam := f.family(t, subject, "fam-1"); fam.RevokedAt == nil || fam.RevokedReason != "admin_revoked" {
		t.Errorf("family revoked at %v for %q, want admin_revoked", fam.RevokedAt, fam.RevokedReason)
	}
}

func testRevokeSubjectFamilies(t *testing.T, f *fixture) {
	ctx := context.Background()
	f.issue(t, f.request("a-1", "alice"), "at-a1", "rt-a1")
	f.issue(t, f.request("a-2", "alice"), "at-a2", "rt-a2")
	f.issue(t, f.request("b-1", "bob"), "at-b1", "rt-b1")
	tests := []struct {
		name    string
		subject string
		want    int
	}{
		{name: "every live family of the subject", subject: "alice", want: 2},
		{name: "nothing live left", subject: "alice", want: 0},
		{name: "unknown subject", subject: "nobody", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := f.s.RevokeSubjectFamilies(ctx, tt.subject, "logout_all")
			if err != nil || n != tt.want {
				t.Errorf("RevokeSubjectFamilies(%s) = %d, %v; want %d", tt.subject, n, err, tt.want)
			}
		})
	}
	for _, sig := range []string{"a1", "a2"} {
		f.refreshState(t, "rt-"+sig, fosite.ErrInactiveToken)
		f.accessState(t, "at-"+sig, fosite.ErrInactiveToken)
	}
	f.refreshState(t, "rt-b1", nil)
	f.accessState(t, "at-b1", nil)
}

func testFamilies(t *testing.T, f *fixture) {
	ctx := context.Background()
	t0 := f.clock.Now()
	r1 := f.request("fam-1", subject)
	f.issue(t, r1, "at-1", "rt-1")
	f.clock.Add(time.Minute)
	f.issue(t, f.request("fam-2", subject), "at-2", "rt-2")
	f.clock.Add(time.Minute)
	if err := Rotate(ctx, f.s, r1, "rt-1", "at-1b", "rt-1b"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		subject    string
		idle       time.Duration
		wantIDs    []string
		wantExpiry []time.Time // per listed family
	}{
		{name: "newest first, idle deadline from last refresh", subject: subject, idle: time.Hour,
			wantIDs: []string{"fam-2", "fam-1"}, wantExpiry: []time.Time{t0.Add(time.Minute + time.Hour), t0.Add(2*time.Minute + time.Hour)}},
		{name: "idle deadline capped by the absolute lifetime", subject: subject, idle: 100 * time.Hour,
			wantIDs: []string{"fam-2", "fam-1"}, wantExpiry: []time.Time{t0.Add(time.Minute + 48*time.Hour), t0.Add(48 * time.Hour)}},
		{name: "unknown subject", subject: "nobody", idle: time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fams, err := f.s.Families(ctx, tt.subject, tt.idle)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, fam := range fams {
				ids = append(ids, fam.ID)
			}
			if !slices.Equal(ids, tt.wantIDs) {
				t.Fatalf("families %v, want %v", ids, tt.wantIDs)
			}
			for i, fam := range fams {
				if !fam.ExpiresAt.Equal(tt.wantExpiry[i]) {
					t.Errorf("%s expires at %v, want %v", fam.ID, fam.ExpiresAt, tt.wantExpiry[i])
				}
				if fam.Subject != subject || fam.ClientID != appClient || fam.RevokedAt != nil {
					t.Errorf("%s = %+v", fam.ID, fam)
				}
			}
		})
	}
	fam := f.family(t, subject, "fam-1")
	if !fam.CreatedAt.Equal(t0) || !fam.AbsoluteLimit.Equal(t0.Add(48*time.Hour)) || !fam.LastRefreshedAt.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("fam-1 created %v, limit %v, last refreshed %v; want %v, %v, %v",
			fam.CreatedAt, fam.AbsoluteLimit, fam.LastRefreshedAt, t0, t0.Add(48*time.Hour), t0.Add(2*time.Minute))
	}
}

func testAbsoluteLifetime(t *testing.T, newStore NewStoreFunc) {
	tests := []struct {
		name       string
		refreshTTL time.Duration // the session's own (sliding) refresh expiry
		want       time.Duration // expected expiry after GetRefreshTokenSession
	}{
		{name: "sliding expiry beyond the family's is capped", refreshTTL: 24 * time.Hour, want: time.Hour},
		{name: "sliding expiry within the family's is kept", refreshTTL: 30 * time.Minute, want: 30 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, newStore, storage.Options{SessionMaxTTL: time.Hour})
			t0 := f.clock.Now()
			r := f.request("fam-abs", subject)
			r.Session.SetExpiresAt(fosite.RefreshToken, t0.Add(tt.refreshTTL))
			f.issue(t, r, "at-1", "rt-1")
			got, err := f.s.GetRefreshTokenSession(context.Background(), "rt-1", &openid.DefaultSession{})
			if err != nil {
				t.Fatal(err)
			}
			if exp := got.GetSession().GetExpiresAt(fosite.RefreshToken); !exp.Equal(t0.Add(tt.want)) {
				t.Errorf("refresh expiry %v, want %v", exp, t0.Add(tt.want))
			}
		})
	}
}
