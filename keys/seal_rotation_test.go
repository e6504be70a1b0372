package keys

import (
	"bytes"
	"testing"
)

// TestSealerPrevious: a sealer opens what a previous system secret sealed,
// seals with the current one, and refuses what neither sealed.
func TestSealerPrevious(t *testing.T) {
	oldSecret := []byte("old-secret-0123456789abcdef0123456789")
	newSecret := []byte("new-secret-0123456789abcdef0123456789")
	old, err := NewSealer(oldSecret)
	if err != nil {
		t.Fatal(err)
	}
	sealedOld, _ := old.Seal([]byte("key material"), []byte("kid"))
	rotated, err := NewSealer(newSecret, oldSecret)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		sealer  *Sealer
		sealed  func() []byte
		wantErr bool
	}{
		{name: "old seal opens after rotation", sealer: rotated, sealed: func() []byte { return sealedOld }},
		{name: "new seal opens", sealer: rotated, sealed: func() []byte { b, _ := rotated.Seal([]byte("key material"), []byte("kid")); return b }},
		{name: "new seal is not under the old secret", sealer: old, sealed: func() []byte { b, _ := rotated.Seal([]byte("key material"), []byte("kid")); return b }, wantErr: true},
		{name: "old seal without the previous secret", sealer: mustSealer(t, newSecret), sealed: func() []byte { return sealedOld }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sealer.Open(tt.sealed(), []byte("kid"))
			if tt.wantErr {
				if err == nil {
					t.Fatal("opened, want an error")
				}
				return
			}
			if err != nil || !bytes.Equal(got, []byte("key material")) {
				t.Fatalf("Open = %q, %v", got, err)
			}
		})
	}
}

func mustSealer(t *testing.T, secret []byte) *Sealer {
	t.Helper()
	s, err := NewSealer(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
