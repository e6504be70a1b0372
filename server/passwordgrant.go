package server

//lint:file-ignore SA1019 first-party mobile apps sign in with the password grant by design

import (
	"context"

	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"

	"github.com/rotorauth/rotor/storage"
)

// firstPartyPasswordGrant is fosite's password grant with the two rules
// fosite leaves out:
//
//   - the grant is for first-party clients only (OAuth 2.1 drops it; RFC
//     9700 §2.4 forbids it to third parties): a client needs FirstParty as
//     well as the password grant, or it is unauthorized_client before any
//     password is checked;
//   - a refresh token goes only to a client with the refresh_token grant
//     (RFC 6749 §4.3.3: the refresh token is OPTIONAL). fosite's handler
//     issues one whenever RefreshTokenScopes allows, whatever the client's
//     grants; its authorization code handler already checks the grant.
type firstPartyPasswordGrant struct {
	*oauth2.ResourceOwnerPasswordCredentialsGrantHandler
	clients clientLookup
}

// clientLookup finds a registered client with Rotor's own attributes.
type clientLookup interface {
	Client(ctx context.Context, id string) (*storage.Client, error)
}

// passwordGrantFactory wraps fosite's password grant; see
// firstPartyPasswordGrant.
func passwordGrantFactory(config fosite.Configurator, store any, strategy any) any {
	h := compose.OAuth2ResourceOwnerPasswordCredentialsFactory(config, store, strategy)
	return &firstPartyPasswordGrant{
		ResourceOwnerPasswordCredentialsGrantHandler: h.(*oauth2.ResourceOwnerPasswordCredentialsGrantHandler),
		clients: store.(clientLookup),
	}
}

func (g *firstPartyPasswordGrant) HandleTokenEndpointRequest(ctx context.Context, req fosite.AccessRequester) error {
	if !g.CanHandleTokenEndpointRequest(ctx, req) {
		return fosite.ErrUnknownRequest
	}
	c, err := g.clients.Client(ctx, req.GetClient().GetID())
	if err != nil {
		return fosite.ErrServerError.WithWrap(err)
	}
	if !c.FirstParty {
		return fosite.ErrUnauthorizedClient.WithHint("The password grant is only for first-party clients.")
	}
	return g.ResourceOwnerPasswordCredentialsGrantHandler.HandleTokenEndpointRequest(ctx, req)
}

func (g *firstPartyPasswordGrant) PopulateTokenEndpointResponse(ctx context.Context, req fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !g.CanHandleTokenEndpointRequest(ctx, req) {
		return fosite.ErrUnknownRequest
	}
	if req.GetClient().GetGrantTypes().Has("refresh_token") {
		return g.ResourceOwnerPasswordCredentialsGrantHandler.PopulateTokenEndpointResponse(ctx, req, resp)
	}
	// What fosite's handler does, less the refresh token.
	lifespan := fosite.GetEffectiveLifespan(req.GetClient(), fosite.GrantTypePassword, fosite.AccessToken, g.Config.GetAccessTokenLifespan(ctx))
	_, err := g.IssueAccessToken(ctx, lifespan, req, resp)
	return err
}
