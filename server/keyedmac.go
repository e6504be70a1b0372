package server

import (
	"crypto/hmac"
	"hash"
	"sync"
)

// keyedMAC computes HMACs under one fixed key from a pool of keyed
// instances: hmac.New derives the padded key states anew on every call,
// and a refresh computes two of these MACs (a quarter of its garbage came
// from building them).
type keyedMAC struct{ pool sync.Pool }

func newKeyedMAC(h func() hash.Hash, key []byte) *keyedMAC {
	key = append([]byte(nil), key...)
	return &keyedMAC{pool: sync.Pool{New: func() any { return hmac.New(h, key) }}}
}

// sum appends the MAC of msg to dst.
func (k *keyedMAC) sum(dst, msg []byte) []byte {
	m := k.pool.Get().(hash.Hash)
	m.Reset()
	_, _ = m.Write(msg) // a hash's Write never fails
	dst = m.Sum(dst)
	k.pool.Put(m)
	return dst
}
