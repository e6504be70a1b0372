package server

import (
	"context"
	"errors"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
)

// storageIntrospector is fosite's token introspection handler for Rotor,
// in place of fosite's CoreValidator. That one tries one lookup, then the
// other, and returns the second one's error: a database failure reading a
// live refresh token came back as the access token lookup's "not found",
// and the token was reported inactive. Here the lookup order is explicit
// and a storage failure, anywhere, is temporarily_unavailable: a fault
// never looks like an answer. Only "not found" and "inactive" from storage
// move on to the other kind.
type storageIntrospector struct {
	strategy oauth2.CoreStrategy
	store    oauth2.CoreStorage
	scopes   fosite.ScopeStrategyProvider
}

var _ fosite.TokenIntrospector = (*storageIntrospector)(nil)

// IntrospectToken tries the hinted kind first (RFC 7662 §2.1), then the
// other; access tokens come first without a hint.
func (v *storageIntrospector) IntrospectToken(ctx context.Context, token string, use fosite.TokenUse, ar fosite.AccessRequester, scopes []string) (fosite.TokenUse, error) {
	kinds := [2]fosite.TokenUse{fosite.AccessToken, fosite.RefreshToken}
	if use == fosite.RefreshToken {
		kinds[0], kinds[1] = kinds[1], kinds[0]
	}
	for _, kind := range kinds {
		found, err := v.lookup(ctx, kind, token, ar.GetSession())
		switch {
		case err == nil:
		case errors.Is(err, fosite.ErrNotFound), errors.Is(err, fosite.ErrInactiveToken):
			continue
		default: // whatever the storage error, it decides nothing
			return "", fosite.ErrTemporarilyUnavailable.WithWrap(err)
		}
		if err := v.validate(ctx, kind, found, token); err != nil {
			return "", fosite.ErrInactiveToken.WithWrap(err)
		}
		if err := matchScopes(v.scopes.GetScopeStrategy(ctx), found.GetGrantedScopes(), scopes); err != nil {
			return "", err
		}
		ar.Merge(found)
		return kind, nil
	}
	return "", fosite.ErrInactiveToken
}

// lookup reads the token as kind from storage; an empty signature (a
// malformed or non-canonical token) is not found without a query.
func (v *storageIntrospector) lookup(ctx context.Context, kind fosite.TokenUse, token string, sess fosite.Session) (fosite.Requester, error) {
	if kind == fosite.AccessToken {
		sig := v.strategy.AccessTokenSignature(ctx, token)
		if sig == "" {
			return nil, fosite.ErrNotFound
		}
		return v.store.GetAccessTokenSession(ctx, sig, sess)
	}
	sig := v.strategy.RefreshTokenSignature(ctx, token)
	if sig == "" {
		return nil, fosite.ErrNotFound
	}
	return v.store.GetRefreshTokenSession(ctx, sig, sess)
}

func (v *storageIntrospector) validate(ctx context.Context, kind fosite.TokenUse, req fosite.Requester, token string) error {
	if kind == fosite.AccessToken {
		return v.strategy.ValidateAccessToken(ctx, req, token)
	}
	return v.strategy.ValidateRefreshToken(ctx, req, token)
}

// storageFault reports a storage error that is no verdict on a token: not
// "not found", not "inactive", and none of the token strategies' own
// rejections (those are fosite's RFC errors). The edge answers it 503.
func storageFault(err error) bool {
	var rfc *fosite.RFC6749Error
	return err != nil && !errors.Is(err, fosite.ErrNotFound) && !errors.Is(err, fosite.ErrInactiveToken) && !errors.As(err, &rfc)
}

// matchScopes is fosite's check that the introspection request's scope
// parameter names only granted scopes.
func matchScopes(ss fosite.ScopeStrategy, granted, scopes []string) error {
	for _, scope := range scopes {
		if scope != "" && !ss(granted, scope) {
			return fosite.ErrInvalidScope.WithHintf("The request scope '%s' has not been granted.", scope)
		}
	}
	return nil
}

// introspectorFactory composes storageIntrospector in place of fosite's
// OAuth2TokenIntrospectionFactory.
func introspectorFactory(config fosite.Configurator, store any, strategy any) any {
	return &storageIntrospector{
		strategy: strategy.(oauth2.CoreStrategy),
		store:    store.(oauth2.CoreStorage),
		scopes:   config,
	}
}
