package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/rotorauth/rotor/storage"
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

var errIntrospectionAuth = fosite.ErrInvalidClient.WithHint("Introspection requires the HTTP Basic credentials of a confidential client.")

// introspect serves RFC 7662 with Rotor's storage-backed introspector
// (storageIntrospector), so a revoked JWT is inactive although its
// signature still verifies, and a database failure is 503, never inactive.
//
// The caller must be a confidential client authenticated by its own
// credentials (RFC 7662 §2.1): fosite would also take a Bearer token as the
// caller's credential, which lets any user of a public client introspect.
// It learns about a token only if the token was issued to it, is meant for
// a resource it serves, or it is a trusted introspector; about any other
// token it gets {"active": false} (§2.2, §4).
func (s *Server) introspect(c echo.Context) error {
	ctx := c.Request().Context()
	c.Response().Header().Set("Cache-Control", "no-store")
	caller, err := s.introspectingClient(c.Request())
	if err != nil {
		return s.writeOAuthError(c, err)
	}
	if c.Request().PostForm.Get("token") == "" {
		// RFC 7662 §2.1: token is REQUIRED; fosite answers it inactive.
		return s.writeOAuthError(c, fosite.ErrInvalidRequest.WithHint("The 'token' parameter is missing."))
	}
	ir, err := s.oauth.NewIntrospectionRequest(ctx, c.Request(), &openid.DefaultSession{})
	if err != nil {
		if errors.Is(err, fosite.ErrTemporarilyUnavailable) {
			return s.writeOAuthError(c, fosite.ErrTemporarilyUnavailable.WithWrap(err))
		}
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
	ar, tokenUse := ir.GetAccessRequester(), ir.GetTokenUse()
	if !mayIntrospect(caller, ar, tokenUse) {
		return c.JSON(http.StatusOK, introspectionResponse{Active: false})
	}
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

// introspectingClient returns the client named by the request's HTTP Basic
// credentials (client_secret_basic, the method discovery advertises),
// refusing every other way fosite would accept a caller: a Bearer token in
// the Authorization header or an access_token parameter. fosite then
// checks the secret. A public client has none to check: it is refused here.
func (s *Server) introspectingClient(r *http.Request) (*storage.Client, error) {
	id, _, ok := r.BasicAuth()
	if !ok {
		return nil, errIntrospectionAuth
	}
	if err := r.ParseForm(); err != nil {
		return nil, fosite.ErrInvalidRequest.WithWrap(err)
	}
	if _, bearer := r.Form["access_token"]; bearer {
		return nil, errIntrospectionAuth
	}
	clientID, err := url.QueryUnescape(id) // RFC 6749 §2.3.1
	if err != nil {
		return nil, errIntrospectionAuth.WithWrap(err)
	}
	cl, err := s.store.Client(r.Context(), clientID)
	if errors.Is(err, fosite.ErrNotFound) {
		return nil, errIntrospectionAuth.WithWrap(err)
	} else if err != nil {
		return nil, fosite.ErrTemporarilyUnavailable.WithWrap(err)
	}
	if cl.IsPublic() || len(cl.GetHashedSecret()) == 0 {
		return nil, errIntrospectionAuth
	}
	return cl, nil
}

// mayIntrospect is who may learn what (RFC 7662 §2.1, §4): a trusted
// introspector everything; any other client its own tokens, and access
// tokens granted for a resource it is registered to serve. A refresh token
// is never presented to a resource, so its audience earns an API nothing.
func mayIntrospect(caller *storage.Client, token fosite.Requester, use fosite.TokenUse) bool {
	if caller.Introspector || token.GetClient().GetID() == caller.GetID() {
		return true
	}
	if use != fosite.AccessToken {
		return false
	}
	for _, aud := range token.GetGrantedAudience() {
		if slices.Contains(caller.Resources, aud) {
			return true
		}
	}
	return false
}
