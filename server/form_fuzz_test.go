package server

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/ory/fosite"
)

// FuzzParseStrictForm checks that no body makes the token-request parser
// panic, accept a repeated parameter or an oversized body, or fail with
// anything but invalid_request.
func FuzzParseStrictForm(f *testing.F) {
	for _, seed := range []string{
		"grant_type=password&username=a%40b.c&password=x&client_id=mobile",
		"grant_type=refresh_token&refresh_token=ory_rt_abc.def",
		"a=1&a=2",
		"%zz",
		"a=%",
		"",
		"&&&=&=",
		strings.Repeat("a", 70000),
	} {
		f.Add(seed, "application/x-www-form-urlencoded")
	}
	f.Add("a=1", "application/json")
	f.Add("a=1", "application/x-www-form-urlencoded; charset=utf-8")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		r, err := http.NewRequest(http.MethodPost, "http://localhost/oauth2/token", strings.NewReader(body))
		if err != nil {
			t.Skip()
		}
		r.Header.Set("Content-Type", contentType)
		err = parseStrictForm(r)
		if err != nil {
			if !errors.Is(err, fosite.ErrInvalidRequest) {
				t.Fatalf("error %v is not invalid_request", err)
			}
			return
		}
		if len(body) > maxFormBytes {
			t.Fatalf("accepted a %d-byte body", len(body))
		}
		for k, v := range r.PostForm {
			if len(v) != 1 {
				t.Fatalf("accepted repeated parameter %q", k)
			}
		}
	})
}
