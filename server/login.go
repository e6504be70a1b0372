package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"

	"github.com/rotorauth/rotor/storage"
)

// wrongCredentials is the one message for every failed login, so the page
// does not reveal which accounts exist.
const wrongCredentials = "The email or password is not correct."

func (s *Server) renderLogin(c echo.Context, status int, ar fosite.AuthorizeRequester, username, message string) error {
	name := ar.GetClient().GetID()
	if cl, err := s.store.Client(c.Request().Context(), name); err == nil && cl.Name != "" {
		name = cl.Name
	}
	return s.render(c, status, "login.html", map[string]any{
		"Title":          "Sign in",
		"ClientName":     name,
		"Error":          message,
		"Username":       username,
		"CSRF":           s.csrfToken(c),
		"AuthorizeQuery": ar.GetRequestForm().Encode(),
	})
}

// postLogin checks the credentials from the login form, starts the
// browser session, and sends the browser back to the authorization
// endpoint with a 303 so that the POST is never replayed.
func (s *Server) postLogin(c echo.Context) error {
	if !s.csrfValid(c) {
		return s.renderError(c, http.StatusForbidden, "Request expired", "The sign-in form expired or was not sent by this site. Go back and try again.", "invalid_request")
	}
	r, err := authorizeRequestFrom(c.Request(), c.FormValue("authorize_query"))
	if err != nil {
		return s.renderError(c, http.StatusBadRequest, "Invalid request", "The sign-in form is incomplete.", "invalid_request")
	}
	ar, ok := s.parseAuthorizeRequest(c, r)
	if !ok {
		return nil
	}
	// From the body only: credentials in the URL end up in logs and
	// history (RFC 9700 §4.3.2's rule for tokens holds for passwords too).
	username, password := c.Request().PostFormValue("username"), c.Request().PostFormValue("password")
	// Values that are not text (isText) are refused before the throttle
	// and the audit trail, as at the token endpoint.
	if username == "" || password == "" || len(username) > 320 || len(password) > 1024 || !isText(username) || !isText(password) {
		return s.renderLogin(c, http.StatusBadRequest, ar, username, wrongCredentials)
	}
	ctx := c.Request().Context()
	release, wait, err := s.admitSignIn(ctx, username, clientIP(c.Request()))
	if err != nil {
		return s.authorizeError(c, ar, err)
	}
	defer release()
	if wait > 0 {
		s.audit(ctx, storage.AuditEvent{Type: "throttled", Email: storage.NormalizeEmail(username), ClientID: ar.GetClient().GetID(), Detail: wait.Round(time.Second).String()})
		s.metrics.throttled.Inc()
		retryAfter(c, wait)
		return s.renderLogin(c, http.StatusTooManyRequests, ar, username, "Too many failed attempts. Wait a moment and try again.")
	}
	userID, err := s.store.Authenticate(ctx, username, password)
	if errors.Is(err, fosite.ErrNotFound) {
		s.signInFailed(ctx, c.Request(), username, ar.GetClient().GetID())
		return s.renderLogin(c, http.StatusUnauthorized, ar, username, wrongCredentials)
	} else if err != nil {
		return s.authorizeError(c, ar, err)
	}
	s.signInSucceeded(ctx, username, userID, ar.GetClient().GetID())
	now := s.now()
	cookie := randomToken()
	bs := storage.BrowserSession{SID: randomToken()[:22], UserID: userID, AuthTime: now, ExpiresAt: now.Add(s.browserTTL)}
	if err := s.store.CreateBrowserSession(ctx, cookie, bs); err != nil {
		return s.authorizeError(c, ar, err)
	}
	s.cookies.set(c, cookieSession, cookie, s.browserTTL, http.SameSiteLaxMode)

	// The user has just authenticated: drop prompt=login so the request
	// doesn't ask again, and continue the authorization.
	form := ar.GetRequestForm()
	q := form.Encode()
	if p := form.Get("prompt"); p != "" {
		var keep []string
		for _, v := range strings.Fields(p) {
			if v != "login" {
				keep = append(keep, v)
			}
		}
		cp := cloneValues(form)
		if len(keep) == 0 {
			cp.Del("prompt")
		} else {
			cp.Set("prompt", strings.Join(keep, " "))
		}
		cp.Del("max_age") // satisfied by this login
		q = cp.Encode()
	} else if form.Has("max_age") {
		cp := cloneValues(form)
		cp.Del("max_age")
		q = cp.Encode()
	}
	return c.Redirect(http.StatusSeeOther, pathAuthorize+"?"+q)
}

// browserSession returns the signed-in browser's session, nil when there
// is none (no cookie, unknown, ended or expired).
func (s *Server) browserSession(c echo.Context) (*storage.BrowserSession, error) {
	v := s.cookies.get(c, cookieSession)
	if v == "" {
		return nil, nil
	}
	bs, err := s.store.BrowserSessionByCookie(c.Request().Context(), v)
	if errors.Is(err, fosite.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return &bs, nil
}

func requestID(c echo.Context) string {
	return c.Response().Header().Get(echo.HeaderXRequestID)
}
