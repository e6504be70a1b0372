package server

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/rotorauth/rotor/storage"
)

// BFFOptions configure the backend-for-frontend (the "BFF" pattern of the
// IETF draft OAuth 2.0 for Browser-Based Applications): a confidential
// client of this server that keeps a single-page app's tokens server-side.
type BFFOptions struct {
	ClientID, ClientSecret string
	// UpstreamURL is where /bff/api/* is forwarded.
	UpstreamURL string
	// EncryptionKey (32 bytes) seals the tokens stored in BFF sessions.
	EncryptionKey []byte
	// PreviousEncryptionKeys still open sessions sealed before a key change.
	PreviousEncryptionKeys [][]byte
	// SessionTTL bounds a BFF session (the family's absolute lifetime).
	SessionTTL time.Duration
}

const (
	cookieBFFSession = "rotor_bff_session"
	cookieBFFLogin   = "rotor_bff_login"
	bffLoginTTL      = 10 * time.Minute
	// pathBFFLoggedOut is the BFF's post_logout_redirect_uri (under the
	// issuer): the OP sends the browser there after ending its session.
	pathBFFLoggedOut = "/bff/logged-out"
)

// bffScopes: openid for the subject and the id_token_hint of logout,
// email for /bff/session. Not offline_access: the SPA's tokens serve a
// user at the browser, so their family ends with the browser's sign-in
// session (OIDC Core §11); Rotor issues the refresh token without it.
var bffScopes = []string{"openid", "email"}

type bff struct {
	s        *Server
	oauth    *oauth2.Config
	http     *http.Client
	aead     cipher.AEAD
	previous []cipher.AEAD
	upstream *url.URL
	origin   string
	ttl      time.Duration
	flight   singleflight.Group
}

func newBFF(s *Server, o BFFOptions) (*bff, error) {
	aead, err := newGCM(o.EncryptionKey)
	if err != nil {
		return nil, err
	}
	var previous []cipher.AEAD
	for _, k := range o.PreviousEncryptionKeys {
		old, err := newGCM(k)
		if err != nil {
			return nil, err
		}
		previous = append(previous, old)
	}
	up, err := url.Parse(o.UpstreamURL)
	if err != nil || up.Host == "" {
		return nil, fmt.Errorf("bff upstream url %q is not an absolute URL", o.UpstreamURL)
	}
	iss, err := url.Parse(s.issuer)
	if err != nil {
		return nil, fmt.Errorf("issuer: %w", err)
	}
	ttl := o.SessionTTL
	if ttl <= 0 {
		ttl = 30 * 24 * time.Hour
	}
	return &bff{
		s: s,
		oauth: &oauth2.Config{
			ClientID:     o.ClientID,
			ClientSecret: o.ClientSecret,
			Endpoint: oauth2.Endpoint{
				AuthURL:   s.issuer + pathAuthorize,
				TokenURL:  s.issuer + pathToken,
				AuthStyle: oauth2.AuthStyleInHeader,
			},
			RedirectURL: s.issuer + "/bff/callback",
			Scopes:      bffScopes,
		},
		http:     &http.Client{Transport: inProcess{handler: s.echo}, Timeout: 30 * time.Second},
		aead:     aead,
		previous: previous,
		upstream: up,
		origin:   iss.Scheme + "://" + iss.Host,
		ttl:      ttl,
	}, nil
}

func (b *bff) routes(e *echo.Echo) {
	g := e.Group("/bff", b.noStore)
	g.GET("/login", b.login)
	g.GET("/callback", b.callback)
	g.GET("/session", b.session)
	g.Any("/api/*", b.api, b.csrf)
	g.POST("/logout", b.logout, b.csrf)
	g.GET("/logged-out", b.loggedOut)
}

func (b *bff) noStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		return next(c)
	}
}

// setCookie writes a BFF cookie. They are always Secure (browsers treat
// http://localhost and 127.0.0.1 as secure contexts), HttpOnly, with an
// explicit SameSite, and __Host- prefixed on https.
func (b *bff) setCookie(c echo.Context, name, value string, maxAge int, sameSite http.SameSite) {
	c.SetCookie(&http.Cookie{
		Name: b.s.cookies.prefix + name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: true, SameSite: sameSite,
	})
}

func (b *bff) cookie(c echo.Context, name string) string {
	ck, err := c.Cookie(b.s.cookies.prefix + name)
	if err != nil || len(ck.Value) > 4096 {
		return ""
	}
	return ck.Value
}

