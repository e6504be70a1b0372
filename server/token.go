package server

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
)

// token serves the token endpoint (RFC 6749 §3.2) for the grants in grantTypes.
func (s *Server) token(c echo.Context) error {
	ctx := c.Request().Context()
	ar, err := s.oauth.NewAccessRequest(ctx, c.Request(), &openid.DefaultSession{})
	if err != nil {
		return s.writeOAuthError(c, err)
	}
	client := ar.GetClient()
	for _, g := range ar.GetGrantTypes() {
		if !client.GetGrantTypes().Has(g) {
			return s.writeOAuthError(c, fosite.ErrUnauthorizedClient.WithHintf("The client is not allowed the grant '%s'.", g))
		}
	}
	if !ar.GetGrantTypes().ExactOne("refresh_token") {
		grantRequested(ar)
	}
	resp, err := s.oauth.NewAccessResponse(ctx, ar)
	if err != nil {
		return s.writeOAuthError(c, err)
	}
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	return c.JSON(http.StatusOK, resp.ToMap())
}

// grantRequested grants a new login what it asked for: fosite's grant
// handlers have already checked the scopes and audiences against the
// client. With no audience requested the token is for all of the client's
// audiences, since RFC 9068 access tokens must name one.
func grantRequested(ar fosite.AccessRequester) {
	for _, scope := range ar.GetRequestedScopes() {
		ar.GrantScope(scope)
	}
	aud := ar.GetRequestedAudience()
	if len(aud) == 0 {
		aud = ar.GetClient().GetAudience()
	}
	for _, a := range aud {
		ar.GrantAudience(a)
	}
}
