package server

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"

	"github.com/rotorauth/rotor/storage"
)

// reasonRevocationEndpoint is recorded on families revoked through RFC 7009.
const reasonRevocationEndpoint = "revocation_endpoint"

// revoke serves RFC 7009 revocation. Revoking either token of a family
// revokes the whole family. fosite's own writer answers 200 to a storage
// failure; here only success or an unknown token is 200, and a failure the
// client should retry is 503.
func (s *Server) revoke(c echo.Context) error {
	if !clientAuthPresent(c.Request()) {
		return s.writeOAuthError(c, errNoClientAuth)
	}
	if c.Request().PostForm.Get("token") == "" {
		// RFC 7009 §2.1: token is REQUIRED; fosite answers 200 without it.
		return s.writeOAuthError(c, fosite.ErrInvalidRequest.WithHint("The 'token' parameter is missing."))
	}
	if err := s.oauth.NewRevocationRequest(c.Request().Context(), c.Request()); err != nil {
		return s.writeOAuthError(c, revocationError(err))
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.NoContent(http.StatusOK)
}

// revocationError keeps the errors RFC 7009 §2.2.1 lets a client see and
// turns everything else into a retryable 503.
func revocationError(err error) error {
	rfc := oauthError(err)
	switch rfc.ErrorField {
	case fosite.ErrInvalidRequest.ErrorField, fosite.ErrInvalidClient.ErrorField,
		fosite.ErrUnauthorizedClient.ErrorField, "unsupported_token_type",
		fosite.ErrTemporarilyUnavailable.ErrorField:
		return err
	}
	return fosite.ErrTemporarilyUnavailable.WithWrap(err)
}

// tokenFamilyRevoker is the storage half of familyRevocation.
type tokenFamilyRevoker interface {
	RevokeFamilyOfToken(ctx context.Context, kind storage.TokenKind, signature, clientID, reason string) (storage.Revocation, error)
}

// tokenSignatures finds a presented token's storage key; "" for a token
// that is not of that kind or not canonical.
type tokenSignatures interface {
	RefreshTokenSignature(ctx context.Context, token string) string
	AccessTokenSignature(ctx context.Context, token string) string
}

// familyRevocation is fosite's revocation handler for Rotor. fosite's
// looks a token up as if for use, so a spent refresh token or a retired
// access token is "already inactive" and revokes nothing: a client that
// signs out with the token it still holds would leave a thief's newer
// token alive. Here the token's family is revoked whether the token is
// live, spent or retired (RFC 7009 §2.1, RFC 9700 §4.14.2), if the token
// was issued to the requesting client.
type familyRevocation struct {
	tokens tokenSignatures
	store  tokenFamilyRevoker
}

var _ fosite.RevocationHandler = (*familyRevocation)(nil)

// RevokeToken looks the token up as the hinted kind first, then as the
// other (RFC 7009 §2.1: the hint is only a hint).
func (h *familyRevocation) RevokeToken(ctx context.Context, token string, hint fosite.TokenType, client fosite.Client) error {
	kinds := [2]storage.TokenKind{storage.RefreshTokenKind, storage.AccessTokenKind}
	if hint == fosite.AccessToken {
		kinds[0], kinds[1] = kinds[1], kinds[0]
	}
	for _, kind := range kinds {
		sig := h.tokens.RefreshTokenSignature(ctx, token)
		if kind == storage.AccessTokenKind {
			sig = h.tokens.AccessTokenSignature(ctx, token)
		}
		if sig == "" {
			continue
		}
		out, err := h.store.RevokeFamilyOfToken(ctx, kind, sig, client.GetID(), reasonRevocationEndpoint)
		if err != nil {
			// The token may still be live: the client must retry.
			return fosite.ErrTemporarilyUnavailable.WithWrap(err)
		}
		switch out {
		case storage.TokenOfAnotherClient:
			return fosite.ErrUnauthorizedClient.WithHint("The token was issued to another client.")
		case storage.FamilyRevoked, storage.FamilyAlreadyRevoked:
			return nil
		}
	}
	return nil // RFC 7009 §2.2: an invalid or unknown token is not an error
}

// revocationFactory composes familyRevocation in place of fosite's
// OAuth2TokenRevocationFactory.
func revocationFactory(_ fosite.Configurator, store any, strategy any) any {
	return &familyRevocation{tokens: strategy.(tokenSignatures), store: store.(tokenFamilyRevoker)}
}