// loginState travels in the short-lived login cookie, sealed: it is what
// lets the callback check state and send the PKCE verifier.
type loginState struct {
	State    string    `json:"s"`
	Verifier string    `json:"v"`
	ReturnTo string    `json:"r"`
	Expires  time.Time `json:"e"`
}

func bffError(c echo.Context, status int, code, desc string) error {
	return c.JSON(status, map[string]string{"error": code, "error_description": desc})
}

// login starts the authorization code flow with PKCE for the SPA.
func (b *bff) login(c echo.Context) error {
	returnTo := c.QueryParam("return_to")
	if returnTo == "" {
		returnTo = "/app/"
	}
	if !sameOriginPath(returnTo) {
		return bffError(c, http.StatusBadRequest, "invalid_request", "return_to must be a path on this site.")
	}
	ls := loginState{State: randomToken(), Verifier: oauth2.GenerateVerifier(), ReturnTo: returnTo, Expires: b.s.now().Add(bffLoginTTL)}
	raw, _ := json.Marshal(ls)
	sealed, err := b.seal(raw, []byte(cookieBFFLogin))
	if err != nil {
		return err
	}
	b.setCookie(c, cookieBFFLogin, sealed, int(bffLoginTTL.Seconds()), http.SameSiteLaxMode)
	return c.Redirect(http.StatusSeeOther, b.oauth.AuthCodeURL(ls.State, oauth2.S256ChallengeOption(ls.Verifier)))
}

// sameOriginPath accepts only a path on this origin: no scheme or host,
// and none of the forms browsers read as another host (//host, /\host).
func sameOriginPath(p string) bool {
	if len(p) > 2048 || !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n\t") {
		return false
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.Opaque == "" && u.User == nil
}

// callback finishes the login: it checks state and iss, exchanges the code
// (with the PKCE verifier), stores the session and sends the browser back
// to return_to, without code or state in the URL.
func (b *bff) callback(c echo.Context) error {
	raw := b.cookie(c, cookieBFFLogin)
	b.setCookie(c, cookieBFFLogin, "", -1, http.SameSiteLaxMode)
	var ls loginState
	plain, err := b.open(raw, []byte(cookieBFFLogin))
	if err != nil || json.Unmarshal(plain, &ls) != nil || b.s.now().After(ls.Expires) {
		return bffError(c, http.StatusBadRequest, "invalid_request", "No sign-in is in progress in this browser.")
	}
	q := c.QueryParams()
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(ls.State)) != 1 {
		return bffError(c, http.StatusBadRequest, "invalid_request", "The state does not match the sign-in in progress.")
	}
	if q.Get("iss") != b.s.issuer { // RFC 9207: defeats mix-up attacks
		return bffError(c, http.StatusBadRequest, "invalid_request", "The response comes from another issuer.")
	}
	if q.Get("error") != "" {
		return c.Redirect(http.StatusSeeOther, ls.ReturnTo)
	}
	ctx := oauth2ctx(c, b.http)
	tok, err := b.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(ls.Verifier))
	if err != nil {
		return b.tokenFailure(c, err)
	}
	toks, claims, err := tokensFrom(tok)
	if err != nil {
		return err
	}
	if toks.Family, err = b.familyOf(ctx, toks); err != nil {
		return err
	} else if toks.Family == "" {
		return errors.New("bff: the new access token belongs to no family")
	}
	cookie := randomToken()
	now := b.s.now()
	sealed, err := b.seal(toks.marshal(), []byte(storage.BFFSessionKey(cookie)))
	if err != nil {
		return err
	}
	err = b.s.store.CreateBFFSession(c.Request().Context(), cookie, storage.BFFSession{
		Subject: claims.Subject, Email: claims.Email, SealedTokens: []byte(sealed),
		AccessIssuedAt: now, AccessExpiresAt: tok.Expiry, ExpiresAt: now.Add(b.ttl),
	})
	if err != nil {
		return b.s.writeOAuthError(c, err)
	}
	b.setCookie(c, cookieBFFSession, cookie, int(b.ttl.Seconds()), http.SameSiteStrictMode)
	return c.Redirect(http.StatusSeeOther, ls.ReturnTo)
}

// tokenFailure answers a failed call to the token endpoint: a rejected
// grant is the browser's problem (4xx), anything else is ours (503).
func (b *bff) tokenFailure(c echo.Context, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
		return bffError(c, http.StatusBadRequest, "invalid_grant", "The sign-in could not be completed; try again.")
	}
	return b.s.writeOAuthError(c, fosite.ErrTemporarilyUnavailable.WithWrap(err))
}

