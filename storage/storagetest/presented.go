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
// absolute end and the token's lineage, and whatever the lineage, the
// access token issued with a rotated token retires with it: a login's in
// its own row, a rotation's in its refresh token's row.
func testRefreshAsTheGrantDoes(t *testing.T, f *fixture) {
	login := f.clock.Now()
	r := f.request("fam-grant", subject)
	f.issue(t, r, "at-0", "rt-0")
	for i, tc := range []struct {
		parent, at, successor string
		issuedByRotation      bool
	}{
		{"rt-0", "at-1", "rt-1", false},
		{"rt-1", "at-2", "rt-2", true},
		{"rt-2", "at-3", "rt-3", true},
	} {
		f.clock.Add(time.Minute)
		sess := &carrierSession{}
		ar := fosite.NewAccessRequest(sess)
		ar.GrantTypes = fosite.Arguments{"refresh_token"}
		ar.Client = f.client
		ctx := context.WithValue(context.Background(), fosite.AccessRequestContextKey, ar)
		parent, err := f.s.GetRefreshTokenSession(ctx, tc.parent, sess)
		if err != nil {
			t.Fatalf("read %s: %v", tc.parent, err)
		}
		want := storage.PresentedToken{FamilyDeadline: login.Add(time.Hour).UTC(), IssuedByRotation: tc.issuedByRotation}
		if got := sess.PresentedToken(); !got.FamilyDeadline.Equal(want.FamilyDeadline) || got.IssuedByRotation != want.IssuedByRotation {
			t.Errorf("refresh %d: presented %+v, want %+v", i, got, want)
		}
		ar.SetID(parent.GetID())
		if err := Rotate(ctx, f.s, ar, tc.parent, tc.at, tc.successor); err != nil {
			t.Fatalf("refresh %d: %v", i, err)
		}
		prevAccess := "at-" + tc.parent[len("rt-"):]
		f.accessState(t, prevAccess, fosite.ErrInactiveToken)
		f.accessState(t, tc.at, nil)
		f.refreshState(t, tc.parent, fosite.ErrInactiveToken)
	}
}
