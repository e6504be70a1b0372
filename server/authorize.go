package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"

	"github.com/rotorauth/rotor/storage"
)

const (
	pathAuthorize = "/oauth2/authorize"
	pathLogin     = "/login"
	pathConsent   = "/consent"
)

// authorize serves the authorization endpoint (RFC 6749 §4.1, OIDC Core
// §3.1.2): it shows the login page or the consent page when needed, and
// otherwise issues a code.
func (s *Server) authorize(c echo.Context) error {
	ar, ok := s.parseAuthorizeRequest(c, c.Request())
	if !ok {
		return nil
	}
	prompt := promptValues(ar)
	bs, err := s.browserSession(c)
	if err != nil {
		return s.authorizeError(c, ar, err)
	}
	if bs == nil || prompt["login"] || maxAgeExceeded(ar, bs, s.now()) {
		if prompt["none"] {
			return s.authorizeError(c, ar, fosite.ErrLoginRequired)
		}
		return s.renderLogin(c, http.StatusOK, ar, "", "")
	}
	need, err := s.needsConsent(c.Request().Context(), ar, bs.UserID, prompt)
	if err != nil {
		return s.authorizeError(c, ar, err)
	}
	if need {
		if prompt["none"] {
			return s.authorizeError(c, ar, fosite.ErrConsentRequired)
		}
		return s.renderConsent(c, ar, bs.UserID)
	}
	return s.issueCode(c, ar, bs)
}

// parseAuthorizeRequest lets fosite validate the request; on failure it has
// already answered (error page or error redirect) and reports false.
func (s *Server) parseAuthorizeRequest(c echo.Context, r *http.Request) (fosite.AuthorizeRequester, bool) {
	// RFC 6749 §3.1: no parameter may repeat. fosite would take the first
	// value where a proxy in front may act on another; and the repeated
	// one may be the redirect URI, so the answer is an error page.
	for k, vs := range r.URL.Query() {
		if len(vs) > 1 {
			_ = s.renderError(c, http.StatusBadRequest, "Invalid request",
				"The parameter '"+truncate(k, 64)+"' is repeated.", "invalid_request")
			return nil, false
		}
	}
	// fosite accepts loopback redirect URIs on any port (RFC 8252 §7.3);
	// Rotor matches every redirect URI exactly, as registered.
	if uri := r.URL.Query().Get("redirect_uri"); uri != "" {
		client, err := s.store.Client(r.Context(), r.URL.Query().Get("client_id"))
		if err != nil || !slices.Contains(client.GetRedirectURIs(), uri) {
			_ = s.renderError(c, http.StatusBadRequest, "Invalid request",
				"The application sent an unknown client or a redirect URI it has not registered.", "invalid_request")
			return nil, false
		}
	}
	ar, err := s.oauth.NewAuthorizeRequest(r.Context(), r)
	if err == nil {
		err = checkAuthorizeParams(r.Context(), ar)
	}
	if err != nil {
		_ = s.authorizeError(c, ar, err)
		return nil, false
	}
	return ar, true
}

// checkAuthorizeParams rejects, before any login or consent page, what
// fosite's PKCE and OpenID Connect handlers would only reject once the
// user has signed in and the code is being issued: a response_type other
// than exactly "code", a missing PKCE challenge (for clients that must
// send one), a method other than exactly S256 or one without a challenge,
// and a prompt fosite would read differently or that combines none with
// other values (OIDC Core §3.1.2.1). See params.go for the strict reading.
func checkAuthorizeParams(ctx context.Context, ar fosite.AuthorizeRequester) error {
	form := ar.GetRequestForm()
	if err := parseResponseType(form); err != nil {
		return err
	}
	if challenge := form.Get("code_challenge"); challenge == "" {
		if form.Has("code_challenge_method") {
			return fosite.ErrInvalidRequest.WithHint("The code_challenge_method was sent without a code_challenge.")
		}
		if (rotorConfig{}).GetEnforcePKCE(context.WithValue(ctx, fosite.AuthorizeRequestContextKey, ar)) {
			return fosite.ErrInvalidRequest.WithHint("Clients must include a code_challenge (PKCE with S256) in the authorization request.")
		}
	} else if form.Get("code_challenge_method") != "S256" {
		return fosite.ErrInvalidRequest.WithHint("Clients must use code_challenge_method=S256.")
	}
	_, err := parsePrompt(form)
	return err
}

// authorizeError sends err to the client's redirect URI when fosite has
// validated it, with state and iss (RFC 9207); otherwise it renders an
// error page and never redirects, so Rotor can't be used as an open
// redirector.
func (s *Server) authorizeError(c echo.Context, ar fosite.AuthorizeRequester, err error) error {
	rfc := oauthError(err)
	s.logError(c, rfc, err)
	s.countShed(err)
	if ar == nil || !ar.IsRedirectURIValid() || ar.GetRedirectURI() == nil {
		status := rfc.CodeField
		// 401 (invalid_client) would need a WWW-Authenticate challenge
		// (RFC 9110 §15.5.2); a browser can't answer one: it's a bad request.
		if status < 400 || status == http.StatusUnauthorized ||
			status >= 500 && rfc.ErrorField != fosite.ErrTemporarilyUnavailable.ErrorField {
			status = http.StatusBadRequest
		}
		return s.renderError(c, status, "Sign-in request rejected", rfc.GetDescription(), rfc.ErrorField)
	}
	u := *ar.GetRedirectURI()
	q := u.Query()
	q.Set("error", rfc.ErrorField)
	if d := rfc.GetDescription(); d != "" {
		q.Set("error_description", d)
	}
	if st := ar.GetState(); st != "" {
		q.Set("state", st)
	}
	q.Set("iss", s.issuer)
	u.RawQuery = q.Encode()
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(http.StatusSeeOther, u.String())
}

