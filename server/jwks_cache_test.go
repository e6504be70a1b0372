package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// getJWKS fetches the JWKS, with If-None-Match when ifNoneMatch is set.
func (k *keyHarness) getJWKS(t *testing.T, ifNoneMatch string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, k.URL+"/.well-known/jwks.json", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ifNoneMatch != "" {
		req.Header.Set("If-None-Match", ifNoneMatch)
	}
	return k.do(req)
}

// TestJWKSCacheHeaders: the JWKS carries Cache-Control public with the
// configured max-age and an ETag; If-None-Match with that ETag gets 304
// and no body.
func TestJWKSCacheHeaders(t *testing.T) {
	tests := []struct {
		name       string
		maxAge     time.Duration
		wantMaxAge int
	}{
		{name: "configured max-age", maxAge: 7 * time.Minute, wantMaxAge: 420},
		{name: "default max-age", maxAge: 0, wantMaxAge: 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newKeyHarness(t, krConfig{jwksMaxAge: tt.maxAge})
			full := h.getJWKS(t, "")
			if full.Status != http.StatusOK {
				t.Fatalf("status %d", full.Status)
			}
			if got, want := full.Header.Get("Cache-Control"), fmt.Sprintf("public, max-age=%d", tt.wantMaxAge); got != want {
				t.Errorf("Cache-Control = %q, want %q", got, want)
			}
			etag := full.Header.Get("ETag")
			if len(etag) < 3 || !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
				t.Fatalf("ETag = %q, want a quoted strong entity tag", etag)
			}
			var set jose.JSONWebKeySet
			if err := json.Unmarshal(full.Raw, &set); err != nil || len(set.Keys) != 4 {
				t.Fatalf("JWKS has %d keys (err %v), want 4", len(set.Keys), err)
			}

			conditional := []struct {
				name        string
				ifNoneMatch string
				want        int
			}{
				{name: "matching ETag", ifNoneMatch: etag, want: http.StatusNotModified},
				{name: "weak form of the ETag", ifNoneMatch: "W/" + etag, want: http.StatusNotModified},
				{name: "ETag in a list", ifNoneMatch: `"other", ` + etag, want: http.StatusNotModified},
				{name: "wildcard", ifNoneMatch: "*", want: http.StatusNotModified},
				{name: "other ETag", ifNoneMatch: `"other"`, want: http.StatusOK},
			}
			for _, c := range conditional {
				t.Run(c.name, func(t *testing.T) {
					r := h.getJWKS(t, c.ifNoneMatch)
					if r.Status != c.want {
						t.Fatalf("status = %d, want %d", r.Status, c.want)
					}
					if r.Header.Get("ETag") != etag {
						t.Errorf("ETag = %q, want %q", r.Header.Get("ETag"), etag)
					}
					if got := r.Header.Get("Cache-Control"); !strings.Contains(got, fmt.Sprintf("max-age=%d", tt.wantMaxAge)) {
						t.Errorf("Cache-Control = %q", got)
					}
					switch c.want {
					case http.StatusNotModified:
						if len(r.Raw) != 0 {
							t.Errorf("304 with a body: %q", r.Raw)
						}
					default:
						if string(r.Raw) != string(full.Raw) {
							t.Errorf("body differs from the unconditional response")
						}
					}
				})
			}
		})
	}
}

// TestJWKSETagChangesOnRotation: after a rotation and reload the JWKS and
// its ETag change, the old ETag no longer gets 304, the new one does.
func TestJWKSETagChangesOnRotation(t *testing.T) {
	h := newKeyHarness(t, krConfig{})
	before := h.getJWKS(t, "")
	oldETag := before.Header.Get("ETag")
	if err := h.forceRotate(time.Hour); err != nil {
		t.Fatal(err)
	}
	after := h.getJWKS(t, "")
	newETag := after.Header.Get("ETag")
	if newETag == "" || newETag == oldETag {
		t.Fatalf("ETag after rotation = %q, before %q: want a new one", newETag, oldETag)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(after.Raw, &set); err != nil || len(set.Keys) != 6 {
		t.Fatalf("JWKS after rotation has %d keys (err %v), want 6", len(set.Keys), err)
	}
	tests := []struct {
		name        string
		ifNoneMatch string
		want        int
	}{
		{name: "pre-rotation ETag gets the new set", ifNoneMatch: oldETag, want: http.StatusOK},
		{name: "post-rotation ETag is not modified", ifNoneMatch: newETag, want: http.StatusNotModified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.getJWKS(t, tt.ifNoneMatch)
			if r.Status != tt.want {
				t.Fatalf("status = %d, want %d", r.Status, tt.want)
			}
			if r.Header.Get("ETag") != newETag {
				t.Errorf("ETag = %q, want %q", r.Header.Get("ETag"), newETag)
			}
			if tt.want == http.StatusOK && string(r.Raw) != string(after.Raw) {
				t.Errorf("body is not the post-rotation JWKS")
			}
			if tt.want == http.StatusNotModified && len(r.Raw) != 0 {
				t.Errorf("304 with a body: %q", r.Raw)
			}
		})
	}
}
