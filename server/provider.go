package server

import (
	"context"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/hmac"

	"rotor/storage"
)

// grantTypes lists the grants Rotor serves. The same list drives the
// fosite handlers below and the discovery document, so they can't drift.
var grantTypes = []struct {
	name    string
	factory compose.Factory
}{
	{"password", compose.OAuth2ResourceOwnerPasswordCredentialsFactory},
	{"refresh_token", nil}, // composed by hand: see rotatingRefreshGrant
	{"client_credentials", compose.OAuth2ClientCredentialsGrantFactory},
}

// tokenEndpointAuthMethods are the client authentication methods fosite's
// default strategy accepts for Rotor's clients.
var tokenEndpointAuthMethods = []string{"client_secret_basic", "client_secret_post", "none"}

// providerSettings is what the fosite composition needs from configuration.
type providerSettings struct {
	Issuer         string
	AccessTokenTTL time.Duration
	RefreshIdleTTL time.Duration
	HMACKey        []byte // 32 bytes
	SuccessorKey   []byte
	SecretHasher   fosite.Hasher
	Now            func() time.Time
}

// newProvider composes fosite: its token, introspection and revocation
// handlers over Rotor's storage and token strategy.
func newProvider(set providerSettings, store Store, keySet KeySet) (fosite.OAuth2Provider, *tokenStrategy) {
	cfg := &fosite.Config{
		AccessTokenIssuer:     set.Issuer,
		IDTokenIssuer:         set.Issuer,
		TokenURL:              set.Issuer + "/oauth2/token",
		AccessTokenLifespan:   set.AccessTokenTTL,
		RefreshTokenLifespan:  set.RefreshIdleTTL,
		AuthorizeCodeLifespan: time.Minute,
		GlobalSecret:          set.HMACKey,
		ClientSecretsHasher:   set.SecretHasher,
		ScopeStrategy:         fosite.ExactScopeStrategy,
		// Audiences are API identifiers, not URLs to prefix-match.
		AudienceMatchingStrategy: fosite.ExactAudienceMatchingStrategy,
		// Every login gets a refresh token; whether it may be used is the
		// client's refresh_token grant.
		RefreshTokenScopes: []string{},
		TokenEntropy:       32,
	}
	strategy := &tokenStrategy{
		HMACSHAStrategy: oauth2.NewHMACSHAStrategy(&hmac.HMACStrategy{Config: cfg}, cfg),
		access: &accessTokenStrategy{
			keys: keySet, alg: jose.ES256, issuer: set.Issuer, ttl: set.AccessTokenTTL, now: set.Now,
		},
		hmacKey:      set.HMACKey,
		successorKey: set.SuccessorKey,
	}
	factories := []compose.Factory{}
	for _, g := range grantTypes {
		if g.factory != nil {
			factories = append(factories, g.factory)
		}
	}
	factories = append(factories,
		func(config fosite.Configurator, st any, strat any) any {
			return &rotatingRefreshGrant{
				RefreshTokenGrantHandler: compose.OAuth2RefreshTokenGrantFactory(config, st, strat).(*oauth2.RefreshTokenGrantHandler),
				families:                 store,
			}
		},
		// Storage-backed introspection: a revoked JWT still verifies, so
		// the stateless JWT introspector would call it active.
		compose.OAuth2TokenIntrospectionFactory,
		compose.OAuth2TokenRevocationFactory,
	)
	return compose.Compose(cfg, store, strategy, factories...), strategy
}

// Store is everything the server needs from storage.
type Store interface {
	storage.FositeStore
	familyRevoker
	Ping(ctx context.Context) error
}
