package keys

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// Verification errors. Verify wraps exactly one of them, so callers can
// tell a token from a rotated-away key (ErrUnknownKey) from a forged or
// malformed one with errors.Is.
var (
	ErrMalformed        = errors.New("malformed token")
	ErrBadHeader        = errors.New("unacceptable token header")
	ErrUnknownKey       = errors.New("unknown signing key")
	ErrInvalidSignature = errors.New("invalid token signature")
)

// forbiddenHeaders point at key material other than our own key set. We
// never emit them, and honouring them is the classic way to make a
// verifier trust an attacker's key (RFC 8725 section 3.10); crit and b64
// are refused because we never emit them either and b64 changes what the
// signature covers.
var forbiddenHeaders = []string{"jku", "jwk", "x5u", "x5c", "crit", "b64"}

// Verify checks a compact JWS against the key set and returns its payload.
// Only algorithms in algs are accepted; the header typ must equal typ,
// ignoring case and an "application/" prefix (RFC 7515 section 4.1.9);
// headers jku, jwk, x5u, x5c, crit and b64 are rejected; kid must name a
// loaded key whose algorithm equals the header alg. Verify does not check
// iss, aud, exp or any other claim: the caller does, with its own
// expectations.
func (m *Manager) Verify(token string, typ string, algs ...jose.SignatureAlgorithm) ([]byte, error) {
	// An empty typ or allowlist is a caller bug, not a bad token, so it
	// wraps no sentinel and can't be mistaken for a routine rejection.
	if typ == "" {
		return nil, errors.New("verify token: expected typ is required")
	}
	if len(algs) == 0 {
		return nil, errors.New("verify token: no algorithms allowed")
	}
	rawHeader, _, ok := strings.Cut(token, ".")
	if !ok {
		return nil, fmt.Errorf("verify token: %w", ErrMalformed)
	}
	if err := checkRawHeader(rawHeader); err != nil {
		return nil, fmt.Errorf("verify token: %w", err)
	}

	jws, err := jose.ParseSignedCompact(token, algs)
	if err != nil {
		if _, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			return nil, fmt.Errorf("verify token: %w: %w", ErrBadHeader, err)
		}
		return nil, fmt.Errorf("verify token: %w: %w", ErrMalformed, err)
	}
	if len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("verify token: %d signatures: %w", len(jws.Signatures), ErrMalformed)
	}
	header := jws.Signatures[0].Header

	got, _ := header.ExtraHeaders[jose.HeaderType].(string)
	if !typMatches(got, typ) {
		return nil, fmt.Errorf("verify token: typ %q, want %q: %w", got, typ, ErrBadHeader)
	}
	if header.KeyID == "" {
		return nil, fmt.Errorf("verify token: no kid: %w", ErrBadHeader)
	}
	k, ok := m.set.Load().byKID[header.KeyID]
	if !ok {
		return nil, fmt.Errorf("verify token: kid %q: %w", header.KeyID, ErrUnknownKey)
	}
	// The allowlist alone is not enough: with several algorithms allowed,
	// a token must not be checked under an algorithm its key wasn't made
	// for.
	if string(k.alg) != header.Algorithm {
		return nil, fmt.Errorf("verify token: alg %q for %s key %s: %w", header.Algorithm, k.alg, k.kid, ErrBadHeader)
	}
	payload, err := jws.Verify(k.public.Key)
	if err != nil {
		return nil, fmt.Errorf("verify token: %w: %w", ErrInvalidSignature, err)
	}
	return payload, nil
}

// checkRawHeader looks at the protected header as sent, because go-jose
// parses x5c into an unexported field and silently ignores it, so its
// parsed Header can't tell us whether one was present.
func checkRawHeader(raw string) error {
	decoded, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return fmt.Errorf("header encoding: %w", ErrMalformed)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(decoded, &fields); err != nil {
		return fmt.Errorf("header json: %w", ErrMalformed)
	}
	for _, name := range forbiddenHeaders {
		if _, ok := fields[name]; ok {
			return fmt.Errorf("header %q not allowed: %w", name, ErrBadHeader)
		}
	}
	return nil
}

// mediaTypePrefix may be dropped from typ (RFC 7515 section 4.1.9), so
// "application/at+jwt" and "at+jwt" name the same type.
const mediaTypePrefix = "application/"

func typMatches(got, want string) bool {
	return strings.EqualFold(trimMediaType(got), trimMediaType(want))
}

func trimMediaType(s string) string {
	if len(s) > len(mediaTypePrefix) && strings.EqualFold(s[:len(mediaTypePrefix)], mediaTypePrefix) {
		return s[len(mediaTypePrefix):]
	}
	return s
}
