package server

import (
	"context"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
)

// familyBoundIDTokens is fosite's ID token strategy with the lifespan of an
// ID token issued by a refresh capped at the family's absolute end, as the
// access and refresh tokens of that refresh are (session.endWithFamily).
// fosite's OpenID Connect refresh handler sets the expiry from the lifespan
// alone, after the grant has run, so the cap has to be applied here.
type familyBoundIDTokens struct {
	openid.OpenIDConnectTokenStrategy
}

// minIDTokenLifespan keeps a capped expiry in the future: fosite refuses to
// sign an ID token whose exp has already passed, and exp has whole seconds.
const minIDTokenLifespan = time.Second

func (s familyBoundIDTokens) GenerateIDToken(ctx context.Context, lifespan time.Duration, req fosite.Requester) (string, error) {
	if sess, ok := req.GetSession().(*session); ok {
		if end := sess.presented.FamilyDeadline; !end.IsZero() {
			// fosite adds the lifespan to time.Now, so it is measured on
			// that clock.
			lifespan = max(min(lifespan, time.Until(end)), minIDTokenLifespan)
		}
	}
	return s.OpenIDConnectTokenStrategy.GenerateIDToken(ctx, lifespan, req)
}
