package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// response is a decoded HTTP answer.
type response struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   map[string]any
}

// str returns a string field of the JSON body ("" if absent).
func (r response) str(key string) string {
	s, _ := r.JSON[key].(string)
	return s
}

// do sends req and decodes a JSON body if there is one.
func (h *harness) do(req *http.Request) response {
	h.t.Helper()
	res, err := h.http.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatalf("read body: %v", err)
	}
	r := response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.JSON); err != nil {
			h.t.Fatalf("decode JSON body %q: %v", raw, err)
		}
	}
	return r
}

// post sends a raw body with a content type; c (may be nil) authenticates
// with HTTP Basic.
func (h *harness) post(path, contentType, body string, basic *testClient) response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic.ID), url.QueryEscape(basic.Secret))
	}
	return h.do(req)
}

// form posts form values, authenticating c the way its auth method says.
func (h *harness) form(path string, c testClient, v url.Values) response {
	h.t.Helper()
	v = cloneValues(v)
	switch c.AuthMethod {
	case "client_secret_basic":
		return h.post(path, "application/x-www-form-urlencoded", v.Encode(), &c)
	case "client_secret_post":
		v.Set("client_id", c.ID)
		v.Set("client_secret", c.Secret)
	default: // none
		v.Set("client_id", c.ID)
	}
	return h.post(path, "application/x-www-form-urlencoded", v.Encode(), nil)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// login runs the password grant and requires success.
func (h *harness) login(c testClient, email, password, scope string) tokens {
	h.t.Helper()
	v := url.Values{"grant_type": {"password"}, "username": {email}, "password": {password}}
	if scope != "" {
		v.Set("scope", scope)
	}
	r := h.form("/oauth2/token", c, v)
	return h.mustTokens(r)
}

// refresh presents a refresh token.
func (h *harness) refresh(c testClient, rt string) response {
	h.t.Helper()
	return h.form("/oauth2/token", c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
}

// mustRefresh refreshes and requires success.
func (h *harness) mustRefresh(c testClient, rt string) tokens {
	h.t.Helper()
	return h.mustTokens(h.refresh(c, rt))
}

// tokens is a successful token response.
type tokens struct {
	Access, Refresh, Scope, TokenType string
	ExpiresIn                         float64
}

func (h *harness) mustTokens(r response) tokens {
	h.t.Helper()
	if r.Status != http.StatusOK {
		h.t.Fatalf("token request: status %d, body %s", r.Status, r.Raw)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		h.t.Errorf("token response Cache-Control = %q, want no-store", cc)
	}
	tk := tokens{Access: r.str("access_token"), Refresh: r.str("refresh_token"), Scope: r.str("scope"), TokenType: r.str("token_type")}
	tk.ExpiresIn, _ = r.JSON["expires_in"].(float64)
	if tk.Access == "" {
		h.t.Fatalf("token response without access_token: %s", r.Raw)
	}
	return tk
}

// wantOAuthError asserts an RFC 6749 §5.2 error response.
func wantOAuthError(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Errorf("status = %d, want %d (body %s)", r.Status, status, r.Raw)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if got := r.str("error"); got != code {
		t.Errorf("error = %q, want %q (body %s)", got, code, r.Raw)
	}
	if code == "invalid_client" && r.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("invalid_client without WWW-Authenticate")
	}
}

// introspect asks as auditorClient, a trusted introspector.
func (h *harness) introspect(token string) response {
	h.t.Helper()
	v := url.Values{"token": {token}}
	return h.post("/oauth2/introspect", "application/x-www-form-urlencoded", v.Encode(), &auditorClient)
}

// active reports whether introspection calls token active.
func (h *harness) active(token string) bool {
	h.t.Helper()
	r := h.introspect(token)
	if r.Status != http.StatusOK {
		h.t.Fatalf("introspect: status %d, body %s", r.Status, r.Raw)
	}
	a, ok := r.JSON["active"].(bool)
	if !ok {
		h.t.Fatalf("introspect: no boolean active in %s", r.Raw)
	}
	return a
}

// revoke revokes token as c.
func (h *harness) revoke(c testClient, token, hint string) response {
	h.t.Helper()
	v := url.Values{"token": {token}}
	if hint != "" {
		v.Set("token_type_hint", hint)
	}
	return h.form("/oauth2/revoke", c, v)
}
