// Package storagetest is a conformance suite for rotor's storage.Store, in
// the style of Dex's storage/conformance: every backend (SQLite, PostgreSQL)
// runs the same cases through the fosite-facing API, so both behave alike.
//
// A backend's test file is a few lines:
//
//	storagetest.RunTests(t, func(t *testing.T, opts storage.Options) *storage.Store {
//		return storagetest.OpenStore(t, freshDSN(t), opts)
//	})
package storagetest

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"

	"rotor/storage"
)

// Clock is a settable clock for storage.Options.Now.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at the current second.
func NewClock() *Clock { return &Clock{now: time.Now().UTC().Truncate(time.Second)} }

// Now implements storage.Options.Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock forward by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// CheapHasher is an argon2id hasher fast enough for tests.
func CheapHasher() *storage.PasswordHasher { return storage.NewPasswordHasher(64, 1, 1) }

// OpenStore opens dsn, applies the migrations and closes the store when t
// ends.
func OpenStore(t testing.TB, dsn string, opts storage.Options) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return s
}

// NewStoreFunc returns an open, migrated store on a fresh database, closed
// when t ends.
type NewStoreFunc func(t *testing.T, opts storage.Options) *storage.Store

// Client IDs registered in every fixture.
const (
	appClient   = "app"
	otherClient = "other"
	subject     = "user-1"
)

// fixture is one case's store, clock and registered clients.
type fixture struct {
	s      *storage.Store
	clock  *Clock
	client fosite.Client
	other  fosite.Client
}

func setup(t *testing.T, newStore NewStoreFunc, opts storage.Options) *fixture {
	t.Helper()
	clock := NewClock()
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	if opts.Hasher == nil {
		opts.Hasher = CheapHasher()
	}
	s := newStore(t, opts)
	ctx := context.Background()
	f := &fixture{s: s, clock: clock}
	for _, id := range []string{appClient, otherClient} {
		err := s.CreateClient(ctx, storage.NewClient{ID: id, Public: true, TokenEndpointAuthMethod: "none",
			GrantTypes: []string{"authorization_code", "password", "refresh_token"}, ResponseTypes: []string{"code"},
			RedirectURIs: []string{"https://" + id + ".example/cb"}, Scopes: []string{"openid", "offline_access"}})
		if err != nil {
			t.Fatalf("create client %s: %v", id, err)
		}
	}
	var err error
	if f.client, err = s.GetClient(ctx, appClient); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.client.(*storage.Client); !ok {
		t.Fatalf("GetClient returned %T, want *storage.Client", f.client)
	}
	if f.other, err = s.GetClient(ctx, otherClient); err != nil {
		t.Fatal(err)
	}
	return f
}

// request is a fosite request of family id for sub, with tokens expiring
// at the usual offsets from the fixture's clock.
func (f *fixture) request(id, sub string) *fosite.Request {
	now := f.clock.Now()
	sess := &openid.DefaultSession{
		Subject: sub,
		Claims:  &jwt.IDTokenClaims{Subject: sub, Extra: map[string]any{}},
		Headers: &jwt.Headers{},
	}
	sess.SetExpiresAt(fosite.AccessToken, now.Add(10*time.Minute))
	sess.SetExpiresAt(fosite.RefreshToken, now.Add(24*time.Hour))
	sess.SetExpiresAt(fosite.AuthorizeCode, now.Add(10*time.Minute))
	return &fosite.Request{
		ID: id, RequestedAt: now, Client: f.client, Session: sess, Form: url.Values{},
		RequestedScope: fosite.Arguments{"openid", "offline_access"}, GrantedScope: fosite.Arguments{"openid", "offline_access"},
	}
}

// withSID sets the browser session ("sid") behind a request.
func withSID(r *fosite.Request, sid string) *fosite.Request {
	r.Session.(*openid.DefaultSession).Claims.Extra["sid"] = sid
	return r
}

