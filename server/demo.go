package server

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/rotorauth/rotor/resource"
	"github.com/rotorauth/rotor/templates"
)

// DemoOptions configure the demo API and app.
type DemoOptions struct {
	// Audience is what the demo API requires in an access token's aud.
	Audience string
}

// appCSP lets the demo app run its own script file and call its own
// origin, nothing else.
const appCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// demoRoutes serve the demo API at /demo-api/hello, a resource server
// inside the binary that trusts only valid Rotor access tokens (checked by
// package resource exactly as a third-party API would), and the demo app.
func (s *Server) demoRoutes(o DemoOptions) error {
	v, err := resource.NewVerifier(resource.Config{
		Issuer:     s.issuer,
		Audience:   o.Audience,
		HTTPClient: &http.Client{Transport: inProcess{handler: s.echo}, Timeout: 10 * time.Second},
	})
	if err != nil {
		return err
	}
	api := s.echo.Group("/demo-api", resource.EchoMiddleware(v))
	api.GET("/hello", func(c echo.Context) error {
		claims, _ := resource.ClaimsFrom(c)
		return c.JSON(http.StatusOK, map[string]any{
			"message":   "Hello from the demo API",
			"sub":       claims.Subject,
			"client_id": claims.ClientID,
			"scope":     claims.Scopes,
			"time":      s.now().UTC().Format(time.RFC3339),
		})
	})
	return nil
}

// appRoutes serve the demo single-page app from the binary.
func (s *Server) appRoutes() {
	app := s.echo.Group("/app", func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("Content-Security-Policy", appCSP)
			h.Set("Cache-Control", "no-cache")
			return next(c)
		}
	})
	s.echo.GET("/app", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/app/") })
	app.GET("/", func(c echo.Context) error {
		b, err := templates.AppFile("index.html")
		if err != nil {
			return err
		}
		return c.HTMLBlob(http.StatusOK, b)
	})
	app.StaticFS("/", templates.App())
}
