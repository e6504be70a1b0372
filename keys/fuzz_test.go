package keys

import (
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// FuzzVerify feeds arbitrary strings to Verify: it must never panic, and
// every rejection must wrap one of the package's sentinels so callers'
// errors.Is checks stay exhaustive.
func FuzzVerify(f *testing.F) {
	m := testManager(f)
	s, err := m.Signer(jose.ES256, "at+jwt")
	if err != nil {
		f.Fatal(err)
	}
	valid, err := s.Sign(map[string]any{"sub": "alice", "scope": []string{"a", "b"}})
	if err != nil {
		f.Fatal(err)
	}
	seeds := []string{
		valid,
		valid + "x",
		"",
		".",
		"..",
		"a.b.c",
		"eyJhbGciOiJub25lIn0.e30.",
		"eyJhbGciOiJFUzI1NiIsImtpZCI6MX0.e30.AAAA",
		`{"payload":"e30","signatures":[{"protected":"e30","signature":""}]}`,
		"\x00\xff.\x00.\x00",
	}
	for _, seed := range seeds {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		payload, err := m.Verify(token, "at+jwt", jose.ES256, jose.RS256)
		if err != nil {
			if !wrapsSentinel(err) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			if payload != nil {
				t.Fatal("payload returned alongside error")
			}
		}
	})
}
