package server

import (
	"maps"
	"slices"
	"time"

	"github.com/mohae/deepcopy"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// session is the session of every token request: fosite's
// openid.DefaultSession, stored and read exactly as that type is, with a
// Clone that copies field by field. fosite clones the session on every
// refresh, and openid.DefaultSession does that by reflection
// (mohae/deepcopy): 2% of a refresh's CPU and a tenth of its garbage.
type session struct {
	openid.DefaultSession
	// familyDeadline is the absolute end of the login's token family,
	// handed over by storage when a refresh reads its parent token so
	// that the tokens the refresh issues end with the family. Never stored.
	familyDeadline time.Time
}

func newSession() *session { return &session{} }

// Default is the fosite session inside, for storage code that reads its
// claims without going through methods that fill in missing ones.
func (s *session) Default() *openid.DefaultSession { return &s.DefaultSession }

// SetFamilyDeadline implements storage's hook for the family's absolute end.
func (s *session) SetFamilyDeadline(t time.Time) { s.familyDeadline = t }

// endWithFamily caps the access and refresh token expiries at the family's
// absolute end: a token issued near the end of a session must not outlive
// it, whatever its own lifespan.
func (s *session) endWithFamily() {
	if s.familyDeadline.IsZero() {
		return
	}
	for _, kind := range []fosite.TokenType{fosite.AccessToken, fosite.RefreshToken} {
		if exp := s.GetExpiresAt(kind); exp.IsZero() || exp.After(s.familyDeadline) {
			s.SetExpiresAt(kind, s.familyDeadline)
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
	c := &session{DefaultSession: s.DefaultSession, familyDeadline: s.familyDeadline}
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
