package server

import (
	"context"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/rotorauth/rotor/storage"
)

// lifespanRecorder is an ID token strategy that records the lifespan it
// is asked for.
type lifespanRecorder struct{ got time.Duration }

func (r *lifespanRecorder) GenerateIDToken(_ context.Context, lifespan time.Duration, _ fosite.Requester) (string, error) {
	r.got = lifespan
	return "id-token", nil
}

// TestIDTokenEndsWithFamily: an ID token issued by a refresh lives no
// longer than the family; any other keeps its lifespan.
func TestIDTokenEndsWithFamily(t *testing.T) {
	const lifespan = 10 * time.Minute
	for _, tc := range []struct {
		name      string
		session   fosite.Session
		wantAbout time.Duration
	}{
		{"no family (a login or a code exchange)", newSession(), lifespan},
		{"family ends after the lifespan", presentedSession(time.Hour), lifespan},
		{"family ends before the lifespan", presentedSession(90 * time.Second), 90 * time.Second},
		{"family ends in under a second", presentedSession(100 * time.Millisecond), minIDTokenLifespan},
		{"another session type", &openid.DefaultSession{}, lifespan},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &lifespanRecorder{}
			s := familyBoundIDTokens{rec}
			if _, err := s.GenerateIDToken(context.Background(), lifespan, &fosite.Request{Session: tc.session}); err != nil {
				t.Fatal(err)
			}
			if d := rec.got - tc.wantAbout; d < -2*time.Second || d > 0 {
				t.Errorf("lifespan %v, want about %v (and not more)", rec.got, tc.wantAbout)
			}
		})
	}
}

func presentedSession(left time.Duration) *session {
	s := newSession()
	s.SetPresentedToken(storage.PresentedToken{FamilyDeadline: time.Now().Add(left)})
	return s
}