// promptValues is the OIDC prompt parameter of a request
// checkAuthorizeParams has accepted.
func promptValues(ar fosite.AuthorizeRequester) map[string]bool {
	out, err := parsePrompt(ar.GetRequestForm())
	if err != nil {
		return map[string]bool{}
	}
	return out
}

// maxAgeExceeded reports whether the browser's login is older than the
// request's max_age (OIDC Core §3.1.2.1).
func maxAgeExceeded(ar fosite.AuthorizeRequester, bs *storage.BrowserSession, now time.Time) bool {
	v := ar.GetRequestForm().Get("max_age")
	if v == "" {
		return false
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil || secs < 0 {
		return false
	}
	// Compare with auth_time as the ID token states it (whole seconds), as
	// fosite's OpenID Connect validator does when the code is issued;
	// otherwise a login less than a second short of max_age could pass
	// here and fail there with login_required instead of showing the login
	// page.
	return now.Sub(bs.AuthTime.UTC().Truncate(time.Second)) > time.Duration(secs)*time.Second
}

// needsConsent reports whether the user must approve the requested scopes:
// never for first-party clients, always with prompt=consent, otherwise
// when a requested scope was not granted before.
func (s *Server) needsConsent(ctx context.Context, ar fosite.AuthorizeRequester, userID string, prompt map[string]bool) (bool, error) {
	client, err := s.store.Client(ctx, ar.GetClient().GetID())
	if err != nil {
		return false, err
	}
	if client.FirstParty {
		return false, nil
	}
	if prompt["consent"] {
		return true, nil
	}
	granted, err := s.store.GrantedScopes(ctx, userID, client.GetID())
	if errors.Is(err, fosite.ErrNotFound) {
		return true, nil
	} else if err != nil {
		return false, err
	}
	for _, sc := range ar.GetRequestedScopes() {
		if !slices.Contains(granted, sc) {
			return true, nil
		}
	}
	return false, nil
}

// issueCode completes the authorization: fosite mints the code (and
// stores the PKCE challenge and OIDC request), Rotor adds iss.
func (s *Server) issueCode(c echo.Context, ar fosite.AuthorizeRequester, bs *storage.BrowserSession) error {
	ctx := c.Request().Context()
	for _, sc := range ar.GetRequestedScopes() {
		ar.GrantScope(sc)
	}
	aud := ar.GetRequestedAudience()
	if len(aud) == 0 {
		aud = ar.GetClient().GetAudience()
	}
	for _, a := range aud {
		ar.GrantAudience(a)
	}
	sess, err := s.userSession(ctx, bs.UserID, bs.AuthTime, ar.GetRequestedAt(), bs.SID, ar.GetGrantedScopes())
	if err != nil {
		return s.authorizeError(c, ar, err)
	}
	resp, err := s.oauth.NewAuthorizeResponse(ctx, ar, sess)
	if err != nil {
		return s.authorizeError(c, ar, err)
	}
	resp.AddParameter("iss", s.issuer)
	s.oauth.WriteAuthorizeResponse(ctx, c.Response(), ar, resp)
	return nil
}

// userSession builds the fosite session for a signed-in user: subject,
// the ID token claims (auth_time, sid) and, with scope email, the email.
func (s *Server) userSession(ctx context.Context, userID string, authTime, requestedAt time.Time, sid string, scopes fosite.Arguments) (*openid.DefaultSession, error) {
	extra := map[string]any{}
	if sid != "" {
		extra["sid"] = sid
	}
	if scopes.Has("email") {
		u, err := s.store.UserByID(ctx, userID)
		if err != nil {
			return nil, err
		}
		extra["email"] = u.Email
		extra["email_verified"] = false // Rotor does not verify addresses
	}
	return &openid.DefaultSession{
		Subject: userID,
		Claims: &jwt.IDTokenClaims{
			Subject:     userID,
			AuthTime:    authTime.UTC().Truncate(time.Second),
			RequestedAt: requestedAt.UTC(),
			Extra:       extra,
		},
		Headers: &jwt.Headers{},
	}, nil
}

// authorizeRequestFrom rebuilds the original GET authorization request
// from the query a login or consent form carried back.
func authorizeRequestFrom(r *http.Request, rawQuery string) (*http.Request, error) {
	if _, err := url.ParseQuery(rawQuery); err != nil || len(rawQuery) > 8192 {
		return nil, errors.New("bad authorize_query")
	}
	r2 := r.Clone(r.Context())
	r2.Method = http.MethodGet
	r2.URL = &url.URL{Path: pathAuthorize, RawQuery: rawQuery}
	r2.Body = http.NoBody
	r2.ContentLength = 0
	r2.Header.Del("Content-Type")
	r2.Form, r2.PostForm = nil, nil
	return r2, nil
}
