package server

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
)

// introspectionResponse is RFC 7662 §2.2.
type introspectionResponse struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	ExpiresAt int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Audience  []string `json:"aud,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
}

// introspect serves RFC 7662 with fosite's storage-backed validator, so a
// revoked JWT is inactive although its signature still verifies.
func (s *Server) introspect(c echo.Context) error {
	ctx := c.Request().Context()
	ir, err := s.oauth.NewIntrospectionRequest(ctx, c.Request(), &openid.DefaultSession{})
	c.Response().Header().Set("Cache-Control", "no-store")
	if err != nil {
		rfc := oauthError(err)
		switch rfc.ErrorField {
		case fosite.ErrInactiveToken.ErrorField:
			return c.JSON(http.StatusOK, introspectionResponse{Active: false})
		case fosite.ErrRequestUnauthorized.ErrorField:
			// fosite reports bad caller credentials as request_unauthorized;
			// RFC 7662 §2.3 and §5.2 call it invalid_client.
			return s.writeOAuthError(c, fosite.ErrInvalidClient.WithWrap(err))
		}
		return s.writeOAuthError(c, err)
	}
	ar := ir.GetAccessRequester()
	tokenUse := ir.GetTokenUse()
	resp := introspectionResponse{
		Active:   true,
		Scope:    strings.Join(ar.GetGrantedScopes(), " "),
		ClientID: ar.GetClient().GetID(),
		Subject:  ar.GetSession().GetSubject(),
		IssuedAt: ar.GetRequestedAt().Unix(),
		Audience: ar.GetGrantedAudience(),
		Issuer:   s.issuer,
	}
	if exp := ar.GetSession().GetExpiresAt(tokenUse); !exp.IsZero() {
		resp.ExpiresAt = exp.Unix()
	}
	if tokenUse == fosite.AccessToken {
		resp.TokenType = "Bearer"
	} else {
		resp.TokenType = "refresh_token"
	}
	if resp.Subject == "" {
		resp.Subject = resp.ClientID
	}
	return c.JSON(http.StatusOK, resp)
}
