package server

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// discoveryDocument is RFC 8414 authorization server metadata; the OpenID
// Connect discovery document is the same object under another path.
type discoveryDocument struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	EndSessionEndpoint                string   `json:"end_session_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	RevocationAuthMethodsSupported    []string `json:"revocation_endpoint_auth_methods_supported"`
	IntrospectionAuthMethodsSupported []string `json:"introspection_endpoint_auth_methods_supported"`
	AccessTokenSigningAlgs            []string `json:"access_token_signing_alg_values_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgs                []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	PromptValuesSupported             []string `json:"prompt_values_supported"`
	// RFC 9207: every authorization response carries iss.
	AuthorizationResponseISS bool `json:"authorization_response_iss_parameter_supported"`
}

func (s *Server) discovery() discoveryDocument {
	grants := make([]string, 0, len(grantTypes))
	for _, g := range grantTypes {
		grants = append(grants, g.name)
	}
	return discoveryDocument{
		Issuer:                            s.issuer,
		AuthorizationEndpoint:             s.issuer + pathAuthorize,
		UserinfoEndpoint:                  s.issuer + pathUserinfo,
		EndSessionEndpoint:                s.issuer + pathLogout,
		TokenEndpoint:                     s.issuer + pathToken,
		JWKSURI:                           s.issuer + pathJWKS,
		RevocationEndpoint:                s.issuer + pathRevoke,
		IntrospectionEndpoint:             s.issuer + pathIntrospect,
		GrantTypesSupported:               grants,
		ResponseTypesSupported:            []string{"code"},
		TokenEndpointAuthMethodsSupported: tokenEndpointAuthMethods,
		RevocationAuthMethodsSupported:    tokenEndpointAuthMethods,
		IntrospectionAuthMethodsSupported: []string{"client_secret_basic"},
		AccessTokenSigningAlgs:            []string{string(s.access.alg)},
		ResponseModesSupported:            []string{"query"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgs:                []string{string(idTokenAlg)},
		CodeChallengeMethodsSupported:     []string{"S256"},
		ScopesSupported:                   []string{"openid", "email", "offline_access"},
		ClaimsSupported:                   []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "email", "email_verified"},
		PromptValuesSupported:             []string{"none", "login", "consent"},
		AuthorizationResponseISS:          true,
	}
}

func (s *Server) serveDiscovery(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=3600")
	return c.JSON(http.StatusOK, s.discoveryDoc)
}

// jwks serves the public keys. The body is cached by package keys (it is
// on every API's verification path); max-age is shorter than the time a
// new key is published before it signs, and the ETag lets caches
// revalidate cheaply.
func (s *Server) jwks(c echo.Context) error {
	body := s.keys.JWKSJSON()
	etag := s.jwksETag(body)
	h := c.Response().Header()
	h.Set("Cache-Control", s.jwksCacheControl)
	h.Set("ETag", etag)
	if match := c.Request().Header.Get("If-None-Match"); match != "" && etagMatches(match, etag) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, "application/jwk-set+json", body)
}

// jwksTag is the ETag of one JWKS body.
type jwksTag struct {
	body []byte
	etag string
}

// jwksETag returns body's ETag, hashing only when the key set (whose
// marshalled form the key manager keeps until it changes) is new.
func (s *Server) jwksETag(body []byte) string {
	if t := s.jwksTag.Load(); t != nil && len(t.body) == len(body) && (len(body) == 0 || &t.body[0] == &body[0]) {
		return t.etag
	}
	sum := sha256.Sum256(body)
	t := &jwksTag{body: body, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`}
	s.jwksTag.Store(t)
	return t.etag
}

// etagMatches implements If-None-Match's list and weak comparison (RFC 9110 §13.1.2).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
