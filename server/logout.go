package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"
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

// logout serves RP-initiated logout (OpenID Connect RP-Initiated Logout
// 1.0). With a valid id_token_hint it signs the browser out at once and
// may redirect to a post_logout_redirect_uri registered exactly for the
// hinted client; without one it asks the user to confirm, so a cross-site
// link can't sign people out. It never redirects anywhere unregistered.
func (s *Server) logout(c echo.Context) error {
	r := c.Request()
	if r.Method == http.MethodPost && c.FormValue("id_token_hint") == "" {
		if !s.csrfValid(c) {
			return s.renderError(c, http.StatusForbidden, "Request expired", "The sign-out form expired. Try again.", "invalid_request")
		}
		if err := s.endBrowserSession(c, ""); err != nil {
			return s.writeOAuthError(c, err)
		}
		return s.render(c, http.StatusOK, "logout.html", map[string]any{"Title": "Signed out", "Done": true})
	}
	params := r.URL.Query()
	if r.Method == http.MethodPost {
		params = url.Values(r.Form)
	}
	hintRaw := params.Get("id_token_hint")
	redirect := params.Get("post_logout_redirect_uri")
	if hintRaw == "" {
		if redirect != "" {
			return s.renderError(c, http.StatusBadRequest, "Sign-out request rejected",
				"A redirect after sign-out needs an id_token_hint.", "invalid_request")
		}
		return s.render(c, http.StatusOK, "logout.html", map[string]any{"Title": "Sign out", "CSRF": s.csrfToken(c)})
	}
	var hint idTokenHint
	payload, err := s.keys.Verify(hintRaw, idTokenTyp, idTokenAlg)
	if err == nil {
		err = json.Unmarshal(payload, &hint)
	}
	if err != nil || hint.Issuer != s.issuer || len(hint.Audience) == 0 {
		return s.renderError(c, http.StatusBadRequest, "Sign-out request rejected", "The id_token_hint is not a valid ID token from this server.", "invalid_request")
	}
	clientID := hint.Audience[0]
	if cid := params.Get("client_id"); cid != "" {
		if !slices.Contains(hint.Audience, cid) {
			return s.renderError(c, http.StatusBadRequest, "Sign-out request rejected", "client_id does not match the id_token_hint.", "invalid_request")
		}
		clientID = cid
	}
	var target *url.URL
	if redirect != "" {
		client, err := s.store.Client(r.Context(), clientID)
		if err != nil || !slices.Contains(client.PostLogoutRedirectURIs, redirect) {
			return s.renderError(c, http.StatusBadRequest, "Sign-out request rejected",
				"The post_logout_redirect_uri is not registered for this application.", "invalid_request")
		}
		if target, err = url.Parse(redirect); err != nil {
			return s.renderError(c, http.StatusBadRequest, "Sign-out request rejected", "The post_logout_redirect_uri is malformed.", "invalid_request")
		}
	}
	if err := s.endBrowserSession(c, hint.SID); err != nil {
		return s.writeOAuthError(c, err)
	}
	if target == nil {
		return s.render(c, http.StatusOK, "logout.html", map[string]any{"Title": "Signed out", "Done": true})
	}
	if st := params.Get("state"); st != "" {
		q := target.Query()
		q.Set("state", st)
		target.RawQuery = q.Encode()
	}
	return c.Redirect(http.StatusSeeOther, target.String())
}

// endBrowserSession ends the browser's session (and hintSID's, which the
// signed hint names) and revokes the token families they created.
func (s *Server) endBrowserSession(c echo.Context, hintSID string) error {
	ctx := c.Request().Context()
	sids := []string{}
	if bs, err := s.browserSession(c); err != nil {
		return err
	} else if bs != nil {
		sids = append(sids, bs.SID)
	}
	if hintSID != "" && !slices.Contains(sids, hintSID) {
		sids = append(sids, hintSID)
	}
	for _, sid := range sids {
		n, err := s.store.EndBrowserSession(ctx, sid, reasonLogout)
		if err != nil {
			return err
		}
		s.log.Info("browser session ended", "request_id", requestID(c), "sid", sid, "families_revoked", n)
	}
	s.cookies.clear(c, cookieSession, http.SameSiteLaxMode)
	return nil
}
