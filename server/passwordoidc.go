package server

import (
	"context"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
)

// passwordIDToken issues an ID token on the password grant when openid was
// granted. fosite's OpenID Connect handlers cover only the code, implicit
// and refresh flows, but mobile apps signing in with a password expect an
// ID token too (as Dex and Auth0 give one).
type passwordIDToken struct {
	helper *openid.IDTokenHandleHelper
	config fosite.Configurator
}

func (h *passwordIDToken) CanHandleTokenEndpointRequest(_ context.Context, req fosite.AccessRequester) bool {
	return req.GetGrantTypes().ExactOne("password")
}

func (h *passwordIDToken) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool {
	return false
}

func (h *passwordIDToken) HandleTokenEndpointRequest(context.Context, fosite.AccessRequester) error {
	return nil
}

func (h *passwordIDToken) PopulateTokenEndpointResponse(ctx context.Context, req fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !req.GetGrantedScopes().Has("openid") {
		return nil
	}
	sess, ok := req.GetSession().(openid.Session)
	if !ok || sess.IDTokenClaims().Subject == "" {
		return fosite.ErrServerError.WithDebug("password grant session has no ID token subject")
	}
	sess.IDTokenClaims().AccessTokenHash = h.helper.GetAccessTokenHash(ctx, req, resp)
	lifespan := fosite.GetEffectiveLifespan(req.GetClient(), fosite.GrantTypePassword, fosite.IDToken, h.config.GetIDTokenLifespan(ctx))
	return h.helper.IssueExplicitIDToken(ctx, lifespan, req, resp)
}
