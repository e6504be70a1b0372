package storagetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/rotorauth/rotor/storage"
)

// Clients, users, browser and BFF sessions, consents.

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
	wantLive := func(what, sid string, want bool) {
		t.Helper()
		live, err := f.s.BrowserSessionLive(ctx, sid)
		if err != nil || live != want {
			t.Errorf("BrowserSessionLive(%s) = %v, %v; want %v", what, live, err, want)
		}
	}
	wantLive("a live session", "sid-1", true)
	wantLive("an unknown sid", "sid-unknown", false)
	f.clock.Add(time.Hour + time.Second)
	_, err = f.s.BrowserSessionByCookie(ctx, "cookie-1")
	checkErr(t, "expired session", err, fosite.ErrNotFound)
	wantLive("an expired session", "sid-1", false)
}

func testEndBrowserSession(t *testing.T, f *fixture) {
	ctx := context.Background()
	now := f.clock.Now()
	for _, c := range []struct{ cookie, sid string }{{"cookie-1", "sid-1"}, {"cookie-2", "sid-2"}} {
		if err := f.s.CreateBrowserSession(ctx, c.cookie, storage.BrowserSession{SID: c.sid, UserID: subject, AuthTime: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	online := func(r *fosite.Request) *fosite.Request {
		r.RequestedScope, r.GrantedScope = fosite.Arguments{"openid"}, fosite.Arguments{"openid"}
		return r
	}
	f.issue(t, online(withSID(f.request("fam-1", subject), "sid-1")), "at-1", "rt-1")
	f.issue(t, online(withSID(f.request("fam-2", subject), "sid-1")), "at-2", "rt-2")
	f.issue(t, online(withSID(f.request("fam-3", subject), "sid-2")), "at-3", "rt-3")
	f.issue(t, online(f.request("fam-4", subject)), "at-4", "rt-4") // password grant: no sid
	// offline_access outlives the browser session (OIDC Core §11).
	f.issue(t, withSID(f.request("fam-5", subject), "sid-1"), "at-5", "rt-5")

	tests := []struct {
		name string
		sid  string
		want int
	}{
		{name: "ends the session and its families but the offline_access one", sid: "sid-1", want: 2},
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
	for sid, want := range map[string]bool{"sid-1": false, "sid-2": true} {
		if live, err := f.s.BrowserSessionLive(ctx, sid); err != nil || live != want {
			t.Errorf("BrowserSessionLive(%s) after ending sid-1 = %v, %v; want %v", sid, live, err, want)
		}
	}
	for _, n := range []string{"1", "2"} {
		f.refreshState(t, "rt-"+n, fosite.ErrInactiveToken)
		f.accessState(t, "at-"+n, fosite.ErrInactiveToken)
		if fam := f.family(t, subject, "fam-"+n); fam.RevokedReason != "logout" {
			t.Errorf("fam-%s revoked for %q, want logout", n, fam.RevokedReason)
		}
	}
	for _, n := range []string{"3", "4", "5"} {
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
