package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"
	"sync"
	"testing"
)

func TestKeyedMACMatchesHMAC(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    func() hash.Hash
		key  []byte
	}{
		{"sha256 short key", sha256.New, []byte("k")},
		{"sha512/256 32-byte key", sha512.New512_256, bytes.Repeat([]byte{7}, 32)},
		{"sha256 key longer than a block", sha256.New, bytes.Repeat([]byte{9}, 200)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newKeyedMAC(tc.h, tc.key)
			// Concurrent callers share the pool: each must get its own
			// message's MAC, whatever instance it is handed.
			var wg sync.WaitGroup
			for g := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 200 {
						msg := []byte(fmt.Sprintf("message %d/%d", g, i))
						want := hmac.New(tc.h, tc.key)
						want.Write(msg)
						prefix := []byte("prefix")
						got := k.sum(append([]byte(nil), prefix...), msg)
						if !bytes.Equal(got[:len(prefix)], prefix) || !hmac.Equal(got[len(prefix):], want.Sum(nil)) {
							t.Errorf("MAC of %q differs from crypto/hmac", msg)
							return
						}
					}
				}()
			}
			wg.Wait()
		})
	}
}

// The key is copied: a caller reusing its buffer cannot change the MACs.
func TestKeyedMACCopiesKey(t *testing.T) {
	key := []byte("original key")
	k := newKeyedMAC(sha256.New, key)
	copy(key, "changed!")
	want := hmac.New(sha256.New, []byte("original key"))
	want.Write([]byte("m"))
	if !hmac.Equal(k.sum(nil, []byte("m")), want.Sum(nil)) {
		t.Fatal("keyedMAC used the caller's key buffer after construction")
	}
}

// A refresh computes two of these MACs.
func BenchmarkKeyedMAC(b *testing.B) {
	key, msg := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	b.Run("hmac.New each time", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			m := hmac.New(sha512.New512_256, key)
			m.Write(msg)
			_ = m.Sum(nil)
		}
	})
	b.Run("pooled", func(b *testing.B) {
		k := newKeyedMAC(sha512.New512_256, key)
		var out [32]byte
		b.ReportAllocs()
		for b.Loop() {
			_ = k.sum(out[:0], msg)
		}
	})
}