// issue stores a first access and refresh token for r, outside any
// transaction, as a password or code grant does.
func (f *fixture) issue(t *testing.T, r *fosite.Request, at, rt string) {
	t.Helper()
	ctx := context.Background()
	if err := f.s.CreateAccessTokenSession(ctx, at, r); err != nil {
		t.Fatalf("create access token %s: %v", at, err)
	}
	if err := f.s.CreateRefreshTokenSession(ctx, rt, at, r); err != nil {
		t.Fatalf("create refresh token %s: %v", rt, err)
	}
}

// Rotate runs the storage half of one refresh the way fosite does: in a
// transaction, rotate parent, store the new access token and the successor
// refresh token, commit; on any error, roll back.
func Rotate(ctx context.Context, s *storage.Store, r fosite.Requester, parent, at, successor string) (err error) {
	tctx, err := s.BeginTX(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			if rerr := s.Rollback(tctx); rerr != nil {
				err = errors.Join(err, rerr)
			}
		}
	}()
	if err := s.RotateRefreshToken(tctx, r.GetID(), parent); err != nil {
		return err
	}
	if err := s.CreateAccessTokenSession(tctx, at, r); err != nil {
		return err
	}
	if err := s.CreateRefreshTokenSession(tctx, successor, at, r); err != nil {
		return err
	}
	return s.Commit(tctx)
}

// refreshCtx is the context fosite's refresh grant runs storage calls in:
// it carries the access request of client.
func refreshCtx(client fosite.Client) context.Context {
	ar := fosite.NewAccessRequest(&openid.DefaultSession{})
	ar.GrantTypes = fosite.Arguments{"refresh_token"}
	ar.Client = client
	return context.WithValue(context.Background(), fosite.AccessRequestContextKey, ar)
}

// checkErr fails unless err matches want (nil: no error).
func checkErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: unexpected error %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

// tokenState checks the access (or refresh) token sig against want:
// nil (active), fosite.ErrInactiveToken or fosite.ErrNotFound.
func (f *fixture) accessState(t *testing.T, sig string, want error) {
	t.Helper()
	_, err := f.s.GetAccessTokenSession(context.Background(), sig, &openid.DefaultSession{})
	checkErr(t, "access token "+sig, err, want)
}

func (f *fixture) refreshState(t *testing.T, sig string, want error) {
	t.Helper()
	_, err := f.s.GetRefreshTokenSession(context.Background(), sig, &openid.DefaultSession{})
	checkErr(t, "refresh token "+sig, err, want)
}

// family returns the listed family id of sub.
func (f *fixture) family(t *testing.T, sub, id string) storage.Family {
	t.Helper()
	fams, err := f.s.Families(context.Background(), sub, time.Hour)
	if err != nil {
		t.Fatalf("families of %s: %v", sub, err)
	}
	for _, fam := range fams {
		if fam.ID == id {
			return fam
		}
	}
	t.Fatalf("family %s of %s not listed (got %d families)", id, sub, len(fams))
	return storage.Family{}
}

// RunTests runs the conformance cases, each on a fresh store from newStore.
func RunTests(t *testing.T, newStore NewStoreFunc) {
	tests := []struct {
		name string
		opts storage.Options
		run  func(t *testing.T, f *fixture)
	}{
		{name: "AccessTokens", run: testAccessTokens},
		{name: "RefreshTokens", run: testRefreshTokens},
		{name: "AuthorizeCodes", run: testAuthorizeCodes},
		{name: "PKCERequests", run: testPKCERequests},
		{name: "OpenIDConnectRequests", run: testOIDCRequests},
		{name: "TransactionRollback", run: testRollback},
		{name: "RotateInTransaction", opts: storage.Options{RefreshReuseGrace: 10 * time.Second}, run: testRotate},
		{name: "RevokeRefreshTokenRevokesFamily", run: testRevokeRefreshToken},
		{name: "RevokeFamily", run: testRevokeFamily},
		{name: "RevokeSubjectFamilies", run: testRevokeSubjectFamilies},
		{name: "Families", opts: storage.Options{SessionMaxTTL: 48 * time.Hour}, run: testFamilies},
		{name: "Clients", run: testClients},
		{name: "Users", run: testUsers},
		{name: "BrowserSessions", run: testBrowserSessions},
		{name: "EndBrowserSessionRevokesFamilies", run: testEndBrowserSession},
		{name: "Consents", run: testConsents},
		{name: "BFFSessions", run: testBFFSessions},
		{name: "GC", run: testGC},
		{name: "MigrateIdempotent", run: testMigrate},
	}
	// Every case has a database of its own, so they run in parallel
	// (creating a PostgreSQL database is the slow part).
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, setup(t, newStore, tt.opts))
		})
	}
	t.Run("RefreshReuse", func(t *testing.T) {
		t.Parallel()
		testRefreshReuse(t, newStore)
	})
	t.Run("AbsoluteLifetime", func(t *testing.T) {
		t.Parallel()
		testAbsoluteLifetime(t, newStore)
	})
}

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

