package server

import (
	"encoding/base64"
	"strings"
)

// strictRawURL decodes base64url without padding (RFC 4648 §5) and, being
// strict, refuses non-zero unused bits in the last character (§3.5).
var strictRawURL = base64.RawURLEncoding.Strict()

// appendCanonical appends the bytes s encodes to dst and reports whether s
// is their one canonical spelling: unpadded base64url, no other alphabet,
// no whitespace, zero unused bits. Go's decoder, even strict, skips CR and
// LF, so they are refused here.
//
// Every token Rotor parses goes through it before any lookup: a token has
// one spelling, so that no second string names the same token (and
// derives another successor, or slips past a check keyed by the string).
func appendCanonical(dst []byte, s string) ([]byte, bool) {
	if s == "" || strings.ContainsAny(s, "\r\n") {
		return dst, false
	}
	out, err := strictRawURL.AppendDecode(dst, []byte(s))
	if err != nil {
		return dst, false
	}
	return out, true
}

// splitHMACToken parses a token in fosite's HMAC format as Rotor issues it,
// prefix + key + "." + signature, and appends the decoded key and then the
// decoded signature to dst; n is the key's length. Any other spelling is
// refused (see appendCanonical), a missing prefix included: fosite strips
// it only if present.
func splitHMACToken(dst []byte, token, prefix string) (b []byte, n int, ok bool) {
	rest, ok := strings.CutPrefix(token, prefix)
	if !ok {
		return dst, 0, false
	}
	key, sig, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(sig, ".") {
		return dst, 0, false
	}
	b, ok = appendCanonical(dst, key)
	if !ok {
		return dst, 0, false
	}
	n = len(b) - len(dst)
	if b, ok = appendCanonical(b, sig); !ok {
		return dst, 0, false
	}
	return b, n, true
}

// canonicalHMACToken reports whether token is in canonical HMAC form.
func canonicalHMACToken(token, prefix string) bool {
	var buf [128]byte
	_, _, ok := splitHMACToken(buf[:0], token, prefix)
	return ok
}

// canonicalJWS reports whether every segment of a compact JWS is canonical
// base64url (RFC 7515 §2 forbids padding, line breaks and whitespace).
func canonicalJWS(token string) bool {
	if strings.Count(token, ".") != 2 {
		return false
	}
	var buf [1024]byte
	for seg := range strings.SplitSeq(token, ".") {
		if _, ok := appendCanonical(buf[:0], seg); !ok {
			return false
		}
	}
	return true
}
