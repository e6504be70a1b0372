package server

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/hmac"
)

var (
	currentSecret  = bytes.Repeat([]byte{1}, 32)
	previousSecret = bytes.Repeat([]byte{2}, 32)
)

// strategyUnder is the server's token strategy with fosite's HMAC check
// configured as newProvider does: current secret plus previous ones.
func strategyUnder(secret []byte, previous ...[]byte) *tokenStrategy {
	cfg := &fosite.Config{GlobalSecret: secret, RotatedGlobalSecrets: previous}
	return newTokenStrategy(oauth2.NewHMACSHAStrategy(&hmac.HMACStrategy{Config: cfg}, cfg), nil, secret, bytes.Repeat([]byte{3}, 32))
}

func refreshRequest(exp time.Time) fosite.Requester {
	sess := newSession()
	if !exp.IsZero() {
		sess.SetExpiresAt(fosite.RefreshToken, exp)
	}
	return &fosite.Request{Session: sess}
}

func mintRefreshToken(t testing.TB, s *tokenStrategy) string {
	t.Helper()
	tok, _, err := s.GenerateRefreshToken(context.Background(), &fosite.Request{Session: newSession()})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestValidateRefreshTokenAgreesWithFosite: the pooled check accepts
// exactly the canonical tokens fosite's accepts, and every rejection of a
// canonical token is fosite's own error. fosite also accepts other
// spellings of a token (no prefix, line breaks); Rotor refuses them.
func TestValidateRefreshTokenAgreesWithFosite(t *testing.T) {
	s := strategyUnder(currentSecret, previousSecret)
	current := mintRefreshToken(t, s)
	underPrevious := mintRefreshToken(t, strategyUnder(previousSecret))
	underUnknown := mintRefreshToken(t, strategyUnder(bytes.Repeat([]byte{9}, 32)))
	key, sig, _ := strings.Cut(current, ".")
	live, expired := time.Now().Add(time.Hour), time.Now().Add(-time.Second)
	for _, tc := range []struct {
		name   string
		token  string
		exp    time.Time
		accept bool
		// spelling: fosite accepts the token, but it is not the one
		// spelling Rotor issued, so Rotor refuses it.
		spelling bool
	}{
		{"current secret", current, live, true, false},
		{"current secret, no expiry", current, time.Time{}, true, false},
		{"current secret, expired", current, expired, false, false},
		{"previous secret", underPrevious, live, true, false},
		{"previous secret, expired", underPrevious, expired, false, false},
		{"unknown secret", underUnknown, live, false, false},
		{"without the prefix", strings.TrimPrefix(current, refreshTokenPrefix), live, false, true},
		{"signature of another token", key + "." + strings.SplitN(underUnknown, ".", 2)[1], live, false, false},
		{"flipped signature character", key + "." + flipFirst(sig), live, false, false},
		{"no dot", strings.Replace(current, ".", "", 1), live, false, false},
		{"two dots", current + ".x", live, false, false},
		{"empty key", refreshTokenPrefix + "." + sig, live, false, false},
		{"empty signature", key + ".", live, false, false},
		{"key not base64url", refreshTokenPrefix + "*" + strings.TrimPrefix(key, refreshTokenPrefix) + "." + sig, live, false, false},
		{"signature with padding", current + "=", live, false, false},
		{"newline inside the signature", key + "." + sig[:5] + "\n" + sig[5:], live, false, true},
		{"carriage return inside the key", key[:9] + "\r" + key[9:] + "." + sig, live, false, true},
		{"unused bits of the key's last character set", key[:len(key)-1] + string(key[len(key)-1]+1) + "." + sig, live, false, true},
		{"empty", "", live, false, false},
		{"oversized key", refreshTokenPrefix + strings.Repeat("A", 4096) + "." + sig, live, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			got := s.ValidateRefreshToken(ctx, refreshRequest(tc.exp), tc.token)
			want := s.HMACSHAStrategy.ValidateRefreshToken(ctx, refreshRequest(tc.exp), tc.token)
			if (got == nil) != tc.accept {
				t.Fatalf("ValidateRefreshToken = %v, want accepted %v", got, tc.accept)
			}
			if (want == nil) != (tc.accept || tc.spelling) {
				t.Fatalf("fosite's ValidateRefreshToken = %v, want accepted %v (the case is wrong)", want, tc.accept || tc.spelling)
			}
			// A non-canonical token is refused before fosite's check, with
			// invalid_token rather than fosite's wording.
			if got != nil && canonicalHMACToken(tc.token, refreshTokenPrefix) && !sameError(got, want) {
				t.Errorf("error %v, fosite's %v", got, want)
			}
		})
	}
}

// flipFirst changes the first character, which carries six bits of the
// value (the last one of an unpadded 32-byte value carries only four, and
// the decoder ignores the other two, so changing it may change nothing).
func flipFirst(s string) string {
	c := byte('A')
	if s[0] == 'A' {
		c = 'B'
	}
	return string(c) + s[1:]
}

// sameError compares fosite's RFC error (name and hint) or, for plain
// errors, the message.
func sameError(a, b error) bool {
	var ra, rb *fosite.RFC6749Error
	if errors.As(a, &ra) != errors.As(b, &rb) {
		return false
	}
	if ra != nil {
		return ra.ErrorField == rb.ErrorField && ra.HintField == rb.HintField
	}
	return a.Error() == b.Error()
}

// FuzzValidateRefreshToken: whatever the input, Rotor accepts a token
// exactly when fosite's check does and the token is canonical.
func FuzzValidateRefreshToken(f *testing.F) {
	s := strategyUnder(currentSecret, previousSecret)
	current := mintRefreshToken(f, s)
	f.Add(current)
	f.Add(mintRefreshToken(f, strategyUnder(previousSecret)))
	f.Add(strings.TrimPrefix(current, refreshTokenPrefix))
	f.Add(current + ".")
	f.Add("ory_rt_.")
	f.Fuzz(func(t *testing.T, token string) {
		ctx := context.Background()
		got := s.ValidateRefreshToken(ctx, refreshRequest(time.Time{}), token)
		want := s.HMACSHAStrategy.ValidateRefreshToken(ctx, refreshRequest(time.Time{}), token)
		if (got == nil) != (want == nil && canonicalHMACToken(token, refreshTokenPrefix)) {
			t.Fatalf("token %q: ValidateRefreshToken = %v, fosite's = %v", token, got, want)
		}
	})
}

// BenchmarkValidateRefreshToken compares the pooled check with fosite's.
func BenchmarkValidateRefreshToken(b *testing.B) {
	s := strategyUnder(currentSecret, previousSecret)
	tok := mintRefreshToken(b, s)
	req := refreshRequest(time.Now().Add(time.Hour))
	ctx := context.Background()
	for _, bc := range []struct {
		name     string
		validate func(context.Context, fosite.Requester, string) error
	}{
		{"pooled", s.ValidateRefreshToken},
		{"fosite", s.HMACSHAStrategy.ValidateRefreshToken},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.validate(ctx, req, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
