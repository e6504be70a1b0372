package server

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"
)

// maxFormBytes bounds token, revocation and introspection bodies.
const maxFormBytes = 64 << 10

// parseStrictForm reads an application/x-www-form-urlencoded body and
// rejects what RFC 6749 forbids or fosite would silently accept: a repeated
// parameter (§3.1, §3.2), another content type, a body over 64 KiB,
// malformed encoding, and a name or value that is not text (isText). The parsed form is left in r.PostForm, where fosite
// takes it without parsing again.
func parseStrictForm(r *http.Request) error {
	if r.Method != http.MethodPost {
		return fosite.ErrInvalidRequest.WithHint("The request must be a POST.")
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return fosite.ErrInvalidRequest.WithHint("The body must be application/x-www-form-urlencoded.")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFormBytes+1))
	if err != nil {
		return fosite.ErrInvalidRequest.WithHint("The body could not be read.").WithWrap(err)
	}
	if len(body) > maxFormBytes {
		return fosite.ErrInvalidRequest.WithHint("The body is larger than 64 KiB.")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return fosite.ErrInvalidRequest.WithHint("The body is not valid form encoding.").WithWrap(err)
	}
	for k, v := range form {
		if len(v) > 1 {
			return fosite.ErrInvalidRequest.WithHintf("The parameter '%s' is repeated.", truncate(k, 64))
		}
		if !isText(k) || !isText(v[0]) {
			return errNotText
		}
	}
	query := r.URL.Query()
	for k := range form {
		if query.Has(k) {
			return fosite.ErrInvalidRequest.WithHintf("The parameter '%s' is repeated.", truncate(k, 64))
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.PostForm = form
	r.Form = form
	return nil
}

// errNotText answers a parameter or credential that isn't text (isText).
var errNotText = fosite.ErrInvalidRequest.WithHint("Every parameter and credential must be UTF-8 text without NUL characters.")

// checkBasicText refuses HTTP Basic credentials that are not text, before
// or after their form-decoding (RFC 6749 §2.3.1): no client ID or secret
// is spelled so, and no database lookup or audit row may be attempted
// with one.
func checkBasicText(r *http.Request) error {
	id, secret, ok := r.BasicAuth()
	if !ok {
		return nil
	}
	for _, v := range []string{id, secret} {
		if !isText(v) {
			return errNotText
		}
		if d, err := url.QueryUnescape(v); err == nil && !isText(d) {
			return errNotText
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// strictForm is middleware applying parseStrictForm and
// checkOneAuthMethod, answering §5.2 JSON, and reading the revocation and introspection endpoints' token_type_hint
// the one way fosite will too (see params.go).
func (s *Server) strictForm(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		err := parseStrictForm(r)
		if err == nil {
			err = checkBasicText(r)
		}
		if err == nil {
			// Before any work, and for introspection too, where fosite
			// checks the caller's credentials without the client
			// authenticator.
			err = checkOneAuthMethod(r, r.PostForm)
		}
		if err != nil {
			return s.writeOAuthError(c, err)
		}
		switch c.Path() {
		case pathRevoke:
			if err := checkRevocationHint(r.PostForm); err != nil {
				return s.writeOAuthError(c, err)
			}
		case pathIntrospect:
			dropUnknownIntrospectionHint(r.PostForm)
		}
		return next(c)
	}
}
