package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"

	"github.com/rotorauth/rotor/storage"
)

// oauthError maps any error from fosite or below to the RFC 6749 §5.2
// error a client should see. Storage contention becomes
// temporarily_unavailable (503) whatever fosite wrapped it in, so a busy
// database is never reported as a bad token; anything unrecognised becomes
// a bare server_error with no detail.
func oauthError(err error) *fosite.RFC6749Error {
	if errors.Is(err, storage.ErrUnavailable) {
		return fosite.ErrTemporarilyUnavailable.WithWrap(err)
	}
	rfc := fosite.ErrorToRFC6749Error(err)
	switch rfc.ErrorField {
	case "", "error", fosite.ErrServerError.ErrorField, fosite.ErrMisconfiguration.ErrorField:
		return fosite.ErrServerError.WithWrap(err)
	}
	return rfc
}

// countShed counts a sign-in turned away by load shedding (the hashing
// pool or the sign-in gate stayed busy): load, not a database fault.
func (s *Server) countShed(err error) bool {
	if errors.Is(err, storage.ErrHashPoolBusy) || errors.Is(err, errSignInBusy) {
		s.metrics.signInsShed.Inc()
		return true
	}
	return false
}

// statusClientClosedRequest is logged for requests the client abandoned.
const statusClientClosedRequest = 499

// writeOAuthError renders err as §5.2 JSON; invalid_client carries the
// WWW-Authenticate challenge of §5.2 and RFC 7235.
func (s *Server) writeOAuthError(c echo.Context, err error) error {
	if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
		// The client went away while waiting (for the hashing pool, the
		// sign-in gate): nobody reads this answer. nginx's 499 "client
		// closed request" keeps it out of the 5xx and database-error counts
		// that alerts watch.
		return c.NoContent(statusClientClosedRequest)
	}
	rfc := oauthError(err)
	s.logError(c, rfc, err)
	h := c.Response().Header()
	if rfc.ErrorField == fosite.ErrTemporarilyUnavailable.ErrorField {
		if s.countShed(err) {
			h.Set("Retry-After", "1")
		} else {
			s.metrics.dbErrors.Inc()
		}
	}
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	if rfc.ErrorField == fosite.ErrInvalidClient.ErrorField {
		s.audit(c.Request().Context(), storage.AuditEvent{Type: "client_auth_failed", ClientID: truncate(requestClientID(c.Request()), 255)})
		h.Set("WWW-Authenticate", `Basic realm="rotor", charset="UTF-8"`)
		rfc = rfc.WithWrap(nil)
		rfc.CodeField = http.StatusUnauthorized
	}
	body := map[string]string{"error": rfc.ErrorField}
	if d := rfc.GetDescription(); d != "" {
		body["error_description"] = d
	}
	return c.JSON(rfc.CodeField, body)
}

// logError logs server-side failures with their cause and client errors at
// debug level; the cause never reaches the client.
func (s *Server) logError(c echo.Context, rfc *fosite.RFC6749Error, cause error) {
	level := slog.LevelDebug
	if rfc.CodeField >= 500 {
		level = slog.LevelError
	}
	s.log.Log(c.Request().Context(), level, "oauth error",
		"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
		"path", c.Path(), "error", rfc.ErrorField, "cause", causeText(cause))
}

// causeText describes an error for the logs. fosite's debug fields may
// quote request values, but never token or secret values.
func causeText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// httpErrorHandler renders errors that escape handlers (unknown routes,
// panics, Echo's own errors) without internals.
func (s *Server) httpErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code := http.StatusInternalServerError
	msg := http.StatusText(code)
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code = he.Code
		msg = http.StatusText(code)
	}
	if code >= 500 {
		s.log.Error("request failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"path", c.Path(), "cause", err.Error())
	}
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(code)
		return
	}
	_ = c.JSON(code, map[string]string{"error": msg})
}

// requestClientID names the client a request claims to be, for the audit
// trail (never its secret).
func requestClientID(r *http.Request) string {
	if id, _, ok := r.BasicAuth(); ok {
		return id
	}
	return r.PostForm.Get("client_id")
}
