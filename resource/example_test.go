package resource_test

import (
	"log"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/rotorauth/rotor/resource"
)

// This is the README example; it is compiled, not run.
func ExampleEchoMiddleware() {
	v, err := resource.NewVerifier(resource.Config{
		Issuer:   "https://rotor.example.com", // must equal the token's "iss"
		Audience: "https://api.example.com",   // must be in the token's "aud"
	})
	if err != nil {
		log.Fatal(err)
	}
	e := echo.New()
	api := e.Group("/api")
	api.Use(resource.EchoMiddleware(v)) // or EchoMiddleware(v, "items:read") to require scopes
	api.GET("/me", func(c echo.Context) error {
		claims, _ := resource.ClaimsFrom(c)
		return c.JSON(http.StatusOK, map[string]string{"sub": claims.Subject, "client": claims.ClientID})
	})
}
