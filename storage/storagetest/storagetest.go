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
	"sync"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"

	"github.com/rotorauth/rotor/storage"
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
		{name: "RefreshAsTheGrantDoes", opts: storage.Options{SessionMaxTTL: time.Hour, RefreshReuseGrace: 10 * time.Second}, run: testRefreshAsTheGrantDoes},
		{name: "RevokeRefreshTokenRevokesFamily", run: testRevokeRefreshToken},
		{name: "RevokeFamily", run: testRevokeFamily},
		{name: "RevokeFamilyOfToken", run: testRevokeFamilyOfToken},
		{name: "RevokeSubjectFamilies", run: testRevokeSubjectFamilies},
		{name: "Families", opts: storage.Options{SessionMaxTTL: 48 * time.Hour}, run: testFamilies},
		{name: "Clients", run: testClients},
		{name: "Users", run: testUsers},
		{name: "BrowserSessions", run: testBrowserSessions},
		{name: "EndBrowserSessionRevokesFamilies", run: testEndBrowserSession},
		{name: "Consents", run: testConsents},
		{name: "BFFSessions", run: testBFFSessions},
		{name: "Throttle", run: testThrottle},
		{name: "AuditText", run: testAuditText},
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
