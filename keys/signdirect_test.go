package keys

import (
	"context"
	"strconv"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestDirectSigning: tokens Sign assembles itself must be what go-jose
// would produce. Each one is parsed and verified by go-jose with the
// published public key, and its header matches go-jose's byte for byte.
func TestDirectSigning(t *testing.T) {
	s, err := NewSealer(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManager(context.Background(), &fakeStore{}, s, clock, jose.ES256, jose.RS256, jose.EdDSA)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		alg jose.SignatureAlgorithm
		typ string
	}{
		{alg: jose.ES256, typ: "at+jwt"},
		{alg: jose.EdDSA, typ: "at+jwt"},
		{alg: jose.RS256, typ: "JWT"},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			signer, err := m.Signer(tt.alg, tt.typ)
			if err != nil {
				t.Fatal(err)
			}
			if signer.direct == nil {
				t.Fatalf("%s is not signed directly", tt.alg)
			}
			pub, ok := m.PublicKey(signer.KID())
			if !ok {
				t.Fatalf("key %s not published", signer.KID())
			}
			viaJose, err := signer.signer.Sign([]byte("{}"))
			if err != nil {
				t.Fatal(err)
			}
			joseCompact, _ := viaJose.CompactSerialize()
			for i := range 20 { // ECDSA signatures differ per call: check several
				tok, err := signer.Sign(testClaims{Sub: "alice", N: i})
				if err != nil {
					t.Fatal(err)
				}
				if h, _, _ := strings.Cut(tok, "."); h != strings.Split(joseCompact, ".")[0] {
					t.Fatalf("header %q, go-jose writes %q", h, strings.Split(joseCompact, ".")[0])
				}
				parsed, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{tt.alg})
				if err != nil {
					t.Fatalf("go-jose can't parse %q: %v", tok, err)
				}
				payload, err := parsed.Verify(pub.Key)
				if err != nil {
					t.Fatalf("go-jose rejects the signature: %v", err)
				}
				if want := `{"sub":"alice","n":` + strconv.Itoa(i) + `}`; string(payload) != want {
					t.Fatalf("payload %s, want %s", payload, want)
				}
			}
		})
	}
}

// FuzzDirectSigning: any payload signed directly verifies with go-jose.
func FuzzDirectSigning(f *testing.F) {
	m := testManager(f)
	signer, err := m.Signer(jose.ES256, "at+jwt")
	if err != nil {
		f.Fatal(err)
	}
	pub, _ := m.PublicKey(signer.KID())
	f.Add("alice", 1)
	f.Add("\x00\xff\"}", -1)
	f.Fuzz(func(t *testing.T, sub string, n int) {
		tok, err := signer.Sign(testClaims{Sub: sub, N: n})
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := parsed.Verify(pub.Key); err != nil {
			t.Fatal(err)
		}
	})
}
