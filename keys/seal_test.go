package keys

import (
	"bytes"
	"strings"
	"testing"
)

func TestNewSealerRejectsShortSecret(t *testing.T) {
	tests := []struct {
		name    string
		secret  []byte
		wantErr bool
	}{
		{name: "empty", secret: nil, wantErr: true},
		{name: "15 bytes", secret: []byte(strings.Repeat("s", 15)), wantErr: true},
		{name: "16 bytes", secret: []byte(strings.Repeat("s", 16)), wantErr: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewSealer(tt.secret)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
		})
	}
}

func TestSealOpen(t *testing.T) {
	s := testSealer(t)
	other, err := NewSealer([]byte("a different system secret entirely"))
	if err != nil {
		t.Fatal(err)
	}
	plaintext := []byte("pkcs8 private key bytes")
	aad := []byte("kid-1")
	sealed, err := s.Seal(plaintext, aad)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}

	tests := []struct {
		name    string
		sealer  *Sealer
		sealed  []byte
		aad     []byte
		wantErr bool
	}{
		{name: "round trip", sealer: s, sealed: sealed, aad: aad},
		{name: "wrong additional data", sealer: s, sealed: sealed, aad: []byte("kid-2"), wantErr: true},
		{name: "missing additional data", sealer: s, sealed: sealed, aad: nil, wantErr: true},
		{name: "tampered nonce", sealer: s, sealed: flip(0), aad: aad, wantErr: true},
		{name: "tampered ciphertext", sealer: s, sealed: flip(12), aad: aad, wantErr: true},
		{name: "tampered tag", sealer: s, sealed: flip(len(sealed) - 1), aad: aad, wantErr: true},
		{name: "truncated", sealer: s, sealed: sealed[:len(sealed)-1], aad: aad, wantErr: true},
		{name: "too short for nonce and tag", sealer: s, sealed: sealed[:27], aad: aad, wantErr: true},
		{name: "empty", sealer: s, sealed: nil, aad: aad, wantErr: true},
		{name: "wrong secret", sealer: other, sealed: sealed, aad: aad, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.sealer.Open(tt.sealed, tt.aad)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Open succeeded, want error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, plaintext) {
				t.Fatalf("Open = %q, want %q", got, plaintext)
			}
		})
	}
}

func TestSealLayout(t *testing.T) {
	s := testSealer(t)
	plaintext := []byte("same plaintext")
	a, err := s.Seal(plaintext, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Seal(plaintext, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 12-byte nonce + ciphertext + 16-byte tag.
	if want := 12 + len(plaintext) + 16; len(a) != want {
		t.Fatalf("len = %d, want %d", len(a), want)
	}
	if bytes.Equal(a[:12], b[:12]) {
		t.Fatal("two seals reused a nonce")
	}
	if bytes.Contains(a, plaintext) {
		t.Fatal("sealed output contains the plaintext")
	}
}
