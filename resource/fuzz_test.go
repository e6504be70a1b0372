package resource

import (
	"context"
	"errors"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, never
// accept anything but the seeded valid token, and every failure must wrap
// ErrInvalidToken unless it is a key-fetch failure.
func FuzzVerify(f *testing.F) {
	key := newTestKey(f, "ec-1", jose.ES256)
	issuer := newFakeIssuer(f, key)
	v := issuer.verifier(f)
	valid := sign(f, key, issuer.claims(), signOpts{})
	parts := strings.Split(valid, ".")

	f.Add(valid)
	f.Add("")
	f.Add("garbage")
	f.Add("a.b.c")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + ".." + parts[2])
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(strings.Repeat("A", 9000))

	f.Fuzz(func(t *testing.T, token string) {
		claims, err := v.Verify(context.Background(), token)
		if err == nil {
			if claims == nil || claims.Subject == "" {
				t.Fatalf("accepted %q with claims %+v", token, claims)
			}
			return
		}
		if !errors.Is(err, ErrInvalidToken) && !errors.Is(err, ErrIssuerUnavailable) {
			t.Fatalf("error does not wrap ErrInvalidToken: %v", err)
		}
	})
}