func testClients(t *testing.T, f *fixture) {
	ctx := context.Background()
	web := storage.NewClient{
		ID: "web", Name: "Web", SecretHash: []byte("secret-hash"), FirstParty: true, PKCEOptional: true,
		TokenEndpointAuthMethod: "client_secret_basic",
		GrantTypes:              []string{"authorization_code", "refresh_token"}, ResponseTypes: []string{"code"},
		RedirectURIs: []string{"https://web.example/cb"}, PostLogoutRedirectURIs: []string{"https://web.example/"},
		Scopes: []string{"openid", "email"}, Audience: []string{"api"},
	}
	if err := f.s.CreateClient(ctx, web); err != nil {
		t.Fatal(err)
	}
	c, err := f.s.Client(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if c.GetID() != "web" || c.Name != "Web" || !c.FirstParty || !c.PKCEOptional || c.IsPublic() ||
		string(c.GetHashedSecret()) != "secret-hash" || c.GetTokenEndpointAuthMethod() != "client_secret_basic" ||
		!slices.Equal(c.GetRedirectURIs(), web.RedirectURIs) || !slices.Equal(c.PostLogoutRedirectURIs, web.PostLogoutRedirectURIs) ||
		!slices.Equal(c.GetGrantTypes(), web.GrantTypes) || !slices.Equal(c.GetScopes(), web.Scopes) ||
		!slices.Equal(c.GetAudience(), web.Audience) || !slices.Equal(c.GetResponseTypes(), web.ResponseTypes) {
		t.Errorf("client = %+v / %+v", c, c.DefaultClient)
	}

	updated := web
	updated.RedirectURIs = []string{"https://web.example/new"}
	updated.SecretHash = []byte("new-hash")
	tests := []struct {
		name    string
		op      func() error
		want    error // nil, or a sentinel the error must match
		wantAny bool  // some error, not ErrConflict
	}{
		{name: "create duplicate", op: func() error { return f.s.CreateClient(ctx, web) }, want: storage.ErrConflict},
		{name: "create with a space in a list", op: func() error {
			return f.s.CreateClient(ctx, storage.NewClient{ID: "bad", TokenEndpointAuthMethod: "none", Public: true, Scopes: []string{"a b"}})
		}, wantAny: true},
		{name: "ensure updates existing", op: func() error { return f.s.EnsureClient(ctx, updated) }},
		{name: "ensure creates missing", op: func() error {
			n := web
			n.ID = "web-2"
			return f.s.EnsureClient(ctx, n)
		}},
		{name: "get unknown", op: func() error { _, err := f.s.GetClient(ctx, "no-such-client"); return err }, want: fosite.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			if tt.wantAny {
				if err == nil || errors.Is(err, storage.ErrConflict) {
					t.Errorf("error %v, want a validation error", err)
				}
				return
			}
			checkErr(t, tt.name, err, tt.want)
		})
	}
	c, err = f.s.Client(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.GetRedirectURIs(), updated.RedirectURIs) || string(c.GetHashedSecret()) != "new-hash" || !c.CreatedAt.Equal(f.clock.Now()) {
		t.Errorf("after EnsureClient: redirect URIs %v, secret %q, created %v", c.GetRedirectURIs(), c.GetHashedSecret(), c.CreatedAt)
	}
	if _, err := f.s.Client(ctx, "web-2"); err != nil {
		t.Errorf("client created by EnsureClient: %v", err)
	}
}

