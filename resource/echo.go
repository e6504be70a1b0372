package resource

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
)

// claimsKey is the echo.Context key under which EchoMiddleware stores the
// verified *Claims.
const claimsKey = "github.com/rotorauth/rotor/resource.claims"

// realm is the realm reported in WWW-Authenticate challenges.
const realm = "api"

// EchoMiddleware returns Echo middleware that requires an
// "Authorization: Bearer <token>" header, verifies the token with v and
// stores the resulting *Claims in the context for ClaimsFrom.
//
// It answers RFC 6750 errors itself, without calling the next handler: 401
// with a Bearer WWW-Authenticate challenge and {"error":"invalid_token"} when
// the token is missing or rejected (the challenge carries no error code when
// no token was sent at all, as RFC 6750 §3.1 asks); 403 with
// {"error":"insufficient_scope"} when the token lacks one of requiredScopes;
// and 503 with {"error":"temporarily_unavailable"} when the issuer could not
// be reached to check the token. Responses never contain the Authorization
// header, the token or the reason it was rejected.
//
// EchoMiddleware panics if v is nil.
func EchoMiddleware(v *Verifier, requiredScopes ...string) echo.MiddlewareFunc {
	if v == nil {
		panic("resource: EchoMiddleware needs a non-nil *Verifier")
	}
	scopes := slices.Clone(requiredScopes)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			token, ok := bearerToken(c.Request())
			if !ok {
				return deny(c, http.StatusUnauthorized, "invalid_token", `Bearer realm="`+realm+`"`)
			}
			claims, err := v.Verify(c.Request().Context(), token)
			switch {
			case errors.Is(err, ErrInvalidToken):
				return deny(c, http.StatusUnauthorized, "invalid_token",
					`Bearer realm="`+realm+`", error="invalid_token"`)
			case err != nil:
				return deny(c, http.StatusServiceUnavailable, "temporarily_unavailable", "")
			}
			for _, s := range scopes {
				if !claims.HasScope(s) {
					return deny(c, http.StatusForbidden, "insufficient_scope",
						`Bearer realm="`+realm+`", error="insufficient_scope", scope=`+quote(strings.Join(scopes, " ")))
				}
			}
			c.Set(claimsKey, claims)
			return next(c)
		}
	}
}

// ClaimsFrom returns the claims EchoMiddleware stored in c, and whether
// there were any.
func ClaimsFrom(c echo.Context) (*Claims, bool) {
	claims, ok := c.Get(claimsKey).(*Claims)
	return claims, ok && claims != nil
}

// bearerToken extracts the token from a single "Authorization: Bearer"
// header; the scheme is matched case-insensitively.
func bearerToken(r *http.Request) (string, bool) {
	values := r.Header.Values(echo.HeaderAuthorization)
	if len(values) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(values[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.Trim(token, " ")
	if token == "" || strings.ContainsAny(token, " \t") {
		return "", false
	}
	return token, true
}

// deny writes an error response; challenge, when set, becomes the
// WWW-Authenticate header.
func deny(c echo.Context, status int, code, challenge string) error {
	h := c.Response().Header()
	if challenge != "" {
		h.Set(echo.HeaderWWWAuthenticate, challenge)
	}
	h.Set("Cache-Control", "no-store")
	return c.JSON(status, map[string]string{"error": code})
}

// quote renders s as an HTTP quoted-string.
func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
