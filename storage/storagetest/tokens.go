package storagetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/rotorauth/rotor/storage"
)

// The fosite-facing token storage: access and refresh tokens, codes, PKCE
// and OpenID Connect requests, transactions and rotation.

func testAccessTokens(t *testing.T, f *fixture) {
	ctx := context.Background()
	r := f.request("fam-a", subject)
	if err := f.s.CreateAccessTokenSession(ctx, "at-1", r); err != nil {
		t.Fatal(err)
	}
	err := f.s.CreateAccessTokenSession(ctx, "at-1", r)
	checkErr(t, "duplicate access token", err, storage.ErrConflict)
	got, err := f.s.GetAccessTokenSession(ctx, "at-1", &openid.DefaultSession{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetID() != "fam-a" || got.GetClient().GetID() != appClient || got.GetSession().GetSubject() != subject {
		t.Errorf("got request %s of client %s for %s, want fam-a of %s for %s",
			got.GetID(), got.GetClient().GetID(), got.GetSession().GetSubject(), appClient, subject)
	}
	if !slices.Equal(got.GetGrantedScopes(), r.GetGrantedScopes()) {
		t.Errorf("granted scopes %v, want %v", got.GetGrantedScopes(), r.GetGrantedScopes())
	}
	if exp := got.GetSession().GetExpiresAt(fosite.AccessToken); !exp.Equal(r.GetSession().GetExpiresAt(fosite.AccessToken)) {
		t.Errorf("expires at %v, want %v", exp, r.GetSession().GetExpiresAt(fosite.AccessToken))
	}
	if err := f.s.DeleteAccessTokenSession(ctx, "at-1"); err != nil {
		t.Fatal(err)
	}
	f.accessState(t, "at-1", fosite.ErrInactiveToken)
	f.accessState(t, "no-such-token", fosite.ErrNotFound)
}

func testRefreshTokens(t *testing.T, f *fixture) {
	ctx := context.Background()
	r := f.request("fam-r", subject)
	f.issue(t, r, "at-1", "rt-1")
	got, err := f.s.GetRefreshTokenSession(ctx, "rt-1", &openid.DefaultSession{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetID() != "fam-r" || got.GetSession().GetSubject() != subject {
		t.Errorf("got request %s for %s, want fam-r for %s", got.GetID(), got.GetSession().GetSubject(), subject)
	}
	// The first refresh token opens the family.
	if fam := f.family(t, subject, "fam-r"); fam.ClientID != appClient || fam.RevokedAt != nil {
		t.Errorf("family = %+v, want a live family of %s", fam, appClient)
	}
	if err := f.s.DeleteRefreshTokenSession(ctx, "rt-1"); err != nil {
		t.Fatal(err)
	}
	f.refreshState(t, "rt-1", fosite.ErrInactiveToken)
	f.refreshState(t, "no-such-token", fosite.ErrNotFound)
}

func testAuthorizeCodes(t *testing.T, f *fixture) {
	ctx := context.Background()
	r := f.request("fam-c", subject)
	if err := f.s.CreateAuthorizeCodeSession(ctx, "code-1", r); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.GetAuthorizeCodeSession(ctx, "code-1", &openid.DefaultSession{})
	if err != nil || got.GetID() != "fam-c" {
		t.Fatalf("get code: %v, %v", got, err)
	}
	if err := f.s.InvalidateAuthorizeCodeSession(ctx, "code-1"); err != nil {
		t.Fatalf("first invalidation: %v", err)
	}
	got, err = f.s.GetAuthorizeCodeSession(ctx, "code-1", &openid.DefaultSession{})
	checkErr(t, "get invalidated code", err, fosite.ErrInvalidatedAuthorizeCode)
	// fosite needs the request to revoke what the code issued.
	if got == nil || got.GetID() != "fam-c" {
		t.Errorf("invalidated code returned request %v, want fam-c", got)
	}
	err = f.s.InvalidateAuthorizeCodeSession(ctx, "code-1")
	checkErr(t, "second invalidation", err, fosite.ErrInvalidatedAuthorizeCode)
	_, err = f.s.GetAuthorizeCodeSession(ctx, "no-such-code", &openid.DefaultSession{})
	checkErr(t, "unknown code", err, fosite.ErrNotFound)
}

func testPKCERequests(t *testing.T, f *fixture) {
	ctx := context.Background()
	r := f.request("fam-p", subject)
	r.Form.Set("code_challenge", "challenge")
	if err := f.s.CreatePKCERequestSession(ctx, "code-1", r); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.GetPKCERequestSession(ctx, "code-1", &openid.DefaultSession{})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetRequestForm().Get("code_challenge") != "challenge" {
		t.Errorf("code_challenge = %q, want challenge", got.GetRequestForm().Get("code_challenge"))
	}
	if err := f.s.DeletePKCERequestSession(ctx, "code-1"); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.GetPKCERequestSession(ctx, "code-1", &openid.DefaultSession{})
	checkErr(t, "deleted pkce request", err, fosite.ErrNotFound)
}

func testOIDCRequests(t *testing.T, f *fixture) {
	ctx := context.Background()
	r := f.request("fam-o", subject)
	r.Form.Set("nonce", "nonce-1")
	if err := f.s.CreateOpenIDConnectSession(ctx, "code-1", r); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.GetOpenIDConnectSession(ctx, "code-1", f.request("fam-o", subject))
	if err != nil {
		t.Fatal(err)
	}
	if got.GetRequestForm().Get("nonce") != "nonce-1" || got.GetSession().GetSubject() != subject {
		t.Errorf("got nonce %q subject %q", got.GetRequestForm().Get("nonce"), got.GetSession().GetSubject())
	}
	if err := f.s.DeleteOpenIDConnectSession(ctx, "code-1"); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.GetOpenIDConnectSession(ctx, "code-1", f.request("fam-o", subject))
	checkErr(t, "deleted oidc request", err, fosite.ErrNotFound)
}

func testRollback(t *testing.T, f *fixture) {
	r := f.request("fam-tx", subject)
	tctx, err := f.s.BeginTX(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.s.CreateAccessTokenSession(tctx, "at-1", r); err != nil {
		t.Fatal(err)
	}
	if err := f.s.CreateRefreshTokenSession(tctx, "rt-1", "at-1", r); err != nil {
		t.Fatal(err)
	}
	// Reads in the transaction see its writes.
	if _, err := f.s.GetAccessTokenSession(tctx, "at-1", &openid.DefaultSession{}); err != nil {
		t.Errorf("read inside the transaction: %v", err)
	}
	if err := f.s.Rollback(tctx); err != nil {
		t.Fatal(err)
	}
	f.accessState(t, "at-1", fosite.ErrNotFound)
	f.refreshState(t, "rt-1", fosite.ErrNotFound)
}

func testRotate(t *testing.T, f *fixture) {
	r := f.request("fam-rot", subject)
	f.issue(t, r, "at-0", "rt-0")
	f.clock.Add(time.Minute)
	if err := Rotate(context.Background(), f.s, r, "rt-0", "at-1", "rt-1"); err != nil {
		t.Fatalf("rotate: %v", err)
	}
	f.refreshState(t, "rt-0", fosite.ErrInactiveToken)
	f.refreshState(t, "rt-1", nil)
	f.accessState(t, "at-0", fosite.ErrInactiveToken) // retired with its refresh token
	f.accessState(t, "at-1", nil)
	if fam := f.family(t, subject, "fam-rot"); !fam.LastRefreshedAt.Equal(f.clock.Now()) || fam.RevokedAt != nil {
		t.Errorf("family last refreshed %v (revoked %v), want %v and live", fam.LastRefreshedAt, fam.RevokedAt, f.clock.Now())
	}
	// The successor rotates in turn.
	err := Rotate(context.Background(), f.s, r, "rt-1", "at-2", "rt-2")
	checkErr(t, "rotate the successor", err, nil)
	f.refreshState(t, "rt-1", fosite.ErrInactiveToken)
	f.refreshState(t, "rt-2", nil)
}
