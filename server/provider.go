package server

import (
	"context"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/ory/fosite"
	"github.com/ory/fosite/compose"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/hmac"

	"github.com/rotorauth/rotor/storage"
)

// grantTypes lists the grants Rotor serves. The same list drives the
// fosite handlers below and the discovery document, so they can't drift.
var grantTypes = []struct {
	name    string
	factory compose.Factory
}{
	{"authorization_code", codeGrantFactory},
	// The password grant is deprecated for third parties (OAuth 2.1); Rotor
	// allows it only to first-party clients; see firstPartyPasswordGrant.
	{"password", passwordGrantFactory},
	{"refresh_token", refreshGrantFactory},
	{"client_credentials", compose.OAuth2ClientCredentialsGrantFactory},
}

// tokenEndpointAuthMethods are the client authentication methods fosite's
// default strategy accepts for Rotor's clients.
var tokenEndpointAuthMethods = []string{"client_secret_basic", "client_secret_post", "none"}

// Store is everything the server needs from storage.
type Store interface {
	storage.FositeStore
	familyRevoker
	Ping(ctx context.Context) error
	Client(ctx context.Context, id string) (*storage.Client, error)
	UserByID(ctx context.Context, id string) (storage.User, error)
	CreateBrowserSession(ctx context.Context, cookie string, bs storage.BrowserSession) error
	BrowserSessionByCookie(ctx context.Context, cookie string) (storage.BrowserSession, error)
	EndBrowserSession(ctx context.Context, sid, reason string) (int, error)
	GrantedScopes(ctx context.Context, userID, clientID string) ([]string, error)
	GrantScopes(ctx context.Context, userID, clientID string, scopes []string) error
	CreateBFFSession(ctx context.Context, cookie string, bs storage.BFFSession) error
	BFFSessionByCookie(ctx context.Context, cookie string) (storage.BFFSession, error)
	UpdateBFFTokens(ctx context.Context, idHash string, sealed []byte, issuedAt, expiresAt time.Time) error
	DeleteBFFSession(ctx context.Context, idHash string) error
	FamilyLive(ctx context.Context, id string) (bool, error)
	Throttle(ctx context.Context, key string, p storage.ThrottlePolicy) (storage.ThrottleState, error)
	ThrottleFail(ctx context.Context, key string, p storage.ThrottlePolicy) (time.Duration, error)
	ThrottleReset(ctx context.Context, key string) error
	RecordAudit(ctx context.Context, e storage.AuditEvent) error
	RecordAudits(ctx context.Context, events []storage.AuditEvent) error
}

// providerSettings is what the fosite composition needs from configuration.
type providerSettings struct {
	Issuer         string
	AccessTokenTTL time.Duration
	AccessTokenAlg jose.SignatureAlgorithm
	RefreshIdleTTL time.Duration
	HMACKey        []byte // 32 bytes
	// PreviousHMACKeys still validate refresh tokens and codes signed
	// before the system secret was rotated.
	PreviousHMACKeys [][]byte
	SuccessorKey     []byte
	SecretHasher     fosite.Hasher
	Now              func() time.Time
}

// rotorConfig is fosite's configuration with Rotor's per-client policy.
type rotorConfig struct {
	*fosite.Config
}

// GetEnforcePKCE requires PKCE of every client (OAuth 2.1), except a
// confidential client registered as a legacy client without PKCE.
func (c rotorConfig) GetEnforcePKCE(ctx context.Context) bool {
	cl, ok := clientInContext(ctx).(*storage.Client)
	return !(ok && cl.PKCEOptional && !cl.IsPublic())
}

// clientInContext finds the client of the request fosite is handling.
func clientInContext(ctx context.Context) fosite.Client {
	if ar, ok := ctx.Value(fosite.AuthorizeRequestContextKey).(fosite.AuthorizeRequester); ok {
		return ar.GetClient()
	}
	if ar, ok := ctx.Value(fosite.AccessRequestContextKey).(fosite.AccessRequester); ok {
		return ar.GetClient()
	}
	return nil
}

