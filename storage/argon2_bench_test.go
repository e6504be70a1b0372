package storage

import "testing"

// BenchmarkArgon2idVerify is the raw hash rate for the default (OWASP)
// parameters on every core: the ceiling for the password grant.
func BenchmarkArgon2idVerify(b *testing.B) {
	h := DefaultPasswordHasher()
	enc, err := h.Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, err := h.Verify(enc, "correct horse battery staple"); err != nil || !ok {
				b.Fatal("verify failed")
			}
		}
	})
}
