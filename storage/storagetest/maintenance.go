package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/rotorauth/rotor/storage"
)

// Garbage collection and migrations.

func testGC(t *testing.T, f *fixture) {
	ctx := context.Background()
	t0 := f.clock.Now()
	const keep = time.Hour
	// Everything "old" expires at t0+1h; the clock then moves to t0+3h, so
	// old rows are past their expiry and past keep; live rows expire at
	// t0+24h.
	old := func(id string) *fosite.Request {
		r := f.request(id, subject)
		for _, tt := range []fosite.TokenType{fosite.AccessToken, fosite.RefreshToken, fosite.AuthorizeCode} {
			r.Session.SetExpiresAt(tt, t0.Add(time.Hour))
		}
		return r
	}
	live := func(id string) *fosite.Request {
		r := f.request(id, subject)
		for _, tt := range []fosite.TokenType{fosite.AccessToken, fosite.RefreshToken, fosite.AuthorizeCode} {
			r.Session.SetExpiresAt(tt, t0.Add(24*time.Hour))
		}
		return r
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.s.CreateAccessTokenSession(ctx, "at-expired", old("acc-1")))
	must(f.s.CreateAccessTokenSession(ctx, "at-revoked", live("acc-2")))
	must(f.s.DeleteAccessTokenSession(ctx, "at-revoked"))
	must(f.s.CreateAccessTokenSession(ctx, "at-live", live("fam-live")))
	must(f.s.CreateRefreshTokenSession(ctx, "rt-old", "", old("fam-old")))
	_, err := f.s.RevokeFamily(ctx, "fam-old", "test")
	must(err)
	must(f.s.CreateRefreshTokenSession(ctx, "rt-live", "at-live", live("fam-live")))
	must(f.s.CreateAuthorizeCodeSession(ctx, "code-old", old("code-1")))
	must(f.s.CreateAuthorizeCodeSession(ctx, "code-live", live("code-2")))
	must(f.s.CreatePKCERequestSession(ctx, "code-old", old("code-1")))
	must(f.s.CreatePKCERequestSession(ctx, "code-live", live("code-2")))
	must(f.s.CreateOpenIDConnectSession(ctx, "code-old", old("code-1")))
	must(f.s.CreateOpenIDConnectSession(ctx, "code-live", live("code-2")))
	for _, b := range []struct {
		cookie, sid string
		exp         time.Duration
	}{{"bs-expired", "sid-expired", time.Hour}, {"bs-ended", "sid-ended", 24 * time.Hour}, {"bs-live", "sid-live", 24 * time.Hour}} {
		must(f.s.CreateBrowserSession(ctx, b.cookie, storage.BrowserSession{SID: b.sid, UserID: subject, AuthTime: t0, ExpiresAt: t0.Add(b.exp)}))
	}
	_, err = f.s.EndBrowserSession(ctx, "sid-ended", "logout")
	must(err)
	for _, b := range []struct {
		cookie string
		exp    time.Duration
	}{{"bff-expired", time.Hour}, {"bff-live", 24 * time.Hour}} {
		must(f.s.CreateBFFSession(ctx, b.cookie, storage.BFFSession{Subject: subject, SealedTokens: []byte("x"),
			AccessIssuedAt: t0, AccessExpiresAt: t0.Add(time.Hour), ExpiresAt: t0.Add(b.exp)}))
	}
	f.clock.Add(3 * time.Hour)

	stats, err := f.s.GC(ctx, keep)
	if err != nil {
		t.Fatal(err)
	}
	want := storage.GCStats{"access_tokens": 2, "refresh_tokens": 1, "authorize_codes": 1, "pkce_requests": 1,
		"oidc_requests": 1, "browser_sessions": 2, "bff_sessions": 1, "token_families": 1}
	for table, n := range want {
		if stats[table] != n {
			t.Errorf("GC deleted %d from %s, want %d", stats[table], table, n)
		}
	}
	// What was deleted is gone; what is live is untouched.
	sess := &openid.DefaultSession{}
	checks := []struct {
		name string
		get  func() error
		want error
	}{
		{"expired access token", func() error { _, err := f.s.GetAccessTokenSession(ctx, "at-expired", sess); return err }, fosite.ErrNotFound},
		{"revoked access token", func() error { _, err := f.s.GetAccessTokenSession(ctx, "at-revoked", sess); return err }, fosite.ErrNotFound},
		{"live access token", func() error { _, err := f.s.GetAccessTokenSession(ctx, "at-live", sess); return err }, nil},
		{"old refresh token", func() error { _, err := f.s.GetRefreshTokenSession(ctx, "rt-old", sess); return err }, fosite.ErrNotFound},
		{"live refresh token", func() error { _, err := f.s.GetRefreshTokenSession(ctx, "rt-live", sess); return err }, nil},
		{"old code", func() error { _, err := f.s.GetAuthorizeCodeSession(ctx, "code-old", sess); return err }, fosite.ErrNotFound},
		{"live code", func() error { _, err := f.s.GetAuthorizeCodeSession(ctx, "code-live", sess); return err }, nil},
		{"old pkce", func() error { _, err := f.s.GetPKCERequestSession(ctx, "code-old", sess); return err }, fosite.ErrNotFound},
		{"live pkce", func() error { _, err := f.s.GetPKCERequestSession(ctx, "code-live", sess); return err }, nil},
		{"old oidc", func() error { _, err := f.s.GetOpenIDConnectSession(ctx, "code-old", live("x")); return err }, fosite.ErrNotFound},
		{"live oidc", func() error { _, err := f.s.GetOpenIDConnectSession(ctx, "code-live", live("x")); return err }, nil},
		{"live browser session", func() error { _, err := f.s.BrowserSessionByCookie(ctx, "bs-live"); return err }, nil},
		{"live bff session", func() error { _, err := f.s.BFFSessionByCookie(ctx, "bff-live"); return err }, nil},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) { checkErr(t, c.name, c.get(), c.want) })
	}
	fams, err := f.s.Families(ctx, subject, time.Hour)
	if err != nil || len(fams) != 1 || fams[0].ID != "fam-live" {
		t.Errorf("families after GC: %+v, %v; want only fam-live", fams, err)
	}
	again, err := f.s.GC(ctx, keep)
	if err != nil {
		t.Fatal(err)
	}
	for table, n := range again {
		if n != 0 {
			t.Errorf("second GC deleted %d from %s, want 0", n, table)
		}
	}
}

func testMigrate(t *testing.T, f *fixture) {
	ctx := context.Background()
	before, err := f.s.SchemaVersion(ctx)
	if err != nil || before < 1 {
		t.Fatalf("schema version %d, %v; want ≥ 1", before, err)
	}
	for i := range 2 {
		applied, err := f.s.Migrate(ctx)
		if err != nil || len(applied) != 0 {
			t.Errorf("migrate run %d on a migrated store applied %v, %v; want nothing", i+2, applied, err)
		}
	}
	if after, err := f.s.SchemaVersion(ctx); err != nil || after != before {
		t.Errorf("schema version %d, %v after re-running migrations; want %d", after, err, before)
	}
}
