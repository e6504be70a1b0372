package server

import (
	"slices"

	"github.com/ory/fosite"
)

// scopeCollector stands in for the access request while fosite's refresh
// handler runs: the scopes fosite grants (those of the presented token)
// are collected, not granted, so that narrowRefreshScope decides the new
// token's scopes. Everything else reaches the request.
type scopeCollector struct {
	fosite.AccessRequester
	granted []string
}

func (c *scopeCollector) GrantScope(scope string) { c.granted = append(c.granted, scope) }

// narrowRefreshScope grants a refresh's new access token its scopes (RFC
// 6749 §6): with no scope parameter, the family's whole grant; with one,
// exactly the scopes asked for, each of which must be in the family's
// grant, or the request is invalid_scope. fosite v0.49 ignores the
// parameter and silently grants the old scopes.
//
// The family's grant is the login's: the login's requested scopes, which
// Rotor grants in full (grantRequested, issueCode) and fosite carries
// unchanged from token to token, plus the presented token's own grant. So
// a narrower refresh narrows only its own tokens, and a later refresh
// without a scope gets the original scopes again. Scopes are
// case-sensitive (§3.3) and must still be allowed to the client.
func narrowRefreshScope(req fosite.AccessRequester, asked, presented []string) error {
	family := slices.Clone([]string(req.GetRequestedScopes()))
	for _, s := range presented {
		if !slices.Contains(family, s) {
			family = append(family, s)
		}
	}
	grant := family
	if len(asked) > 0 {
		grant = nil
		for _, s := range asked {
			if !slices.Contains(family, s) {
				return fosite.ErrInvalidScope.WithHintf("The scope '%s' was not granted to this login.", truncate(s, 64))
			}
			if !slices.Contains(grant, s) {
				grant = append(grant, s)
			}
		}
	}
	for _, s := range grant {
		if !fosite.ExactScopeStrategy(req.GetClient().GetScopes(), s) {
			return fosite.ErrInvalidScope.WithHintf("The client is not allowed to request scope '%s'.", truncate(s, 64))
		}
		req.GrantScope(s)
	}
	return nil
}
