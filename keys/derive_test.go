package keys

import (
	"bytes"
	"crypto/hkdf"
	"crypto/sha256"
	"testing"
)

func TestDeriveKey(t *testing.T) {
	base := DeriveKey(testSecret, "signing key encryption")
	tests := []struct {
		name    string
		secret  []byte
		purpose string
		same    bool
	}{
		{name: "same inputs are deterministic", secret: testSecret, purpose: "signing key encryption", same: true},
		{name: "other purpose differs", secret: testSecret, purpose: "token hmac", same: false},
		{name: "purpose is not a prefix match", secret: testSecret, purpose: "signing key encryption ", same: false},
		{name: "other secret differs", secret: append([]byte("x"), testSecret...), purpose: "signing key encryption", same: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DeriveKey(tt.secret, tt.purpose)
			if len(got) != 32 {
				t.Fatalf("len = %d, want 32", len(got))
			}
			if bytes.Equal(got, base) != tt.same {
				t.Fatalf("equal to base = %v, want %v", !tt.same, tt.same)
			}
		})
	}
}

// TestDeriveKeyMatchesHKDF pins the construction, since changing it would
// make every sealed key unreadable.
func TestDeriveKeyMatchesHKDF(t *testing.T) {
	prk, err := hkdf.Extract(sha256.New, testSecret, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := hkdf.Expand(sha256.New, prk, "rotor token hmac", 32)
	if err != nil {
		t.Fatal(err)
	}
	if got := DeriveKey(testSecret, "token hmac"); !bytes.Equal(got, want) {
		t.Fatalf("DeriveKey = %x, want %x", got, want)
	}
}
