package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"strings"
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

// refreshTokenPrefix matches fosite's HMACSHAStrategy so that its
// RefreshTokenSignature and ValidateRefreshToken apply unchanged.
const refreshTokenPrefix = "ory_rt_"

var rawURL = base64.RawURLEncoding

// GenerateRefreshToken mints 256 random bits on a login, and on a refresh
// derives the successor as HMAC(successorKey, parent token).
func (t *tokenStrategy) GenerateRefreshToken(_ context.Context, req fosite.Requester) (string, string, error) {
	var buf [64]byte
	key := buf[:32]
	if parent := refreshedToken(req); parent != "" {
		key = t.successorMAC.sum(buf[:0], []byte(parent))
	} else if _, err := rand.Read(key); err != nil {
		return "", "", fmt.Errorf("refresh token entropy: %w", err)
	}
	// The same construction as fosite's token/hmac, so its validation holds.
	sig := rawURL.EncodeToString(t.tokenMAC.sum(buf[32:32], key))
	return refreshTokenPrefix + rawURL.EncodeToString(key) + "." + sig, sig, nil
}

// ValidateRefreshToken accepts an unexpired token whose MAC under the
// current secret matches, computed with the pooled MAC (fosite derives a
// new HMAC per check). Every other token, expired, malformed, forged or
// made under a previous secret, goes to fosite's own check, which decides
// it and words the error: this path only ever accepts what fosite would.
func (t *tokenStrategy) ValidateRefreshToken(ctx context.Context, req fosite.Requester, token string) error {
	exp := req.GetSession().GetExpiresAt(fosite.RefreshToken)
	if (exp.IsZero() || !exp.Before(time.Now().UTC())) && t.macMatches(token) {
		return nil
	}
	return t.HMACSHAStrategy.ValidateRefreshToken(ctx, req, token)
}

// macMatches parses a refresh token as fosite's token/hmac does (prefix,
// exactly one dot, two non-empty base64url parts) and compares its
// signature with the MAC of its key under the current secret.
func (t *tokenStrategy) macMatches(token string) bool {
	key, sig, ok := strings.Cut(strings.TrimPrefix(token, refreshTokenPrefix), ".")
	if !ok || key == "" || sig == "" || strings.Contains(sig, ".") {
		return false
	}
	var buf [128]byte
	b, err := rawURL.AppendDecode(buf[:0], []byte(key))
	if err != nil {
		return false
	}
	n := len(b)
	if b, err = rawURL.AppendDecode(b, []byte(sig)); err != nil {
		return false
	}
	rawKey, rawSig := b[:n], b[n:]
	return hmac.Equal(t.tokenMAC.sum(b[len(b):], rawKey), rawSig)
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