// session reports who is signed in, or 401 (never a redirect: the SPA
// decides what to show).
func (b *bff) session(c echo.Context) error {
	sess, err := b.current(c)
	if err != nil {
		return b.sessionFailure(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{
		"sub":               sess.Subject,
		"email":             sess.Email,
		"expires_at":        sess.ExpiresAt.UTC().Format(time.RFC3339),
		"access_expires_at": sess.AccessExpiresAt.UTC().Format(time.RFC3339),
	})
}

// logout revokes the session's token family, forgets the session and
// answers with the OP's end-session URL, which the SPA opens so that the
// browser's sign-in session ends too (OpenID Connect RP-Initiated Logout
// §2, the BFF acting as any relying party would): on a shared device, the
// next /bff/login shows the login page. With a hint naming the browser's
// session the OP signs out at once and sends the browser to
// /bff/logged-out, then to return_to.
func (b *bff) logout(c echo.Context) error {
	returnTo := c.QueryParam("return_to")
	if returnTo == "" {
		returnTo = "/app/"
	}
	if !sameOriginPath(returnTo) {
		return bffError(c, http.StatusBadRequest, "invalid_request", "return_to must be a path on this site.")
	}
	sess, err := b.current(c)
	if errors.Is(err, errNoSession) {
		// Nothing left here (signed out already, or the family was revoked),
		// but the browser may still hold the OP's sign-in session, which
		// only the OP can end: without a hint it asks the user to confirm.
		b.setCookie(c, cookieBFFSession, "", -1, http.SameSiteStrictMode)
		return c.JSON(http.StatusOK, map[string]string{"end_session_url": b.endSessionURL(c, "", returnTo)})
	}
	if err != nil {
		return b.sessionFailure(c, err)
	}
	toks, err := b.tokens(sess)
	if err == nil && b.expired(toks.IDToken) {
		// An expired hint would make the OP ask the user to confirm: a
		// refresh brings a fresh ID token (and proves the family live).
		toks, err = b.refresh(context.WithoutCancel(c.Request().Context()), sess, toks)
		if errors.Is(err, errNoSession) {
			return b.sessionFailure(c, err)
		}
	}
	if err == nil {
		err = b.revoke(c, toks.Refresh)
	}
	if err != nil {
		return b.s.writeOAuthError(c, fosite.ErrTemporarilyUnavailable.WithWrap(err))
	}
	if err := b.s.store.DeleteBFFSession(c.Request().Context(), sess.IDHash); err != nil {
		return b.s.writeOAuthError(c, err)
	}
	b.setCookie(c, cookieBFFSession, "", -1, http.SameSiteStrictMode)
	return c.JSON(http.StatusOK, map[string]string{"end_session_url": b.endSessionURL(c, toks.IDToken, returnTo)})
}

// endSessionURL is the OP's logout URL for this BFF's ID token. The
// post_logout_redirect_uri is sent only when it is registered for the BFF's
// client: otherwise the OP would refuse the request, and without it the
// OP shows its signed-out page.
func (b *bff) endSessionURL(c echo.Context, idToken, returnTo string) string {
	q := url.Values{"client_id": {b.oauth.ClientID}}
	if idToken != "" {
		q.Set("id_token_hint", idToken)
		back := b.s.issuer + pathBFFLoggedOut
		if cl, err := b.s.store.Client(c.Request().Context(), b.oauth.ClientID); err == nil && slices.Contains(cl.PostLogoutRedirectURIs, back) {
			q.Set("post_logout_redirect_uri", back)
			q.Set("state", returnTo)
		}
	}
	return b.s.issuer + pathLogout + "?" + q.Encode()
}

// loggedOut is where the OP sends the browser after logout: on to the
// path in state, a path on this site (or the app's home).
func (b *bff) loggedOut(c echo.Context) error {
	to := c.QueryParam("state")
	if !sameOriginPath(to) {
		to = "/app/"
	}
	return c.Redirect(http.StatusSeeOther, to)
}

// revoke revokes a refresh token (and so its family) at Rotor's RFC 7009
// endpoint, as the BFF's client.
func (b *bff) revoke(c echo.Context, refresh string) error {
	form := url.Values{"token": {refresh}, "token_type_hint": {"refresh_token"}}
	req, err := http.NewRequestWithContext(c.Request().Context(), http.MethodPost, b.s.issuer+pathRevoke, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(b.oauth.ClientID), url.QueryEscape(b.oauth.ClientSecret))
	resp, err := b.http.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoke bff session tokens: status %d", resp.StatusCode)
	}
	return nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("bff encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("bff encryption key: %w", err)
	}
	return aead, nil
}
