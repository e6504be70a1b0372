package resource

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// ErrInvalidToken is wrapped by every error that rejects a token. The
// wrapping error's message gives the specific reason; it is meant for logs,
// not for clients.
var ErrInvalidToken = errors.New("invalid access token")

// ErrIssuerUnavailable is wrapped by errors that say nothing about the token
// itself: the signing keys could not be fetched (and none were cached), or
// the introspection endpoint failed. EchoMiddleware answers 503 for them.
var ErrIssuerUnavailable = errors.New("resource: issuer unavailable")

// maxTokenBytes is the largest token Verify will parse.
const maxTokenBytes = 8 << 10

// allowedAlgs are the signature algorithms Rotor signs access tokens with.
var allowedAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA}

// forbiddenHeaders would let a token point at, or carry, its own key or add
// processing rules; Rotor never sets them, so their presence means forgery.
var forbiddenHeaders = map[string]bool{"jku": true, "x5u": true, "x5c": true, "jwk": true, "crit": true}

// invalid builds an error that wraps ErrInvalidToken with a reason.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidToken, fmt.Sprintf(format, args...))
}

// Verify checks token and returns its claims. Every rejection wraps
// ErrInvalidToken; errors wrapping ErrIssuerUnavailable mean the token could
// not be checked because the issuer could not be reached.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	if token == "" {
		return nil, invalid("empty token")
	}
	if len(token) > maxTokenBytes {
		return nil, invalid("token larger than %d bytes", maxTokenBytes)
	}
	if err := checkRawHeader(token); err != nil {
		return nil, err
	}
	jws, err := jose.ParseSignedCompact(token, allowedAlgs)
	if err != nil {
		return nil, invalid("malformed JWS: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("want exactly one signature, got %d", len(jws.Signatures))
	}
	header := jws.Signatures[0].Header
	if header.KeyID == "" {
		return nil, invalid("missing kid header")
	}
	key, err := v.keys.lookup(ctx, header.KeyID)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != header.Algorithm {
		return nil, invalid("alg %q does not match the key's alg %q", header.Algorithm, key.Algorithm)
	}
	payload, err := jws.Verify(key.Key)
	if err != nil {
		return nil, invalid("bad signature")
	}
	claims, err := v.checkClaims(payload)
	if err != nil {
		return nil, err
	}
	if v.introspection != nil {
		if err := v.introspection.check(ctx, token); err != nil {
			return nil, err
		}
	}
	return claims, nil
}

// checkRawHeader decodes the protected header itself, rather than trusting
// go-jose's parsed view, and rejects duplicate members, the forbidden
// headers and a typ other than at+jwt.
func checkRawHeader(token string) error {
	segment, _, ok := strings.Cut(token, ".")
	if !ok {
		return invalid("not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return invalid("header is not base64url")
	}
	members, err := decodeObject(raw)
	if err != nil {
		return invalid("header: %v", err)
	}
	for name := range members {
		if forbiddenHeaders[strings.ToLower(name)] {
			return invalid("header %q is not allowed", strings.ToLower(name))
		}
	}
	var typ string
	if err := json.Unmarshal(members["typ"], &typ); err != nil {
		return invalid("missing or malformed typ header")
	}
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return invalid("typ must be at+jwt")
	}
	return nil
}

// decodeObject decodes a JSON object into its raw members, failing on
// duplicate member names and trailing data so that no other JSON parser
// can read the header differently.
func decodeObject(raw []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	members := make(map[string]json.RawMessage)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errors.New("malformed JSON")
		}
		name, _ := tok.(string)
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, errors.New("malformed JSON")
		}
		if _, dup := members[name]; dup {
			return nil, errors.New("duplicate member")
		}
		members[name] = value
	}
	if _, err := dec.Token(); err != nil {
		return nil, errors.New("malformed JSON")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON object")
	}
	return members, nil
}
