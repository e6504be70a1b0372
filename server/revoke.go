package server

import (
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
	ctx := storage.WithRevocationReason(c.Request().Context(), reasonRevocationEndpoint)
	if err := s.oauth.NewRevocationRequest(ctx, c.Request()); err != nil {
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
