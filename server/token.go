package server

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"

	"github.com/rotorauth/rotor/storage"
)

// token serves the token endpoint (RFC 6749 §3.2) for the grants in
// grantTypes. The grant is read once, strictly (parseGrantType), before
// any work; the sign-in gate, the throttle, failure counting, the audit
// trail and the metrics all follow that one reading, and fosite reads the
// same value the same way (FuzzGrantType).
func (s *Server) token(c echo.Context) error {
	ctx := c.Request().Context()
	form := c.Request().PostForm
	grant, err := parseGrantType(form)
	if err == nil {
		err = checkGrantParams(grant, form)
	}
	if err != nil {
		return s.writeOAuthError(c, err)
	}
	if !clientAuthPresent(c.Request()) {
		return s.writeOAuthError(c, errNoClientAuth)
	}
	password := grant == "password"
	if password {
		release, wait, err := s.admitSignIn(ctx, form.Get("username"), clientIP(c.Request()))
		if err != nil {
			return s.writeOAuthError(c, err)
		}
		defer release()
		if wait > 0 {
			return s.throttled(c, form.Get("username"), wait)
		}
	}
	ar, err := s.oauth.NewAccessRequest(ctx, c.Request(), newSession())
	if password && err != nil && oauthError(err).ErrorField == fosite.ErrInvalidGrant.ErrorField && errors.Is(err, fosite.ErrNotFound) {
		// The client has authenticated by now, with Basic or in the body.
		s.signInFailed(ctx, c.Request(), form.Get("username"), truncate(requestClientID(c.Request()), 255))
	}
	if err != nil {
		// fosite's grant handlers may trip over something else first
		// (client_credentials calls a public client invalid_grant): an
		// authenticated client without the grant is unauthorized_client.
		// (Until a client authenticates, fosite's placeholder has no ID.)
		if ar != nil && ar.GetClient() != nil && ar.GetClient().GetID() != "" {
			if gerr := disallowedGrant(ar); gerr != nil {
				return s.writeOAuthError(c, gerr)
			}
		}
		return s.writeOAuthError(c, err)
	}
	if gerr := disallowedGrant(ar); gerr != nil {
		return s.writeOAuthError(c, gerr)
	}
	if grant != "refresh_token" && grant != "authorization_code" {
		grantRequested(ar)
	}
	if password {
		// The login happens now: record it for the ID token (and for the
		// ID tokens of every refresh in this family).
		sess := ar.GetSession().(*session)
		now := s.now()
		user, err := s.userSession(ctx, sess.Subject, now, now, "", ar.GetGrantedScopes())
		if err != nil {
			return s.writeOAuthError(c, err)
		}
		sess.Claims, sess.Headers = user.Claims, user.Headers
	}
	resp, err := s.oauth.NewAccessResponse(ctx, ar)
	if err != nil {
		return s.writeOAuthError(c, err)
	}
	if password {
		s.signInSucceeded(ctx, form.Get("username"), ar.GetSession().GetSubject(), ar.GetClient().GetID())
	}
	s.metrics.tokensIssued.WithLabelValues(grant).Inc()
	if grant == "refresh_token" {
		s.metrics.refreshes.Inc()
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

// disallowedGrant is unauthorized_client when the client isn't registered
// for a grant the request uses.
func disallowedGrant(ar fosite.AccessRequester) error {
	for _, g := range ar.GetGrantTypes() {
		if !ar.GetClient().GetGrantTypes().Has(g) {
			return fosite.ErrUnauthorizedClient.WithHintf("The client is not allowed the grant '%s'.", truncate(g, 64))
		}
	}
	return nil
}

// checkGrantParams answers what fosite gets wrong before any handler
// runs: a refresh without a refresh_token and a code exchange without a
// code are invalid_request (RFC 6749 §4.1.3, §6: REQUIRED parameters, and
// §3.1: an empty parameter is an omitted one; fosite says invalid_grant).
func checkGrantParams(grant string, form url.Values) error {
	switch {
	case grant == "refresh_token" && form.Get("refresh_token") == "":
		return fosite.ErrInvalidRequest.WithHint("The 'refresh_token' parameter is missing.")
	case grant == "authorization_code" && form.Get("code") == "":
		return fosite.ErrInvalidRequest.WithHint("The 'code' parameter is missing.")
	}
	return nil
}

func servesGrant(name string) bool {
	for _, g := range grantTypes {
		if g.name == name {
			return true
		}
	}
	return false
}

// errNoClientAuth is RFC 6749 §5.2's invalid_client for a request that
// names no client at all (fosite calls it invalid_request).
var errNoClientAuth = fosite.ErrInvalidClient.WithHint("No client authentication was included.")

// clientAuthPresent reports whether the request names a client: HTTP Basic
// credentials or a client_id in the body.
func clientAuthPresent(r *http.Request) bool {
	if _, _, ok := r.BasicAuth(); ok {
		return true
	}
	return r.PostForm.Get("client_id") != ""
}

// throttled answers a sign-in that must wait: 429 with Retry-After, and
// the §5.2 invalid_grant a client library understands.
func (s *Server) throttled(c echo.Context, email string, wait time.Duration) error {
	s.audit(c.Request().Context(), storage.AuditEvent{Type: "throttled", Email: storage.NormalizeEmail(email),
		ClientID: truncate(requestClientID(c.Request()), 255), Detail: wait.Round(time.Second).String()})
	s.metrics.throttled.Inc()
	retryAfter(c, wait)
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusTooManyRequests, map[string]string{
		"error":             fosite.ErrInvalidGrant.ErrorField,
		"error_description": "Too many failed sign-in attempts. Try again later.",
	})
}
