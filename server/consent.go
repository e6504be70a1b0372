package server

import (
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"
)

// scopeDescriptions say in plain words what a scope lets an app do.
var scopeDescriptions = map[string]string{
	"openid":         "Know who you are (your account ID)",
	"email":          "See your email address",
	"profile":        "See your basic profile",
	"offline_access": "Stay signed in and use your account while you are not using the app",
}

func describeScope(s string) string {
	if d, ok := scopeDescriptions[s]; ok {
		return d
	}
	return "Use the permission “" + s + "”"
}

func (s *Server) renderConsent(c echo.Context, ar fosite.AuthorizeRequester, userID string) error {
	ctx := c.Request().Context()
	client, err := s.store.Client(ctx, ar.GetClient().GetID())
	if err != nil {
		return s.authorizeError(c, ar, err)
	}
	user, err := s.store.UserByID(ctx, userID)
	if err != nil {
		return s.authorizeError(c, ar, err)
	}
	name := client.Name
	if name == "" {
		name = client.GetID()
	}
	var scopes []string
	for _, sc := range ar.GetRequestedScopes() {
		scopes = append(scopes, describeScope(sc))
	}
	if len(scopes) == 0 {
		scopes = []string{"Access your account"}
	}
	return s.render(c, http.StatusOK, "consent.html", map[string]any{
		"Title":          "Allow access",
		"ClientName":     name,
		"Scopes":         scopes,
		"Email":          user.Email,
		"CSRF":           s.csrfToken(c),
		"AuthorizeQuery": ar.GetRequestForm().Encode(),
	})
}

// postConsent records the user's decision: Deny sends access_denied to the
// client, Allow remembers the scopes and issues the code.
func (s *Server) postConsent(c echo.Context) error {
	if !s.csrfValid(c) {
		return s.renderError(c, http.StatusForbidden, "Request expired", "The form expired or was not sent by this site. Go back and try again.", "invalid_request")
	}
	r, err := authorizeRequestFrom(c.Request(), c.FormValue("authorize_query"))
	if err != nil {
		return s.renderError(c, http.StatusBadRequest, "Invalid request", "The consent form is incomplete.", "invalid_request")
	}
	ar, ok := s.parseAuthorizeRequest(c, r)
	if !ok {
		return nil
	}
	bs, err := s.browserSession(c)
	if err != nil {
		return s.authorizeError(c, ar, err)
	}
	if bs == nil {
		// Signed out meanwhile: start over at the login page.
		return c.Redirect(http.StatusSeeOther, pathAuthorize+"?"+ar.GetRequestForm().Encode())
	}
	switch c.FormValue("decision") {
	case "allow":
		if err := s.store.GrantScopes(c.Request().Context(), bs.UserID, ar.GetClient().GetID(), ar.GetRequestedScopes()); err != nil {
			return s.authorizeError(c, ar, err)
		}
		return s.issueCode(c, ar, bs)
	case "deny":
		return s.authorizeError(c, ar, fosite.ErrAccessDenied.WithHint("The user denied the request."))
	default:
		return s.renderError(c, http.StatusBadRequest, "Invalid request", "Choose Allow or Deny.", "invalid_request")
	}
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
