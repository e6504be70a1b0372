package server

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// TestAppendCanonical: exactly one spelling of a value is accepted.
func TestAppendCanonical(t *testing.T) {
	value := []byte{0xfb, 0xff, 0x01, 0x02, 0x03, 0xf0, 0x7e, 0x3f} // has '-' and '_' when encoded
	canonical := base64.RawURLEncoding.EncodeToString(value)
	last := canonical[len(canonical)-1]
	for _, tc := range []struct {
		name, s string
		ok      bool
	}{
		{name: "canonical", s: canonical, ok: true},
		{name: "unused bits of the last character set", s: canonical[:len(canonical)-1] + string(last+1)},
		{name: "padded", s: base64.URLEncoding.EncodeToString(value)},
		{name: "one padding character", s: canonical + "="},
		{name: "standard alphabet", s: base64.RawStdEncoding.EncodeToString(value)},
		{name: "leading space", s: " " + canonical},
		{name: "trailing space", s: canonical + " "},
		{name: "tab", s: canonical[:3] + "\t" + canonical[3:]},
		{name: "line feed", s: canonical[:3] + "\n" + canonical[3:]},
		{name: "carriage return", s: canonical + "\r"},
		{name: "percent-encoded character", s: "%" + canonical},
		{name: "empty", s: ""},
		{name: "a lone trailing character", s: canonical + "AA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.s == canonical != tc.ok {
				t.Fatalf("case %q is wrong", tc.s)
			}
			b, ok := appendCanonical(nil, tc.s)
			if ok != tc.ok {
				t.Fatalf("appendCanonical(%q) ok = %v, want %v", tc.s, ok, tc.ok)
			}
			if ok && !bytes.Equal(b, value) {
				t.Errorf("decoded %x, want %x", b, value)
			}
		})
	}
}

// TestSplitHMACToken: an HMAC token has one spelling, prefix included.
func TestSplitHMACToken(t *testing.T) {
	key, sig := bytes.Repeat([]byte{0xfe}, 32), bytes.Repeat([]byte{0x03}, 32)
	enc := base64.RawURLEncoding.EncodeToString
	tok := refreshTokenPrefix + enc(key) + "." + enc(sig)
	if b, n, ok := splitHMACToken(nil, tok, refreshTokenPrefix); !ok || !bytes.Equal(b[:n], key) || !bytes.Equal(b[n:], sig) {
		t.Fatalf("canonical token refused or misread: %v", ok)
	}
	for _, bad := range []string{
		strings.TrimPrefix(tok, refreshTokenPrefix),
		authorizeCodePrefix + strings.TrimPrefix(tok, refreshTokenPrefix),
		strings.ToUpper(refreshTokenPrefix) + strings.TrimPrefix(tok, refreshTokenPrefix),
		tok + ".", tok + "=", " " + tok, tok + "\n",
		refreshTokenPrefix + "." + enc(sig), refreshTokenPrefix + enc(key) + ".",
		refreshTokenPrefix + enc(key) + "=." + enc(sig),
	} {
		if _, _, ok := splitHMACToken(nil, bad, refreshTokenPrefix); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzCanonicalSpelling: decode(encode(x)) is x, and the only string
// accepted for x is encode(x).
func FuzzCanonicalSpelling(f *testing.F) {
	f.Add([]byte{0xfb, 0xff}, "-_8")
	f.Add([]byte("token"), "dG9rZW4=")
	f.Add([]byte{}, "AB\nC")
	f.Fuzz(func(t *testing.T, x []byte, s string) {
		if len(x) > 0 {
			enc := base64.RawURLEncoding.EncodeToString(x)
			b, ok := appendCanonical(nil, enc)
			if !ok || !bytes.Equal(b, x) {
				t.Fatalf("canonical spelling %q of %x refused or misread", enc, x)
			}
		}
		b, ok := appendCanonical(nil, s)
		if ok && base64.RawURLEncoding.EncodeToString(b) != s {
			t.Fatalf("accepted %q, which is not the canonical spelling of its bytes %x", s, b)
		}
	})
}
