package server_test

import (
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// /bff/api/hello reaches the demo API with the user's token.
func TestBFFProxyToDemoAPI(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	b := h.newBrowser()
	b.signIn("/app/")
	r := b.api(http.MethodGet, "hello")
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, body %s", r.Status, r.Raw)
	}
	if r.str("sub") != h.users[aliceEmail].ID || r.str("client_id") != bffClientID || r.str("message") == "" {
		t.Errorf("demo API answered %s, want alice's sub and client_id %s", r.Raw, bffClientID)
	}
	stored := h.storedSession(h.users[aliceEmail].ID)
	if hasSubstringOf(string(r.Raw), stored.Access, 20) {
		t.Errorf("the API answer contains the access token")
	}
	// Any other path is the API's own answer: it routes only /hello.
	if r := b.api(http.MethodGet, "nope"); r.Status != http.StatusNotFound {
		t.Errorf("/bff/api/nope: status %d, want the API's 404 (body %s)", r.Status, r.Raw)
	}
	// The proxy can't be walked out of /demo-api to the server's other
	// routes.
	r = b.send(bffReq{url: "/bff/api/%2e%2e/metrics", header: map[string]string{"X-CSRF": "1"}})
	wantBFFError(t, r, http.StatusBadRequest, "invalid_request")
}

// upstreamRecord is what a separate upstream API received.
type upstreamRecord struct {
	Method, Path, RawQuery, RequestURI string
	Header                             http.Header
	Body                               []byte
}

// A separate upstream gets a real HTTP request: method, path, query and
// body forwarded, the session's access token as Bearer, and none of the
// browser's Cookie, X-CSRF or Authorization.
func TestBFFProxyToSeparateUpstream(t *testing.T) {
	var mu sync.Mutex
	var got []upstreamRecord
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, upstreamRecord{r.Method, r.URL.Path, r.URL.RawQuery, r.RequestURI, r.Header.Clone(), body})
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "upstream", Value: "1", Path: "/"})
		w.Header().Set("X-Upstream", "yes")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(up.Close)
	h := newBFFHarness(t, bffConfig{upstream: up.URL + "/base"})
	b := h.newBrowser()
	b.signIn("/app/")
	stored := h.storedSession(h.users[aliceEmail].ID)

	for _, tc := range []struct {
		name, method, path, query, body, contentType string
	}{
		{name: "POST with body", method: http.MethodPost, path: "echo", query: "q=1", body: `{"hello":"world"}`, contentType: "application/json"},
		{name: "GET nested path", method: http.MethodGet, path: "a/b", query: "x=1&x=2"},
		{name: "DELETE", method: http.MethodDelete, path: "items/7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			hdr := map[string]string{
				"X-CSRF":        "1",
				"Origin":        h.URL,
				"Authorization": "Bearer browser-sent-token",
				"Accept":        "application/json",
			}
			if tc.contentType != "" {
				hdr["Content-Type"] = tc.contentType
			}
			u := "/bff/api/" + tc.path
			if tc.query != "" {
				u += "?" + tc.query
			}
			r := b.send(bffReq{method: tc.method, url: u, body: tc.body, header: hdr})
			if r.Status != http.StatusCreated || r.Header.Get("X-Upstream") != "yes" {
				t.Fatalf("status %d, X-Upstream %q; want the upstream's 201 (body %s)", r.Status, r.Header.Get("X-Upstream"), r.Raw)
			}
			if sc := r.Header.Values("Set-Cookie"); len(sc) != 0 {
				t.Errorf("the upstream's Set-Cookie reached the browser: %q", sc)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(got) != 1 {
				t.Fatalf("upstream got %d requests, want 1", len(got))
			}
			rec := got[0]
			if rec.Method != tc.method || rec.Path != "/base/"+tc.path || rec.RawQuery != tc.query || string(rec.Body) != tc.body {
				t.Errorf("upstream got %s %s?%s body %q; want %s /base/%s?%s body %q",
					rec.Method, rec.Path, rec.RawQuery, rec.Body, tc.method, tc.path, tc.query, tc.body)
			}
			if a := rec.Header.Values("Authorization"); len(a) != 1 || a[0] != "Bearer "+stored.Access {
				t.Errorf("upstream Authorization = %q, want the session's access token as Bearer", a)
			}
			for _, k := range []string{"Cookie", "X-Csrf", "Origin"} {
				if v := rec.Header.Values(k); len(v) != 0 {
					t.Errorf("upstream received %s: %q", k, v)
				}
			}
			if tc.contentType != "" && rec.Header.Get("Content-Type") != tc.contentType {
				t.Errorf("upstream Content-Type = %q, want %q", rec.Header.Get("Content-Type"), tc.contentType)
			}
			if rec.Header.Get("Accept") != "application/json" {
				t.Errorf("upstream Accept = %q, want it forwarded", rec.Header.Get("Accept"))
			}
		})
	}

	// The upstream sees the path as the browser sent it, under its base
	// path; dot segments that would climb out of the base are refused.
	for _, tc := range []struct {
		name, path string
		upstream   string // the upstream's request URI; "" when refused
	}{
		{name: "dot-dot", path: "/bff/api/../../secret"},
		{name: "escaped dot-dot", path: "/bff/api/%2e%2e/secret"},
		{name: "upper-case escaped dot-dot", path: "/bff/api/a/%2E%2E/%2E%2E/secret"},
		{name: "dot", path: "/bff/api/./x"},
		{name: "double-escaped dot-dot stays escaped", path: "/bff/api/%252e%252e/secret", upstream: "/base/%252e%252e/secret"},
		{name: "escaped percent stays escaped", path: "/bff/api/a%2525b", upstream: "/base/a%2525b"},
		{name: "escaped slash stays escaped", path: "/bff/api/a%2Fb", upstream: "/base/a%2Fb"},
	} {
		t.Run("path/"+tc.name, func(t *testing.T) {
			mu.Lock()
			got = nil
			mu.Unlock()
			r := b.send(bffReq{url: tc.path, header: map[string]string{"X-CSRF": "1"}})
			mu.Lock()
			defer mu.Unlock()
			if tc.upstream == "" {
				wantBFFError(t, r, http.StatusBadRequest, "invalid_request")
				if len(got) != 0 {
					t.Errorf("upstream got %s", got[0].RequestURI)
				}
				return
			}
			if r.Status != http.StatusCreated || len(got) != 1 {
				t.Fatalf("status %d, %d upstream requests; want the upstream's 201", r.Status, len(got))
			}
			if got[0].RequestURI != tc.upstream {
				t.Errorf("upstream request URI = %q, want %q", got[0].RequestURI, tc.upstream)
			}
		})
	}
}

