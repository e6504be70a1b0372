package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rotorauth/rotor/storage"
)

const (
	pathLogout = "/oauth2/logout"
	// reasonLogout is recorded on families revoked by RP-initiated logout.
	reasonLogout = "logout"
)

// idTokenHint is what logout reads from a verified id_token_hint.
type idTokenHint struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience audience `json:"aud"`
	SID      string   `json:"sid"`
	Expiry   int64    `json:"exp"`
}

// names reports whether the hint speaks for the browser session bs: it is
// unexpired, its subject is the session's user and, when it carries a
// sid, that sid is the session's. Only then may logout act without asking.
func (h *idTokenHint) names(bs *storage.BrowserSession, now time.Time) bool {
	return h != nil && bs != nil &&
		h.Expiry != 0 && now.Before(time.Unix(h.Expiry, 0)) &&
		h.Subject == bs.UserID &&
		(h.SID == "" || h.SID == bs.SID)
}

// audience accepts the string or array forms of "aud".
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// logoutRequest is an RP-initiated logout request whose parameters have
// been checked: the hint's signature, issuer and audience, and the
// post_logout_redirect_uri against the hinted client's registration.
type logoutRequest struct {
	hint *idTokenHint // nil without an id_token_hint
	// The checked parameters as sent, for the confirmation form.
	rawHint, clientID, rawRedirect, state string
	redirect                              *url.URL // nil: show the signed-out page
}

// logout serves RP-initiated logout (OpenID Connect RP-Initiated Logout
// 1.0 §2-§3), by GET or POST. It reads top to bottom:
//
//  1. The parameters are checked; a bad hint or an unregistered
//     post_logout_redirect_uri gets an error page and signs no one out.
//  2. Our own confirmation form (a POST with csrf_token, or without a
//     hint) must carry a valid CSRF token; it then ends this browser's
//     own session and nothing else.
//  3. Otherwise logout acts at once only when the browser has a session
//     and an unexpired hint names it (its sub and, if present, its sid):
//     the RP speaks for the user signed in here.
//  4. Anything else (no hint, an expired hint, another user's or another
//     session's hint, a request without the browser's cookie such as a
//     server-side call) gets the confirmation page and revokes nothing
//     (§2: the OP asks the user whether to log out).
//
// A session named only by the hint is never ended: the hint proves who
// was issued the token, not who follows the link.
func (s *Server) logout(c echo.Context) error {
	r := c.Request()
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		_ = c.FormValue("csrf_token") // parses the form; a bad body reads as empty
		params = url.Values(r.Form)
	}
	req, problem := s.checkLogout(c, params)
	if problem != "" {
		return s.renderError(c, http.StatusBadRequest, "Sign-out request rejected", problem, "invalid_request")
	}
	bs, err := s.browserSession(c)
	if err != nil {
		return s.writeOAuthError(c, err)
	}
	confirmed := r.Method == http.MethodPost && (params.Has("csrf_token") || req.hint == nil)
	switch {
	case confirmed:
		if !s.csrfValid(c) {
			return s.renderError(c, http.StatusForbidden, "Request expired", "The sign-out form expired. Try again.", "invalid_request")
		}
	case req.hint.names(bs, s.now()):
	default:
		return s.render(c, http.StatusOK, "logout.html", map[string]any{
			"Title": "Sign out", "CSRF": s.csrfToken(c),
			"Hint": req.rawHint, "ClientID": req.clientID, "Redirect": req.rawRedirect, "State": req.state,
		})
	}
	if bs != nil {
		if err := s.endBrowserSession(c, bs.SID); err != nil {
			return s.writeOAuthError(c, err)
		}
	}
	if req.redirect == nil {
		return s.render(c, http.StatusOK, "logout.html", map[string]any{"Title": "Signed out", "Done": true})
	}
	if req.state != "" {
		q := req.redirect.Query()
		q.Set("state", req.state)
		req.redirect.RawQuery = q.Encode()
	}
	return c.Redirect(http.StatusSeeOther, req.redirect.String())
}

// checkLogout checks a logout request's parameters, or says what is wrong
// with them. The hint's signature, issuer and audience are checked, not
// its expiry: an expired ID token still identifies its client, so it may
// pick the post_logout_redirect_uri, but it no longer speaks for a
// session (see idTokenHint.names). A redirect needs a hint and must be
// registered exactly for the hinted client (§3); the confirmation form
// carries these parameters and they are checked again when it comes back.
func (s *Server) checkLogout(c echo.Context, params url.Values) (logoutRequest, string) {
	req := logoutRequest{
		rawHint: params.Get("id_token_hint"), clientID: params.Get("client_id"),
		rawRedirect: params.Get("post_logout_redirect_uri"), state: params.Get("state"),
	}
	if req.rawHint == "" {
		if req.rawRedirect != "" {
			return req, "A redirect after sign-out needs an id_token_hint."
		}
		return req, ""
	}
	var hint idTokenHint
	payload, err := s.keys.Verify(req.rawHint, idTokenTyp, idTokenAlg)
	if err == nil {
		err = json.Unmarshal(payload, &hint)
	}
	if err != nil || hint.Issuer != s.issuer || len(hint.Audience) == 0 || hint.Subject == "" {
		return req, "The id_token_hint is not a valid ID token from this server."
	}
	req.hint = &hint
	clientID := hint.Audience[0]
	if req.clientID != "" {
		if !slices.Contains(hint.Audience, req.clientID) {
			return req, "client_id does not match the id_token_hint."
		}
		clientID = req.clientID
	}
	if req.rawRedirect == "" {
		return req, ""
	}
	client, err := s.store.Client(c.Request().Context(), clientID)
	if err != nil || !slices.Contains(client.PostLogoutRedirectURIs, req.rawRedirect) {
		return req, "The post_logout_redirect_uri is not registered for this application."
	}
	if req.redirect, err = url.Parse(req.rawRedirect); err != nil {
		return req, "The post_logout_redirect_uri is malformed."
	}
	return req, ""
}

// endBrowserSession ends the browser session sid, with the token families
// created through it (storage.EndBrowserSession keeps those granted
// offline_access), and clears the browser's session cookie.
func (s *Server) endBrowserSession(c echo.Context, sid string) error {
	n, err := s.store.EndBrowserSession(c.Request().Context(), sid, reasonLogout)
	if err != nil {
		return err
	}
	s.log.Info("browser session ended", "request_id", requestID(c), "sid", sid, "families_revoked", n)
	s.cookies.clear(c, cookieSession, http.SameSiteLaxMode)
	return nil
}
