package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/rotorauth/rotor/storage"
)

// carrierSession is a session that takes what storage read about a
// presented refresh token, as the server's session does.
type carrierSession struct {
	openid.DefaultSession
	presented storage.PresentedToken
}

func (s *carrierSession) SetPresentedToken(p storage.PresentedToken) { s.presented = p }
func (s *carrierSession) PresentedToken() storage.PresentedToken     { return s.presented }

// testRefreshAsTheGrantDoes runs refreshes as fosite's refresh grant does:
// read the presented token into the request's session, then rotate with
// that request in the context. The read tells the session the family's
// absolute end and whether the family has live access tokens in rows of
// their own, and wherever an access token is stored, it retires with the
// next rotation: a login's and a grace replay's in rows of their own, a
// rotation's in its refresh token's row, and one that a release before
// migration 2 gave a row of its own although a rotation issued it.
func testRefreshAsTheGrantDoes(t *testing.T, f *fixture) {
	login := f.clock.Now()
	r := f.request("fam-grant", subject)
	f.issue(t, r, "at-0", "rt-0")
	// refresh presents parent as the grant does and reports what the read
	// found; with a successor of "" it stops after the read.
	refresh := func(step, parent, at, successor string) storage.PresentedToken {
		t.Helper()
		f.clock.Add(time.Second)
		sess := &carrierSession{}
		ar := fosite.NewAccessRequest(sess)
		ar.GrantTypes = fosite.Arguments{"refresh_token"}
		ar.Client = f.client
		ctx := context.WithValue(context.Background(), fosite.AccessRequestContextKey, ar)
		req, err := f.s.GetRefreshTokenSession(ctx, parent, sess)
		if err != nil {
			t.Fatalf("%s: read %s: %v", step, parent, err)
		}
		if !sess.PresentedToken().FamilyDeadline.Equal(login.Add(time.Hour).UTC()) {
			t.Errorf("%s: family deadline %v, want %v", step, sess.PresentedToken().FamilyDeadline, login.Add(time.Hour).UTC())
		}
		ar.SetID(req.GetID())
		if err := Rotate(ctx, f.s, ar, parent, at, successor); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return sess.PresentedToken()
	}
	ownRows := func(step string, got storage.PresentedToken, want bool) {
		t.Helper()
		if got.OwnRowAccessTokens != want {
			t.Errorf("%s: read found own-row access tokens %v, want %v", step, got.OwnRowAccessTokens, want)
		}
	}

	ownRows("login's token", refresh("login's token", "rt-0", "at-1", "rt-1"), true)
	f.accessState(t, "at-0", fosite.ErrInactiveToken)
	f.accessState(t, "at-1", nil)

	ownRows("rotation's token", refresh("rotation's token", "rt-1", "at-2", "rt-2"), false)
	f.accessState(t, "at-1", fosite.ErrInactiveToken)
	f.accessState(t, "at-2", nil)

	// A grace replay of rt-1 gets rt-2 again and an access token with a
	// row of its own; rotating rt-2 retires both access tokens.
	refresh("grace replay", "rt-1", "at-replay", "rt-2")
	f.accessState(t, "at-replay", nil)
	ownRows("after a grace replay", refresh("after a grace replay", "rt-2", "at-3", "rt-3"), true)
	f.accessState(t, "at-2", fosite.ErrInactiveToken)
	f.accessState(t, "at-replay", fosite.ErrInactiveToken)
	f.accessState(t, "at-3", nil)

	// An older release gave at-3 a row of its own as well.
	if err := f.s.CreateAccessTokenSession(context.Background(), "at-3", r); err != nil {
		t.Fatal(err)
	}
	ownRows("older release's layout", refresh("older release's layout", "rt-3", "at-4", "rt-4"), true)
	f.accessState(t, "at-3", fosite.ErrInactiveToken)
	f.accessState(t, "at-4", nil)
	f.refreshState(t, "rt-3", fosite.ErrInactiveToken)
}
