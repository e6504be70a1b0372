package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"
)

// cookiePolicy decides cookie names and flags from the issuer: an https
// issuer gets __Host- prefixed, Secure cookies; an http://localhost issuer
// served on loopback only (development) gets plain names without Secure,
// which some clients would drop over http. A server listening beyond
// loopback always sets Secure.
type cookiePolicy struct {
	secure bool
	prefix string
}

func newCookiePolicy(issuer string, publicListener bool) cookiePolicy {
	u, err := url.Parse(issuer)
	if err == nil && u.Scheme == "http" && !publicListener {
		return cookiePolicy{}
	}
	if err == nil && u.Scheme == "http" {
		// __Host- needs Secure; keep the plain names so that the rest of
		// the policy reads the same cookies.
		return cookiePolicy{secure: true}
	}
	return cookiePolicy{secure: true, prefix: "__Host-"}
}

const (
	cookieSession = "rotor_session"
	cookieCSRF    = "rotor_csrf"
)

func (p cookiePolicy) name(base string) string { return p.prefix + base }

func (p cookiePolicy) set(c echo.Context, base, value string, ttl time.Duration, sameSite http.SameSite) {
	ck := &http.Cookie{
		Name:     p.name(base),
		Value:    value,
		Path:     "/",
		HttpOnly: true,
		Secure:   p.secure,
		SameSite: sameSite,
	}
	if ttl > 0 {
		ck.MaxAge = int(ttl.Seconds())
		ck.Expires = time.Now().Add(ttl)
	}
	c.SetCookie(ck)
}

func (p cookiePolicy) clear(c echo.Context, base string, sameSite http.SameSite) {
	c.SetCookie(&http.Cookie{Name: p.name(base), Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(0, 0),
		HttpOnly: true, Secure: p.secure, SameSite: sameSite})
}

func (p cookiePolicy) get(c echo.Context, base string) string {
	ck, err := c.Cookie(p.name(base))
	if err != nil || len(ck.Value) > 256 {
		return ""
	}
	return ck.Value
}

// randomToken returns 256 random bits, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// csrfToken returns the form token for the browser's CSRF cookie, setting
// the cookie first if the browser has none. The token is an HMAC of the
// cookie: a page on another origin can neither read the cookie nor compute
// the token, and a planted cookie is useless without the key.
func (s *Server) csrfToken(c echo.Context) string {
	v := s.cookies.get(c, cookieCSRF)
	if v == "" {
		v = randomToken()
		s.cookies.set(c, cookieCSRF, v, 0, http.SameSiteLaxMode)
	}
	return s.csrfMAC(v)
}

func (s *Server) csrfMAC(cookie string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// csrfValid checks a POSTed form token against the browser's cookie.
func (s *Server) csrfValid(c echo.Context) bool {
	v := s.cookies.get(c, cookieCSRF)
	got := c.FormValue("csrf_token")
	return v != "" && got != "" && hmac.Equal([]byte(got), []byte(s.csrfMAC(v)))
}
