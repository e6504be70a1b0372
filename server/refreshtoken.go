package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
)

// tokenStrategy is fosite's CoreStrategy for Rotor: JWT access tokens,
// fosite's HMAC codes, and refresh tokens whose successor is derived from
// the parent.
//
// A derived successor is what lets a client that lost a refresh response
// get the very same successor again within the grace window: the family
// never forks, and storage needs no extra state to answer the retry.
// Knowing the parent is not enough to compute it: it is keyed.
type tokenStrategy struct {
	*oauth2.HMACSHAStrategy
	access *accessTokenStrategy
	// tokenMAC is keyed with fosite's global secret and signs the token
	// key; successorMAC derives a successor's key from its parent.
	tokenMAC, successorMAC *keyedMAC
}

func newTokenStrategy(fositeHMAC *oauth2.HMACSHAStrategy, access *accessTokenStrategy, hmacKey, successorKey []byte) *tokenStrategy {
	return &tokenStrategy{
		HMACSHAStrategy: fositeHMAC,
		access:          access,
		tokenMAC:        newKeyedMAC(sha512.New512_256, hmacKey),
		successorMAC:    newKeyedMAC(sha256.New, successorKey),
	}
}

var _ oauth2.CoreStrategy = (*tokenStrategy)(nil)

func (t *tokenStrategy) AccessTokenSignature(ctx context.Context, token string) string {
	return t.access.AccessTokenSignature(ctx, token)
}

func (t *tokenStrategy) GenerateAccessToken(ctx context.Context, req fosite.Requester) (string, string, error) {
	return t.access.GenerateAccessToken(ctx, req)
}

func (t *tokenStrategy) ValidateAccessToken(ctx context.Context, req fosite.Requester, token string) error {
	return t.access.ValidateAccessToken(ctx, req, token)
}

// refreshTokenPrefix and authorizeCodePrefix match fosite's
// HMACSHAStrategy so that its signatures and validation apply unchanged.
const (
	refreshTokenPrefix  = "ory_rt_"
	authorizeCodePrefix = "ory_ac_"
)

var rawURL = base64.RawURLEncoding

// RefreshTokenSignature is fosite's, for a canonical token only; any other
// spelling has no signature, so it is looked up nowhere and is an invalid
// token: invalid_grant at the token endpoint, inactive at introspection, a
// no-op at revocation.
func (t *tokenStrategy) RefreshTokenSignature(ctx context.Context, token string) string {
	if !canonicalHMACToken(token, refreshTokenPrefix) {
		return ""
	}
	return t.HMACSHAStrategy.RefreshTokenSignature(ctx, token)
}

// AuthorizeCodeSignature is fosite's, for a canonical code only (see
// RefreshTokenSignature).
func (t *tokenStrategy) AuthorizeCodeSignature(ctx context.Context, token string) string {
	if !canonicalHMACToken(token, authorizeCodePrefix) {
		return ""
	}
	return t.HMACSHAStrategy.AuthorizeCodeSignature(ctx, token)
}

// ValidateAuthorizeCode refuses a non-canonical code before fosite's check.
func (t *tokenStrategy) ValidateAuthorizeCode(ctx context.Context, req fosite.Requester, token string) error {
	if !canonicalHMACToken(token, authorizeCodePrefix) {
		return fosite.ErrInvalidTokenFormat
	}
	return t.HMACSHAStrategy.ValidateAuthorizeCode(ctx, req, token)
}

// GenerateRefreshToken mints 256 random bits on a login, and on a refresh
// derives the successor as HMAC(successorKey, parent), where parent is the
// canonical spelling rebuilt from the presented token's decoded bytes:
// never the presented string, so that one token has one successor.
func (t *tokenStrategy) GenerateRefreshToken(_ context.Context, req fosite.Requester) (string, string, error) {
	var buf [64]byte
	key := buf[:32]
	if parent := refreshedToken(req); parent != "" {
		var scratch [128]byte
		canonical, ok := canonicalRefreshToken(scratch[:0], parent)
		if !ok {
			return "", "", fmt.Errorf("derive successor: %w", fosite.ErrInvalidTokenFormat)
		}
		key = t.successorMAC.sum(buf[:0], canonical)
	} else if _, err := rand.Read(key); err != nil {
		return "", "", fmt.Errorf("refresh token entropy: %w", err)
	}
	// The same construction as fosite's token/hmac, so its validation holds.
	sig := rawURL.EncodeToString(t.tokenMAC.sum(buf[32:32], key))
	return refreshTokenPrefix + rawURL.EncodeToString(key) + "." + sig, sig, nil
}

// canonicalRefreshToken decodes a refresh token strictly and re-encodes
// its bytes, prefix + key + "." + signature; dst is scratch space.
func canonicalRefreshToken(dst []byte, token string) ([]byte, bool) {
	var raw [128]byte
	b, n, ok := splitHMACToken(raw[:0], token, refreshTokenPrefix)
	if !ok {
		return nil, false
	}
	dst = append(dst[:0], refreshTokenPrefix...)
	dst = rawURL.AppendEncode(dst, b[:n])
	dst = append(dst, '.')
	return rawURL.AppendEncode(dst, b[n:]), true
}

// ValidateRefreshToken refuses a non-canonical token, then accepts an
// unexpired token whose MAC under the current secret matches, computed
// with the pooled MAC (fosite derives a new HMAC per check). Every other
// token, expired, forged or made under a previous secret, goes to fosite's
// own check, which decides it and words the error: this path only ever
// accepts what fosite would.
func (t *tokenStrategy) ValidateRefreshToken(ctx context.Context, req fosite.Requester, token string) error {
	var buf [128]byte
	b, n, ok := splitHMACToken(buf[:0], token, refreshTokenPrefix)
	if !ok {
		return fosite.ErrInvalidTokenFormat
	}
	exp := req.GetSession().GetExpiresAt(fosite.RefreshToken)
	if (exp.IsZero() || !exp.Before(time.Now().UTC())) && hmac.Equal(t.tokenMAC.sum(b[len(b):], b[:n]), b[n:]) {
		return nil
	}
	return t.HMACSHAStrategy.ValidateRefreshToken(ctx, req, token)
}

// refreshedToken returns the refresh token a refresh grant presents, or ""
// for any other request.
func refreshedToken(req fosite.Requester) string {
	ar, ok := req.(fosite.AccessRequester)
	if !ok || !ar.GetGrantTypes().ExactOne("refresh_token") {
		return ""
	}
	return ar.GetRequestForm().Get("refresh_token")
}
