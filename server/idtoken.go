package server

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"

	josev3 "github.com/go-jose/go-jose/v3" // fosite's jwt.Token still speaks v3
	jose "github.com/go-jose/go-jose/v4"
	"github.com/ory/fosite/token/jwt"
)

// idTokenTyp is the header typ of ID tokens; access tokens carry at+jwt,
// so neither can pass for the other.
const idTokenTyp = "JWT"

// idTokenAlg signs ID tokens: RS256, which every OIDC client must support.
const idTokenAlg = jose.RS256

// idTokenSigner adapts package keys to fosite's jwt.Signer, which fosite's
// OpenID Connect handlers use to sign ID tokens and to read id_token_hint.
// Unlike fosite's DefaultSigner it stamps the kid and verifies a hint
// against whichever published key signed it, so key rotation keeps old
// hints readable.
type idTokenSigner struct {
	keys KeySet
}

var _ jwt.Signer = (*idTokenSigner)(nil)

func (s *idTokenSigner) Generate(_ context.Context, claims jwt.MapClaims, _ jwt.Mapper) (string, string, error) {
	signer, err := s.keys.Signer(idTokenAlg, idTokenTyp)
	if err != nil {
		return "", "", err
	}
	token, err := signer.Sign(map[string]any(claims))
	if err != nil {
		return "", "", err
	}
	return token, token[strings.LastIndexByte(token, '.')+1:], nil
}

func (s *idTokenSigner) Validate(ctx context.Context, token string) (string, error) {
	if _, err := s.Decode(ctx, token); err != nil {
		return "", err
	}
	return s.GetSignature(ctx, token)
}

// Decode verifies the signature and returns the claims; expiry is left to
// the caller, since an expired id_token_hint is still a valid hint.
func (s *idTokenSigner) Decode(_ context.Context, token string) (*jwt.Token, error) {
	payload, err := s.keys.Verify(token, idTokenTyp, idTokenAlg)
	if err != nil {
		return nil, &jwt.ValidationError{Inner: err, Errors: jwt.ValidationErrorSignatureInvalid}
	}
	claims := jwt.MapClaims{}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, &jwt.ValidationError{Inner: err, Errors: jwt.ValidationErrorMalformed}
	}
	return &jwt.Token{Header: map[string]any{"alg": string(idTokenAlg), "typ": idTokenTyp}, Claims: claims, Method: josev3.SignatureAlgorithm(idTokenAlg)}, nil
}

func (s *idTokenSigner) GetSignature(_ context.Context, token string) (string, error) {
	if strings.Count(token, ".") != 2 {
		return "", errors.New("not a compact JWS")
	}
	return token[strings.LastIndexByte(token, '.')+1:], nil
}

func (s *idTokenSigner) Hash(_ context.Context, in []byte) ([]byte, error) {
	sum := sha256.Sum256(in)
	return sum[:], nil
}

func (s *idTokenSigner) GetSigningMethodLength(context.Context) int { return sha256.Size }