// newProvider composes fosite: its authorize, token, introspection and
// revocation handlers over Rotor's storage and token strategies.
func newProvider(set providerSettings, store Store, keySet KeySet, m *metrics) (fosite.OAuth2Provider, *accessTokenStrategy) {
	base := &fosite.Config{
		AccessTokenIssuer:     set.Issuer,
		IDTokenIssuer:         set.Issuer,
		TokenURL:              set.Issuer + pathToken,
		AccessTokenLifespan:   set.AccessTokenTTL,
		RefreshTokenLifespan:  set.RefreshIdleTTL,
		IDTokenLifespan:       set.AccessTokenTTL,
		AuthorizeCodeLifespan: time.Minute,
		GlobalSecret:          set.HMACKey,
		RotatedGlobalSecrets:  set.PreviousHMACKeys,
		ClientSecretsHasher:   set.SecretHasher,
		ScopeStrategy:         fosite.ExactScopeStrategy,
		// Audiences are API identifiers, not URLs to prefix-match.
		AudienceMatchingStrategy: fosite.ExactAudienceMatchingStrategy,
		// Every login gets a refresh token if its client may use the
		// refresh_token grant; offline_access is not required.
		RefreshTokenScopes:             []string{},
		TokenEntropy:                   32,
		EnforcePKCE:                    true,
		EnablePKCEPlainChallengeMethod: false,
		ResponseModeHandlerExtension:   nil,
	}
	cfg := rotorConfig{base}
	base.ClientAuthenticationStrategy = newClientAuthenticator(store, cfg).authenticate
	alg := set.AccessTokenAlg
	if alg == "" {
		alg = jose.ES256
	}
	access := &accessTokenStrategy{keys: keySet, alg: alg, issuer: set.Issuer, ttl: set.AccessTokenTTL, now: set.Now,
		verified: newVerifiedTokens(verifiedTokensCached)}
	idSigner := &idTokenSigner{keys: keySet}
	strategy := &compose.CommonStrategy{
		CoreStrategy: newTokenStrategy(oauth2.NewHMACSHAStrategy(&hmac.HMACStrategy{Config: base}, base),
			access, set.HMACKey, set.SuccessorKey),
		OpenIDConnectTokenStrategy: familyBoundIDTokens{&openid.DefaultStrategy{Signer: idSigner, Config: cfg}},
		Signer:                     idSigner,
	}
	factories := []compose.Factory{}
	for _, g := range grantTypes {
		factories = append(factories, g.factory)
	}

	factories = append(factories,
		compose.OAuth2PKCEFactory,
		compose.OpenIDConnectExplicitFactory,
		compose.OpenIDConnectRefreshFactory,
		passwordIDTokenFactory,
		// Storage-backed introspection: a revoked JWT still verifies, so
		// the stateless JWT introspector would call it active.
		introspectorFactory,
		revocationFactory,
	)
	provider := fosite.NewOAuth2Provider(store, cfg)
	for _, factory := range factories {
		res := factory(cfg, store, strategy)
		if h, ok := res.(fosite.AuthorizeEndpointHandler); ok {
			base.AuthorizeEndpointHandlers.Append(h)
		}
		if h, ok := res.(fosite.TokenEndpointHandler); ok {
			// Appended directly: fosite's Append drops handlers of a type it
			// already holds, and every wrapped handler is a quietHandler.
			base.TokenEndpointHandlers = append(base.TokenEndpointHandlers, newQuietHandler(h))
		}
		if h, ok := res.(*rotatingRefreshGrant); ok {
			h.reused = m.reuseDetection
		}
		if h, ok := res.(fosite.TokenIntrospector); ok {
			base.TokenIntrospectionHandlers.Append(h)
		}
		if h, ok := res.(fosite.RevocationHandler); ok {
			base.RevocationHandlers.Append(h)
		}
	}
	return provider, access
}

// refreshGrantFactory wraps fosite's refresh grant; see rotatingRefreshGrant.
func refreshGrantFactory(config fosite.Configurator, store any, strategy any) any {
	return &rotatingRefreshGrant{
		RefreshTokenGrantHandler: compose.OAuth2RefreshTokenGrantFactory(config, store, strategy).(*oauth2.RefreshTokenGrantHandler),
		families:                 store.(familyRevoker),
	}
}

// codeGrantFactory wraps fosite's authorization code grant; see singleUseCodeGrant.
func codeGrantFactory(config fosite.Configurator, store any, strategy any) any {
	return &singleUseCodeGrant{
		AuthorizeExplicitGrantHandler: compose.OAuth2AuthorizeExplicitFactory(config, store, strategy).(*oauth2.AuthorizeExplicitGrantHandler),
		families:                      store.(familyRevoker),
		sessions:                      store.(browserSessionChecker),
	}
}

// passwordIDTokenFactory adds ID tokens to the password grant.
func passwordIDTokenFactory(config fosite.Configurator, _ any, strategy any) any {
	return &passwordIDToken{
		helper: &openid.IDTokenHandleHelper{IDTokenStrategy: strategy.(openid.OpenIDConnectTokenStrategy)},
		config: config,
	}
}
