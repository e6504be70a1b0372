package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/ory/fosite"
	"golang.org/x/oauth2"

	"github.com/rotorauth/rotor/storage"
)

// bffTokens are a session's tokens; they exist in clear only in memory.
type bffTokens struct {
	Access  string `json:"a"`
	Refresh string `json:"r"`
	IDToken string `json:"i,omitempty"`
	// Family is the token family (fosite's request ID) the tokens belong
	// to: every request checks it is still live.
	Family string `json:"f,omitempty"`
}

func (t bffTokens) marshal() []byte {
	b, _ := json.Marshal(t)
	return b
}

// idClaims are what the BFF reads from the ID token it just received over
// the in-process channel (so its signature needs no second check).
type idClaims struct {
	Subject string `json:"sub"`
	Email   string `json:"email"`
}

func tokensFrom(tok *oauth2.Token) (bffTokens, idClaims, error) {
	t := bffTokens{Access: tok.AccessToken, Refresh: tok.RefreshToken}
	t.IDToken, _ = tok.Extra("id_token").(string)
	var c idClaims
	if parts := strings.Split(t.IDToken, "."); len(parts) == 3 {
		if payload, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			_ = json.Unmarshal(payload, &c)
		}
	}
	if t.Refresh == "" || c.Subject == "" {
		return t, c, errors.New("bff: token response lacks a refresh token or ID token")
	}
	return t, c, nil
}

// seal encrypts with AES-GCM, binding aad (the session key, or the cookie
// name) so a sealed value can't be moved to another session.
func (b *bff) seal(plain, aad []byte) (string, error) {
	nonce := make([]byte, b.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b.aead.Seal(nonce, nonce, plain, aad)), nil
}

func (b *bff) open(sealed string, aad []byte) ([]byte, error) {
	// One spelling per sealed value (see appendCanonical): a cookie whose
	// unused low bits differ is not the cookie that was set.
	raw, ok := appendCanonical(nil, sealed)
	if !ok || len(raw) < b.aead.NonceSize() {
		return nil, errors.New("open: malformed")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], aad)
	for _, old := range b.previous {
		if err == nil {
			break
		}
		plain, err = old.Open(nil, raw[:n], raw[n:], aad)
	}
	return plain, err
}

func (b *bff) tokens(sess storage.BFFSession) (bffTokens, error) {
	var t bffTokens
	plain, err := b.open(string(sess.SealedTokens), []byte(sess.IDHash))
	if err != nil {
		return t, fmt.Errorf("open bff session: %w", err)
	}
	return t, json.Unmarshal(plain, &t)
}

// errNoSession: no cookie, an unknown or expired session, or a family that
// was revoked or ended; the SPA must sign in again.
var errNoSession = errors.New("no bff session")

// current returns the session named by the browser's cookie, as long as
// its token family is live. The family is read on every request (one
// primary-key read, storage.FamilyLive), so a family revoked by reuse
// detection, sign out everywhere or the OP's logout ends the session at
// the next request, not at the next refresh.
func (b *bff) current(c echo.Context) (storage.BFFSession, error) {
	v := b.cookie(c, cookieBFFSession)
	if v == "" {
		return storage.BFFSession{}, errNoSession
	}
	ctx := c.Request().Context()
	sess, err := b.s.store.BFFSessionByCookie(ctx, v)
	if errors.Is(err, fosite.ErrNotFound) {
		return sess, errNoSession
	} else if err != nil {
		return sess, err
	}
	t, err := b.tokens(sess)
	if err != nil {
		return sess, err
	}
	family, err := b.familyOf(ctx, t)
	if err != nil {
		return sess, err
	}
	live := false
	if family != "" {
		if live, err = b.s.store.FamilyLive(ctx, family); err != nil {
			return sess, err
		}
	}
	if !live {
		if err := b.s.store.DeleteBFFSession(ctx, sess.IDHash); err != nil {
			return sess, err
		}
		return sess, errNoSession
	}
	return sess, nil
}

// familyOf is the family of a session's tokens. Sessions sealed without
// it find it through their access token's row; "" when that is gone.
func (b *bff) familyOf(ctx context.Context, t bffTokens) (string, error) {
	if t.Family != "" {
		return t.Family, nil
	}
	req, err := b.s.store.GetAccessTokenSession(ctx, b.s.access.AccessTokenSignature(ctx, t.Access), newSession())
	switch {
	case err == nil:
		return req.GetID(), nil
	case errors.Is(err, fosite.ErrNotFound), errors.Is(err, fosite.ErrInactiveToken):
		return "", nil
	default:
		return "", fmt.Errorf("find the family of a bff session: %w", err)
	}
}

