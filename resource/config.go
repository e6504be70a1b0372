package resource

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// defaultHTTPTimeout bounds every request to the issuer when Config.HTTPClient
// is not set.
const defaultHTTPTimeout = 10 * time.Second

// Config describes which tokens a Verifier accepts and how it reaches the
// issuer.
type Config struct {
	// Issuer is Rotor's issuer URL. It is required and must equal the
	// token's "iss" claim exactly.
	Issuer string
	// Audience identifies this API. It is required: the token's "aud" claim
	// must contain it.
	Audience string
	// JWKSURL is where the signing keys are fetched. It defaults to
	// Issuer + "/.well-known/jwks.json".
	JWKSURL string
	// HTTPClient is used for every request to the issuer. It defaults to a
	// client with a 10 second timeout.
	HTTPClient *http.Client
	// Introspection, when set, also asks the issuer whether the token is
	// still active (that is, not revoked), after the offline checks pass.
	// This costs one request to the issuer per verified token.
	Introspection *Introspection
	// Leeway is the clock skew allowed when checking "exp", "iat" and "nbf".
	// It defaults to zero; a few seconds is reasonable when clocks drift.
	Leeway time.Duration
	// Now returns the current time. It defaults to time.Now and exists for
	// tests.
	Now func() time.Time
}

// Introspection configures the RFC 7662 token introspection check.
type Introspection struct {
	// URL is the introspection endpoint. It defaults to
	// Issuer + "/oauth2/introspect".
	URL string
	// ClientID identifies this API to the issuer (HTTP Basic user name). It
	// is required.
	ClientID string
	// ClientSecret authenticates this API to the issuer (HTTP Basic
	// password).
	ClientSecret string
}

// Verifier checks Rotor access tokens. It is safe for concurrent use and
// should be created once and shared, so that its key cache is shared too.
type Verifier struct {
	issuer        string
	audience      string
	leeway        time.Duration
	now           func() time.Time
	keys          *keySet
	introspection *introspector
}

// NewVerifier validates cfg, fills in its defaults and returns a Verifier.
// It does not contact the issuer: keys are fetched on first use.
func NewVerifier(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("resource: Config.Issuer is required")
	}
	if err := checkURL("Config.Issuer", cfg.Issuer); err != nil {
		return nil, err
	}
	if cfg.Audience == "" {
		return nil, errors.New("resource: Config.Audience is required")
	}
	if cfg.Leeway < 0 {
		return nil, errors.New("resource: Config.Leeway must not be negative")
	}
	base := strings.TrimSuffix(cfg.Issuer, "/")
	jwksURL := cfg.JWKSURL
	if jwksURL == "" {
		jwksURL = base + "/.well-known/jwks.json"
	}
	if err := checkURL("Config.JWKSURL", jwksURL); err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: defaultHTTPTimeout}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	v := &Verifier{
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		leeway:   cfg.Leeway,
		now:      now,
		keys:     &keySet{url: jwksURL, client: client, now: now},
	}
	if in := cfg.Introspection; in != nil {
		if in.ClientID == "" {
			return nil, errors.New("resource: Config.Introspection.ClientID is required")
		}
		endpoint := in.URL
		if endpoint == "" {
			endpoint = base + "/oauth2/introspect"
		}
		if err := checkURL("Config.Introspection.URL", endpoint); err != nil {
			return nil, err
		}
		v.introspection = &introspector{
			url:          endpoint,
			clientID:     in.ClientID,
			clientSecret: in.ClientSecret,
			client:       client,
		}
	}
	return v, nil
}

// checkURL reports whether raw is an absolute http or https URL.
func checkURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("resource: %s must be an absolute http(s) URL, got %q", field, raw)
	}
	return nil
}
