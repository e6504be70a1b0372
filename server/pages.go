package server

import (
	"bytes"
	"fmt"

	"github.com/labstack/echo/v4"
)

// pageCSP allows no script at all and no framing: the pages are plain
// forms. form-action is left out on purpose: browsers apply it to the
// redirect that follows a POST, which goes to the client's origin.
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// render writes a server-rendered page with the headers every HTML page
// needs: no caching (pages carry CSRF tokens), no framing, no script.
func (s *Server) render(c echo.Context, status int, name string, data map[string]any) error {
	t, ok := s.pages[name]
	if !ok {
		return fmt.Errorf("render: no page %s", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	h := c.Response().Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	return c.HTMLBlob(status, buf.Bytes())
}

// renderError shows an error page; used where redirecting the error to the
// client would be unsafe (unknown client or redirect URI).
func (s *Server) renderError(c echo.Context, status int, title, message, code string) error {
	return s.render(c, status, "error.html", map[string]any{"Title": title, "Message": message, "Code": code})
}