// The demo API accepts a valid Rotor access token for its audience and
// nothing else, and never echoes what it was sent.
func TestDemoAPI(t *testing.T) {
	h := newBFFHarness(t, bffConfig{})
	b := h.newBrowser()
	b.signIn("/app/")
	access := h.storedSession(h.users[aliceEmail].ID).Access
	otherAudience := h.login(webClient, aliceEmail, alicePassword, "").Access
	tampered := access[:len(access)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(access, "AA")]

	for _, tc := range []struct {
		name, auth string
		status     int
	}{
		{name: "valid token", auth: "Bearer " + access, status: http.StatusOK},
		{name: "lower-case scheme", auth: "bearer " + access, status: http.StatusOK},
		{name: "no Authorization", auth: "", status: http.StatusUnauthorized},
		{name: "garbage token", auth: "Bearer not-a-token", status: http.StatusUnauthorized},
		{name: "Basic scheme", auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("a:"+access)), status: http.StatusUnauthorized},
		{name: "token for another audience", auth: "Bearer " + otherAudience, status: http.StatusUnauthorized},
		{name: "tampered signature", auth: "Bearer " + tampered, status: http.StatusUnauthorized},
		{name: "token with trailing junk", auth: "Bearer " + access + " junk", status: http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.auth != "" {
				hdr["Authorization"] = tc.auth
			}
			r := h.send(bffReq{url: "/demo-api/hello", header: hdr})
			if tc.status == http.StatusOK {
				if r.Status != http.StatusOK || r.str("sub") != h.users[aliceEmail].ID {
					t.Errorf("status %d, body %s; want 200 with alice's sub", r.Status, r.Raw)
				}
			} else {
				wantOAuthError(t, r.response, tc.status, "invalid_token")
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", r.Header.Get("WWW-Authenticate"))
				}
			}
			var all strings.Builder
			all.Write(r.Raw)
			for k, vs := range r.Header {
				all.WriteString(k + ": " + strings.Join(vs, ",") + "\n")
			}
			for _, secret := range []string{access, otherAudience, "not-a-token"} {
				if hasSubstringOf(all.String(), secret, 20) || (len(secret) < 20 && strings.Contains(all.String(), secret)) {
					t.Errorf("the answer echoes the token it was sent")
				}
			}
		})
	}
}