func testUsers(t *testing.T, f *fixture) {
	ctx := context.Background()
	u, err := f.s.CreateUser(ctx, " Alice@Example.COM ", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if u.Email != "alice@example.com" || u.ID == "" {
		t.Errorf("created user %+v, want normalized email and an ID", u)
	}
	_, err = f.s.CreateUser(ctx, "ALICE@example.com", "other")
	checkErr(t, "duplicate email", err, storage.ErrConflict)
	if got, err := f.s.UserByEmail(ctx, "alice@EXAMPLE.com"); err != nil || got != u {
		t.Errorf("UserByEmail = %+v, %v; want %+v", got, err, u)
	}
	if got, err := f.s.UserByID(ctx, u.ID); err != nil || got != u {
		t.Errorf("UserByID = %+v, %v; want %+v", got, err, u)
	}
	tests := []struct {
		name, email, password string
		want                  error
	}{
		{name: "right password", email: "alice@example.com", password: "correct horse"},
		{name: "email in another case", email: "ALICE@example.com", password: "correct horse"},
		{name: "wrong password", email: "alice@example.com", password: "wrong horse", want: fosite.ErrNotFound},
		{name: "unknown user", email: "bob@example.com", password: "correct horse", want: fosite.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := f.s.Authenticate(ctx, tt.email, tt.password)
			checkErr(t, "authenticate", err, tt.want)
			if tt.want == nil && sub != u.ID {
				t.Errorf("subject %q, want %q", sub, u.ID)
			}
		})
	}
}

func testBrowserSessions(t *testing.T, f *fixture) {
	ctx := context.Background()
	now := f.clock.Now()
	bs := storage.BrowserSession{SID: "sid-1", UserID: "user-1", AuthTime: now, ExpiresAt: now.Add(time.Hour)}
	if err := f.s.CreateBrowserSession(ctx, "cookie-1", bs); err != nil {
		t.Fatal(err)
	}
	err := f.s.CreateBrowserSession(ctx, "cookie-2", bs)
	checkErr(t, "second session with the same sid", err, storage.ErrConflict)
	got, err := f.s.BrowserSessionByCookie(ctx, "cookie-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.SID != bs.SID || got.UserID != bs.UserID || !got.AuthTime.Equal(bs.AuthTime) || !got.ExpiresAt.Equal(bs.ExpiresAt) {
		t.Errorf("session = %+v, want %+v", got, bs)
	}
	_, err = f.s.BrowserSessionByCookie(ctx, "unknown-cookie")
	checkErr(t, "unknown cookie", err, fosite.ErrNotFound)
	f.clock.Add(time.Hour + time.Second)
	_, err = f.s.BrowserSessionByCookie(ctx, "cookie-1")
	checkErr(t, "expired session", err, fosite.ErrNotFound)
}