func (b *bff) sessionFailure(c echo.Context, err error) error {
	if errors.Is(err, errNoSession) {
		b.setCookie(c, cookieBFFSession, "", -1, http.SameSiteStrictMode)
		return bffError(c, http.StatusUnauthorized, "unauthorized", "Not signed in.")
	}
	return b.s.writeOAuthError(c, fosite.ErrTemporarilyUnavailable.WithWrap(err))
}

// refreshDue: refresh when less than min(30 s, half the token's lifetime)
// remains, so a short-lived token is not refreshed on every call.
func refreshDue(sess storage.BFFSession, now time.Time) bool {
	margin := min(30*time.Second, sess.AccessExpiresAt.Sub(sess.AccessIssuedAt)/2)
	return sess.AccessExpiresAt.Sub(now) < margin
}

// freshAccessToken returns a usable access token for the session,
// refreshing it first when due. Concurrent calls of one session share one
// refresh (single flight), so a burst of API calls spends the refresh token
// once and never trips reuse detection.
func (b *bff) freshAccessToken(c echo.Context, sess storage.BFFSession) (string, error) {
	if !refreshDue(sess, b.s.now()) {
		t, err := b.tokens(sess)
		return t.Access, err
	}
	cookie := b.cookie(c, cookieBFFSession)
	// Detached from this request: the refresh serves every caller waiting on it.
	ctx := context.WithoutCancel(c.Request().Context())
	v, err, _ := b.flight.Do(sess.IDHash, func() (any, error) {
		cur, err := b.s.store.BFFSessionByCookie(ctx, cookie)
		if errors.Is(err, fosite.ErrNotFound) {
			return "", errNoSession
		} else if err != nil {
			return "", err
		}
		t, err := b.tokens(cur)
		if err != nil || !refreshDue(cur, b.s.now()) {
			return t.Access, err // refreshed by a flight that just landed
		}
		next, err := b.refresh(ctx, cur, t)
		return next.Access, err
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// refresh spends the session's refresh token and stores what it brings.
func (b *bff) refresh(ctx context.Context, sess storage.BFFSession, t bffTokens) (bffTokens, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, b.http)
	src := b.oauth.TokenSource(ctx, &oauth2.Token{RefreshToken: t.Refresh, Expiry: time.Unix(1, 0)})
	tok, err := src.Token()
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
		// The family is gone (reuse detected elsewhere, signed out
		// everywhere, expired): so is this BFF session.
		if derr := b.s.store.DeleteBFFSession(ctx, sess.IDHash); derr != nil {
			return bffTokens{}, derr
		}
		return bffTokens{}, errNoSession
	} else if err != nil {
		return bffTokens{}, fmt.Errorf("bff refresh: %w", err)
	}
	next := bffTokens{Access: tok.AccessToken, Refresh: tok.RefreshToken, IDToken: t.IDToken, Family: t.Family}
	if next.Family, err = b.familyOf(ctx, next); err != nil {
		return bffTokens{}, err
	}
	if id, ok := tok.Extra("id_token").(string); ok && id != "" {
		next.IDToken = id
	}
	sealed, err := b.seal(next.marshal(), []byte(sess.IDHash))
	if err != nil {
		return bffTokens{}, err
	}
	if err := b.s.store.UpdateBFFTokens(ctx, sess.IDHash, []byte(sealed), b.s.now(), tok.Expiry); err != nil {
		return bffTokens{}, err
	}
	b.s.metrics.bffRefreshes.Inc()
	return next, nil
}

func oauth2ctx(c echo.Context, client *http.Client) context.Context {
	return context.WithValue(c.Request().Context(), oauth2.HTTPClient, client)
}

// expired reports whether an ID token's exp has passed by the server's
// clock (or it has none). The token came from this server over the
// in-process channel and was sealed since, so its signature is not checked.
func (b *bff) expired(idToken string) bool {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return true
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Expiry int64 `json:"exp"`
	}
	if err != nil || json.Unmarshal(payload, &c) != nil || c.Expiry == 0 {
		return true
	}
	return !b.s.now().Before(time.Unix(c.Expiry, 0))
}
