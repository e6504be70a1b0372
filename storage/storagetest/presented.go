package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"rotor/storage"
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
// absolute end and where the token's access token is stored, and wherever
// that is, the access token retires with the token: a login's in its own
// row, a rotation's in its refresh token's row, and one that a release
// before migration 2 gave a row of its own although a rotation issued it.
func testRefreshAsTheGrantDoes(t *testing.T, f *fixture) {
	login := f.clock.Now()
	r := f.request("fam-grant", subject)
	f.issue(t, r, "at-0", "rt-0")
	for i, tc := range []struct {
		parent, at, successor string
		// olderRelease gives the parent's access token a row of its own.
		olderRelease     bool
		accessTokenInRow bool
	}{
		{parent: "rt-0", at: "at-1", successor: "rt-1"},
		{parent: "rt-1", at: "at-2", successor: "rt-2", accessTokenInRow: true},
		{parent: "rt-2", at: "at-3", successor: "rt-3", accessTokenInRow: true},
		{parent: "rt-3", at: "at-4", successor: "rt-4", olderRelease: true},
	} {
		f.clock.Add(time.Minute)
		prevAccess := "at-" + tc.parent[len("rt-"):]
		if tc.olderRelease {
			if err := f.s.CreateAccessTokenSession(context.Background(), prevAccess, r); err != nil {
				t.Fatal(err)
			}
		}
		sess := &carrierSession{}
		ar := fosite.NewAccessRequest(sess)
		ar.GrantTypes = fosite.Arguments{"refresh_token"}
		ar.Client = f.client
		ctx := context.WithValue(context.Background(), fosite.AccessRequestContextKey, ar)
		parent, err := f.s.GetRefreshTokenSession(ctx, tc.parent, sess)
		if err != nil {
			t.Fatalf("read %s: %v", tc.parent, err)
		}
		want := storage.PresentedToken{FamilyDeadline: login.Add(time.Hour).UTC(), AccessTokenInRow: tc.accessTokenInRow}
		if got := sess.PresentedToken(); !got.FamilyDeadline.Equal(want.FamilyDeadline) || got.AccessTokenInRow != want.AccessTokenInRow {
			t.Errorf("refresh %d: presented %+v, want %+v", i, got, want)
		}
		ar.SetID(parent.GetID())
		if err := Rotate(ctx, f.s, ar, tc.parent, tc.at, tc.successor); err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		f.accessState(t, prevAccess, fosite.ErrInactiveToken)
		f.accessState(t, tc.at, nil)
		f.refreshState(t, tc.parent, fosite.ErrInactiveToken)
	}
}
