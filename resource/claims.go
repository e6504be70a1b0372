package resource

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"time"
)

// Claims are the verified claims of a Rotor access token.
type Claims struct {
	// Issuer is the "iss" claim; it equals Config.Issuer.
	Issuer string
	// Subject is the "sub" claim: the user, or the client itself for
	// client-credentials tokens.
	Subject string
	// Audience is the "aud" claim; it contains Config.Audience.
	Audience []string
	// ExpiresAt is the "exp" claim.
	ExpiresAt time.Time
	// IssuedAt is the "iat" claim.
	IssuedAt time.Time
	// JTI is the "jti" claim, a unique token identifier.
	JTI string
	// ClientID is the "client_id" claim: the OAuth client the token was
	// issued to.
	ClientID string
	// Scopes is the "scope" claim split on spaces.
	Scopes []string
}

// HasScope reports whether the token was granted scope s.
func (c *Claims) HasScope(s string) bool {
	return c != nil && s != "" && slices.Contains(c.Scopes, s)
}

// rawClaims is the JSON shape of an RFC 9068 access token payload.
type rawClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  audience `json:"aud"`
	ExpiresAt *float64 `json:"exp"`
	IssuedAt  *float64 `json:"iat"`
	NotBefore *float64 `json:"nbf"`
	JTI       string   `json:"jti"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope"`
}

// audience accepts "aud" as either a single string or an array of strings.
type audience []string

// UnmarshalJSON implements json.Unmarshaler.
func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud must be a string or an array of strings")
	}
	*a = many
	return nil
}

// maxUnixSeconds is 9999-12-31T23:59:59Z; later times are treated as bogus.
const maxUnixSeconds = 253402300799

// numericDate converts a JWT NumericDate into a time, rejecting values that
// are not finite or fall outside years 1970..9999.
func numericDate(f float64) (time.Time, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > maxUnixSeconds {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)).UTC(), true
}

// checkClaims decodes a verified payload and applies the claim rules.
func (v *Verifier) checkClaims(payload []byte) (*Claims, error) {
	var raw rawClaims
	if err := json.Unmarshal(payload, &raw); err != nil {
		return nil, invalid("claims are not valid JSON: %v", err)
	}
	if raw.Issuer != v.issuer {
		return nil, invalid("wrong issuer")
	}
	if !slices.Contains(raw.Audience, v.audience) {
		return nil, invalid("audience does not include this API")
	}
	if raw.Subject == "" {
		return nil, invalid("missing sub")
	}
	now := v.now()
	if raw.ExpiresAt == nil {
		return nil, invalid("missing exp")
	}
	exp, ok := numericDate(*raw.ExpiresAt)
	if !ok {
		return nil, invalid("exp is out of range")
	}
	if !now.Before(exp.Add(v.leeway)) {
		return nil, invalid("token expired")
	}
	if raw.IssuedAt == nil {
		return nil, invalid("missing iat")
	}
	iat, ok := numericDate(*raw.IssuedAt)
	if !ok {
		return nil, invalid("iat is out of range")
	}
	if iat.After(now.Add(v.leeway)) {
		return nil, invalid("token issued in the future")
	}
	if raw.NotBefore != nil {
		nbf, ok := numericDate(*raw.NotBefore)
		if !ok || nbf.After(now.Add(v.leeway)) {
			return nil, invalid("token not valid yet")
		}
	}
	return &Claims{
		Issuer:    raw.Issuer,
		Subject:   raw.Subject,
		Audience:  []string(raw.Audience),
		ExpiresAt: exp,
		IssuedAt:  iat,
		JTI:       raw.JTI,
		ClientID:  raw.ClientID,
		Scopes:    strings.Fields(raw.Scope),
	}, nil
}
