package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/ory/fosite"

	"github.com/rotorauth/rotor/keys"
)

// accessTokenTyp is the JWT "typ" of RFC 9068 access tokens; verifiers
// reject any other so an ID token can't be replayed as an access token.
const accessTokenTyp = "at+jwt"

// accessTokenAlgs are the algorithms Rotor accepts on its own access tokens.
var accessTokenAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA}

// KeySet is what the server needs from package keys.
type KeySet interface {
	Signer(alg jose.SignatureAlgorithm, typ string) (*keys.Signer, error)
	Verify(token, typ string, algs ...jose.SignatureAlgorithm) ([]byte, error)
	JWKSJSON() []byte
	PublicKey(kid string) (*jose.JSONWebKey, bool)
}

// accessTokenClaims are the RFC 9068 §2.2 claims.
type accessTokenClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	ExpiresAt int64    `json:"exp"`
	IssuedAt  int64    `json:"iat"`
	JTI       string   `json:"jti"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope,omitempty"`
}

// accessTokenStrategy issues and checks RFC 9068 JWT access tokens. It
// replaces fosite's DefaultJWTStrategy, which signs with go-jose v3, reuses
// stale claims from the stored session and can verify only against the
// current key (so a key rotation would break every live token).
type accessTokenStrategy struct {
	keys   KeySet
	alg    jose.SignatureAlgorithm
	issuer string
	ttl    time.Duration
	now    func() time.Time
	// verified caches signature checks (nil: verify every time).
	verified *verifiedTokens
}

// AccessTokenSignature is the JWS signature segment of a canonical token;
// any other spelling has none, so it is looked up nowhere (one token, one
// spelling: see appendCanonical).
func (s *accessTokenStrategy) AccessTokenSignature(_ context.Context, token string) string {
	if !canonicalJWS(token) {
		return ""
	}
	return token[strings.LastIndexByte(token, '.')+1:]
}

func (s *accessTokenStrategy) GenerateAccessToken(_ context.Context, req fosite.Requester) (string, string, error) {
	now := s.now().UTC()
	exp := req.GetSession().GetExpiresAt(fosite.AccessToken)
	if exp.IsZero() {
		exp = now.Add(s.ttl)
	}
	clientID := req.GetClient().GetID()
	sub := req.GetSession().GetSubject()
	if sub == "" {
		sub = clientID // RFC 9068 §2.2: a client acting for itself is the subject
	}
	aud := req.GetGrantedAudience()
	if len(aud) == 0 {
		aud = []string{s.issuer}
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", "", fmt.Errorf("access token id: %w", err)
	}
	signer, err := s.keys.Signer(s.alg, accessTokenTyp)
	if err != nil {
		return "", "", fmt.Errorf("access token signer: %w", err)
	}
	token, err := signer.Sign(accessTokenClaims{
		Issuer:    s.issuer,
		Subject:   sub,
		Audience:  aud,
		ExpiresAt: exp.Unix(),
		IssuedAt:  now.Unix(),
		JTI:       base64.RawURLEncoding.EncodeToString(jti[:]),
		ClientID:  clientID,
		Scope:     strings.Join(req.GetGrantedScopes(), " "),
	})
	if err != nil {
		return "", "", fmt.Errorf("sign access token: %w", err)
	}
	return token, s.AccessTokenSignature(context.Background(), token), nil
}

// ValidateAccessToken checks signature, type, issuer and expiry; fosite's
// CoreValidator has already found the token's row, so revocation is
// covered by storage.
func (s *accessTokenStrategy) ValidateAccessToken(_ context.Context, _ fosite.Requester, token string) error {
	_, err := s.verify(token)
	return err
}

func (s *accessTokenStrategy) verify(token string) (*accessTokenClaims, error) {
	if s.verified != nil {
		// A hit still needs its key in the set: a pruned key's tokens
		// must fail even if they were verified before the pruning.
		if e, ok := s.verified.get(token, s.now()); ok {
			if _, live := s.keys.PublicKey(e.kid); live {
				return s.checkClaims(e.claims)
			}
		}
	}
	if !canonicalJWS(token) {
		return nil, fosite.ErrInvalidTokenFormat
	}
	payload, err := s.keys.Verify(token, accessTokenTyp, accessTokenAlgs...)
	if err != nil {
		return nil, fosite.ErrTokenSignatureMismatch.WithWrap(err)
	}
	var c accessTokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fosite.ErrInvalidTokenFormat.WithWrap(err)
	}
	checked, err := s.checkClaims(&c)
	if err == nil && s.verified != nil {
		if kid := headerKID(token); kid != "" {
			s.verified.put(token, verifiedToken{kid: kid, claims: checked})
		}
	}
	return checked, err
}

// checkClaims accepts only unexpired tokens of this issuer.
func (s *accessTokenStrategy) checkClaims(c *accessTokenClaims) (*accessTokenClaims, error) {
	switch {
	case c.Issuer != s.issuer:
		return nil, fosite.ErrTokenClaim.WithWrap(errors.New("foreign issuer"))
	case c.ExpiresAt == 0 || !s.now().Before(time.Unix(c.ExpiresAt, 0)):
		return nil, fosite.ErrTokenExpired
	}
	return c, nil
}

// headerKID reads the kid of a token whose signature has been verified.
func headerKID(token string) string {
	raw, _, _ := strings.Cut(token, ".")
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return ""
	}
	var h struct {
		KID string `json:"kid"`
	}
	if json.Unmarshal(b, &h) != nil {
		return ""
	}
	return h.KID
}
