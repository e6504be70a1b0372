package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"

	"github.com/rotorauth/rotor/storage"
)

const pathUserinfo = "/userinfo"

// userinfo serves the OIDC UserInfo endpoint (OIDC Core §5.3) for access
// tokens of every grant that has a user. The token must verify and still
// be active in storage, so a revoked token is refused here too.
func (s *Server) userinfo(c echo.Context) error {
	token, problem := bearerToken(c.Request())
	if problem != "" {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="rotor", error="invalid_request"`)
		return c.JSON(http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": problem})
	}
	if token == "" {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="rotor"`)
		return c.JSON(http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "A Bearer access token is required."})
	}
	ctx := c.Request().Context()
	claims, err := s.access.verify(token)
	if err == nil {
		_, err = s.store.GetAccessTokenSession(ctx, s.access.AccessTokenSignature(ctx, token), &openid.DefaultSession{})
	}
	var user storage.User
	if err == nil {
		if claims.Subject == claims.ClientID {
			err = fosite.ErrNotFound // a client's own token: there is no user
		} else {
			user, err = s.store.UserByID(ctx, claims.Subject)
		}
	}
	if errors.Is(err, storage.ErrUnavailable) || storageFault(err) {
		return s.writeOAuthError(c, fosite.ErrTemporarilyUnavailable.WithWrap(err))
	} else if err != nil {
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="rotor", error="invalid_token"`)
		return c.JSON(http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "The access token is invalid, expired or revoked."})
	}
	resp := map[string]any{"sub": user.ID}
	if scopes := strings.Fields(claims.Scope); contains(scopes, "email") {
		resp["email"] = user.Email
		resp["email_verified"] = false
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, resp)
}

// bearerToken reads the access token of a resource request (RFC 6750 §2):
// from the Authorization header (§2.1) or the form body (§2.2), never
// from the URL (§2.3 SHOULD NOT, RFC 9700 §4.3.2: it leaks to logs,
// history and Referer headers). A request that uses more than one method,
// or repeats the body parameter, is invalid_request (§3.1): problem says
// why, for the client. An empty token means none was sent.
func bearerToken(r *http.Request) (token, problem string) {
	if r.URL.Query().Has("access_token") {
		return "", "Access tokens are not accepted in the URL; send them in the Authorization header."
	}
	var header string
	if scheme, v, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && strings.EqualFold(scheme, "bearer") {
		header = v
	}
	var body []string
	if r.Method == http.MethodPost {
		if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
			return "", "The request body could not be read."
		}
		body = r.PostForm["access_token"]
	}
	switch {
	case len(body) > 1:
		return "", "The access_token parameter is repeated."
	case len(body) == 1 && header != "":
		return "", "The access token was sent both in the Authorization header and in the body; use one method."
	case len(body) == 1:
		return body[0], ""
	}
	return header, ""
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
