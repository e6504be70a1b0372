package server

import (
	"maps"
	"slices"

	"github.com/mohae/deepcopy"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"

	"github.com/rotorauth/rotor/storage"
)

// session is the session of every token request: fosite's
// openid.DefaultSession, stored and read exactly as that type is, with a
// Clone that copies field by field. fosite clones the session on every
// refresh, and openid.DefaultSession does that by reflection
// (mohae/deepcopy): 2% of a refresh's CPU and a tenth of its garbage.
type session struct {
	openid.DefaultSession
	// presented is what storage found reading the refresh token a refresh
	// grant presents: the family's absolute end, which the new tokens must
	// not outlive, and the token's lineage. Never stored.
	presented storage.PresentedToken
}

func newSession() *session { return &session{} }

// Default is the fosite session inside, for storage code that reads its
// claims without going through methods that fill in missing ones.
func (s *session) Default() *openid.DefaultSession { return &s.DefaultSession }

// SetPresentedToken and PresentedToken let storage hand what it read
// about a refresh grant's token to the rest of the grant.
func (s *session) SetPresentedToken(p storage.PresentedToken) { s.presented = p }

func (s *session) PresentedToken() storage.PresentedToken { return s.presented }

// endWithFamily caps the access and refresh token expiries at the family's
// absolute end: a token issued near the end of a session must not outlive
// it, whatever its own lifespan.
func (s *session) endWithFamily() {
	end := s.presented.FamilyDeadline
	if end.IsZero() {
		return
	}
	for _, kind := range []fosite.TokenType{fosite.AccessToken, fosite.RefreshToken} {
		if exp := s.GetExpiresAt(kind); exp.IsZero() || exp.After(end) {
			s.SetExpiresAt(kind, end)
		}
	}
}

// Clone returns a copy that shares nothing mutable with s, as
// openid.DefaultSession.Clone does. session_test.go holds the two to the
// same result and fails when fosite adds a field this copy would share.
func (s *session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := &session{DefaultSession: s.DefaultSession, presented: s.presented}
	c.ExpiresAt = maps.Clone(s.ExpiresAt)
	if s.Claims != nil {
		claims := *s.Claims
		claims.Audience = slices.Clone(claims.Audience)
		claims.AuthenticationMethodsReferences = slices.Clone(claims.AuthenticationMethodsReferences)
		claims.Extra = copyJSONMap(claims.Extra)
		c.Claims = &claims
	}
	if s.Headers != nil {
		c.Headers = &jwt.Headers{Extra: copyJSONMap(s.Headers.Extra)}
	}
	return c
}

// copyJSONMap deep-copies a claims map: its values are what JSON decodes
// to (or strings Rotor sets), and anything else is copied by reflection.
func copyJSONMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyJSONValue(v)
	}
	return out
}

func copyJSONValue(v any) any {
	switch v := v.(type) {
	case nil, string, bool, float64, int, int64:
		return v
	case map[string]any:
		return copyJSONMap(v)
	case []any:
		if v == nil {
			return v
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyJSONValue(e)
		}
		return out
	case []string:
		return slices.Clone(v)
	default:
		return deepcopy.Copy(v)
	}
}