func testEndBrowserSession(t *testing.T, f *fixture) {
	ctx := context.Background()
	now := f.clock.Now()
	for _, c := range []struct{ cookie, sid string }{{"cookie-1", "sid-1"}, {"cookie-2", "sid-2"}} {
		if err := f.s.CreateBrowserSession(ctx, c.cookie, storage.BrowserSession{SID: c.sid, UserID: subject, AuthTime: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	f.issue(t, withSID(f.request("fam-1", subject), "sid-1"), "at-1", "rt-1")
	f.issue(t, withSID(f.request("fam-2", subject), "sid-1"), "at-2", "rt-2")
	f.issue(t, withSID(f.request("fam-3", subject), "sid-2"), "at-3", "rt-3")
	f.issue(t, f.request("fam-4", subject), "at-4", "rt-4") // password grant: no sid

	tests := []struct {
		name string
		sid  string
		want int
	}{
		{name: "ends the session and its families", sid: "sid-1", want: 2},
		{name: "ending again revokes nothing", sid: "sid-1", want: 0},
		{name: "unknown sid", sid: "no-such-sid", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := f.s.EndBrowserSession(ctx, tt.sid, "logout")
			if err != nil || n != tt.want {
				t.Errorf("EndBrowserSession(%s) = %d, %v; want %d", tt.sid, n, err, tt.want)
			}
		})
	}
	_, err := f.s.BrowserSessionByCookie(ctx, "cookie-1")
	checkErr(t, "ended session", err, fosite.ErrNotFound)
	if _, err := f.s.BrowserSessionByCookie(ctx, "cookie-2"); err != nil {
		t.Errorf("other session: %v", err)
	}
	for _, n := range []string{"1", "2"} {
		f.refreshState(t, "rt-"+n, fosite.ErrInactiveToken)
		f.accessState(t, "at-"+n, fosite.ErrInactiveToken)
		if fam := f.family(t, subject, "fam-"+n); fam.RevokedReason != "logout" {
			t.Errorf("fam-%s revoked for %q, want logout", n, fam.RevokedReason)
		}
	}
	for _, n := range []string{"3", "4"} {
		f.refreshState(t, "rt-"+n, nil)
		f.accessState(t, "at-"+n, nil)
	}
}

func testConsents(t *testing.T, f *fixture) {
	ctx := context.Background()
	_, err := f.s.GrantedScopes(ctx, subject, appClient)
	checkErr(t, "no consent yet", err, fosite.ErrNotFound)
	steps := []struct {
		name   string
		client string
		grant  []string
		want   []string
	}{
		{name: "first grant", client: appClient, grant: []string{"openid", "email"}, want: []string{"openid", "email"}},
		{name: "later grant adds", client: appClient, grant: []string{"email", "profile"}, want: []string{"openid", "email", "profile"}},
		{name: "other client is separate", client: otherClient, grant: []string{"openid"}, want: []string{"openid"}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := f.s.GrantScopes(ctx, subject, st.client, st.grant); err != nil {
				t.Fatal(err)
			}
			got, err := f.s.GrantedScopes(ctx, subject, st.client)
			if err != nil || !slices.Equal(got, st.want) {
				t.Errorf("GrantedScopes = %v, %v; want %v", got, err, st.want)
			}
		})
	}
}

func testBFFSessions(t *testing.T, f *fixture) {
	ctx := context.Background()
	now := f.clock.Now()
	bs := storage.BFFSession{Subject: subject, Email: "a@example.com", SealedTokens: []byte("sealed-1"),
		AccessIssuedAt: now, AccessExpiresAt: now.Add(10 * time.Minute), ExpiresAt: now.Add(time.Hour)}
	if err := f.s.CreateBFFSession(ctx, "cookie-1", bs); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.BFFSessionByCookie(ctx, "cookie-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.IDHash != storage.BFFSessionKey("cookie-1") || got.Subject != subject || got.Email != bs.Email ||
		string(got.SealedTokens) != "sealed-1" || !got.AccessExpiresAt.Equal(bs.AccessExpiresAt) || !got.ExpiresAt.Equal(bs.ExpiresAt) {
		t.Errorf("session = %+v", got)
	}
	if err := f.s.UpdateBFFTokens(ctx, got.IDHash, []byte("sealed-2"), now.Add(time.Minute), now.Add(11*time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err = f.s.BFFSessionByCookie(ctx, "cookie-1")
	if err != nil || string(got.SealedTokens) != "sealed-2" || !got.AccessIssuedAt.Equal(now.Add(time.Minute)) || !got.AccessExpiresAt.Equal(now.Add(11*time.Minute)) {
		t.Errorf("after update: %+v, %v", got, err)
	}
	_, err = f.s.BFFSessionByCookie(ctx, "unknown-cookie")
	checkErr(t, "unknown cookie", err, fosite.ErrNotFound)
	if err := f.s.DeleteBFFSession(ctx, got.IDHash); err != nil {
		t.Fatal(err)
	}
	_, err = f.s.BFFSessionByCookie(ctx, "cookie-1")
	checkErr(t, "deleted session", err, fosite.ErrNotFound)

	if err := f.s.CreateBFFSession(ctx, "cookie-2", bs); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Hour + time.Second)
	_, err = f.s.BFFSessionByCookie(ctx, "cookie-2")
	checkErr(t, "expired session", err, fosite.ErrNotFound)
}

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
