package server

import (
	"net/http"
	"strings"
	"testing"
)

// BenchmarkParseStrictForm measures the token-request parser on a typical
// refresh request.
func BenchmarkParseStrictForm(b *testing.B) {
	body := "grant_type=refresh_token&client_id=mobile&refresh_token=ory_rt_" + strings.Repeat("a", 43) + "." + strings.Repeat("b", 43)
	b.ReportAllocs()
	for b.Loop() {
		r, _ := http.NewRequest(http.MethodPost, "http://localhost/oauth2/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := parseStrictForm(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAccessTokenSign measures issuing one RFC 9068 access token
// (claims, ES256 signature, compact serialisation).
func BenchmarkAccessTokenSign(b *testing.B) {
	s := benchAccessStrategy(b)
	req := benchRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.GenerateAccessToken(b.Context(), req); err != nil {
			b.Fatal(err)
		}
	}
}
