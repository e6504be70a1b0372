package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// oauthCtx makes golang.org/x/oauth2 use the harness's HTTP client.
func (h *harness) oauthCtx() context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, h.http)
}

// oauthConfig is an x/oauth2 client for c.
func (h *harness) oauthConfig(c testClient, scopes ...string) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	if c.AuthMethod != "client_secret_basic" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     c.ID,
		ClientSecret: c.Secret,
		Endpoint:     oauth2.Endpoint{TokenURL: h.URL + "/oauth2/token", AuthStyle: style},
		Scopes:       scopes,
	}
}

// TestPasswordGrantAuthMethods logs in with x/oauth2 under every client
// authentication method Rotor supports, then refreshes through an
// oauth2.TokenSource.
func TestPasswordGrantAuthMethods(t *testing.T) {
	h := newHarness(t, config{})
	for _, tc := range []struct {
		name   string
		client testClient
	}{
		{name: "client_secret_basic", client: webClient},
		{name: "client_secret_post", client: postClient},
		{name: "none (public client)", client: mobileClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := h.oauthConfig(tc.client, "read")
			tok, err := cfg.PasswordCredentialsToken(h.oauthCtx(), aliceEmail, alicePassword)
			if err != nil {
				t.Fatalf("password grant: %v", err)
			}
			if tok.AccessToken == "" || tok.RefreshToken == "" {
				t.Fatalf("want access and refresh token, got %+v", tok)
			}
			if !strings.EqualFold(tok.TokenType, "bearer") {
				t.Errorf("token_type = %q, want bearer", tok.TokenType)
			}
			if tok.Expiry.IsZero() {
				t.Error("no expires_in")
			}
			claims := jwtClaims(t, tok.AccessToken)
			if claims["client_id"] != tc.client.ID || claims["sub"] != h.users[aliceEmail].ID {
				t.Errorf("client_id/sub = %v/%v", claims["client_id"], claims["sub"])
			}

			// Refresh via TokenSource: an expired token forces a refresh.
			expired := &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
			next, err := cfg.TokenSource(h.oauthCtx(), expired).Token()
			if err != nil {
				t.Fatalf("refresh via TokenSource: %v", err)
			}
			if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken {
				t.Errorf("refresh must return a new refresh token")
			}
			if next.AccessToken == tok.AccessToken {
				t.Errorf("refresh must return a new access token")
			}
			if got := jwtClaims(t, next.AccessToken)["scope"]; got != "read" {
				t.Errorf("refreshed scope = %v, want read", got)
			}
		})
	}
}

// TestClientCredentialsGrant uses x/oauth2/clientcredentials.
func TestClientCredentialsGrant(t *testing.T) {
	h := newHarness(t, config{})
	for _, tc := range []struct {
		name   string
		client testClient
		scopes []string
	}{
		{name: "service client, scoped", client: serviceClient, scopes: []string{"read"}},
		{name: "web client, no scope", client: webClient},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := clientcredentials.Config{
				ClientID: tc.client.ID, ClientSecret: tc.client.Secret,
				TokenURL: h.URL + "/oauth2/token", Scopes: tc.scopes, AuthStyle: oauth2.AuthStyleInHeader,
			}
			tok, err := cfg.Token(h.oauthCtx())
			if err != nil {
				t.Fatalf("client_credentials: %v", err)
			}
			if tok.RefreshToken != "" {
				t.Error("client_credentials must not issue a refresh token")
			}
			claims := jwtClaims(t, tok.AccessToken)
			if claims["sub"] != tc.client.ID || claims["client_id"] != tc.client.ID {
				t.Errorf("sub/client_id = %v/%v, want %s", claims["sub"], claims["client_id"], tc.client.ID)
			}
			if got, want := claims["scope"], strings.Join(tc.scopes, " "); (got == nil && want != "") || (got != nil && got != want) {
				t.Errorf("scope = %v, want %q", got, want)
			}
			if !h.active(tok.AccessToken) {
				t.Error("client_credentials token not active")
			}
		})
	}
}

// TestAccessTokenIsRFC9068JWT checks header and claims of access tokens
// from each grant.
func TestAccessTokenIsRFC9068JWT(t *testing.T) {
	h := newHarness(t, config{accessTTL: 5 * time.Minute})
	login := h.login(webClient, aliceEmail, alicePassword, "read write")
	refreshed := h.mustRefresh(webClient, login.Refresh)
	cc := h.mustTokens(h.form("/oauth2/token", serviceClient, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}))

	jwks := h.fetchJWKS(t)
	for _, tc := range []struct {
		name, token, sub, client, scope string
	}{
		{name: "password", token: login.Access, sub: h.users[aliceEmail].ID, client: webClient.ID, scope: "read write"},
		{name: "refresh_token", token: refreshed.Access, sub: h.users[aliceEmail].ID, client: webClient.ID, scope: "read write"},
		{name: "client_credentials", token: cc.Access, sub: serviceClient.ID, client: serviceClient.ID, scope: "read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			jws, err := jose.ParseSignedCompact(tc.token, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatalf("parse as ES256 JWS: %v", err)
			}
			hdr := jws.Signatures[0].Protected
			if hdr.Algorithm != "ES256" {
				t.Errorf("alg = %q, want ES256", hdr.Algorithm)
			}
			if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" {
				t.Errorf("typ = %q, want at+jwt", typ)
			}
			if hdr.KeyID == "" || len(jwks.Key(hdr.KeyID)) != 1 {
				t.Errorf("kid %q not in JWKS", hdr.KeyID)
			}
			c := jwtClaims(t, tc.token)
			for _, k := range []string{"iss", "sub", "aud", "exp", "iat", "jti", "client_id", "scope"} {
				if _, ok := c[k]; !ok {
					t.Errorf("claim %s missing", k)
				}
			}
			if c["iss"] != h.URL {
				t.Errorf("iss = %v, want %s", c["iss"], h.URL)
			}
			if c["sub"] != tc.sub || c["client_id"] != tc.client || c["scope"] != tc.scope {
				t.Errorf("sub/client_id/scope = %v/%v/%v", c["sub"], c["client_id"], c["scope"])
			}
			aud, _ := c["aud"].([]any)
			if !slices.Contains(aud, any(testAudience)) {
				t.Errorf("aud = %v, want to contain %s", c["aud"], testAudience)
			}
			exp, _ := c["exp"].(float64)
			iat, _ := c["iat"].(float64)
			if life := time.Duration(exp-iat) * time.Second; life < 4*time.Minute || life > 6*time.Minute {
				t.Errorf("exp-iat = %v, want about the 5m access TTL", life)
			}
			if jti, _ := c["jti"].(string); len(jti) < 16 {
				t.Errorf("jti %q too short", jti)
			}
		})
	}
	if login.Access == refreshed.Access || jwtClaims(t, login.Access)["jti"] == jwtClaims(t, refreshed.Access)["jti"] {
		t.Error("refresh reused the access token or its jti")
	}
}

// TestRefreshTokenIsOpaque checks that refresh tokens are not JWTs and that
// each refresh yields a different one.
func TestRefreshTokenIsOpaque(t *testing.T) {
	h := newHarness(t, config{})
	tk := h.login(mobileClient, aliceEmail, alicePassword, "")
	seen := map[string]bool{}
	for i := range 4 {
		if strings.Count(tk.Refresh, ".") != 1 || !strings.HasPrefix(tk.Refresh, "ory_rt_") {
			t.Errorf("refresh token %d is not opaque ory_rt_<key>.<sig>", i)
		}
		if _, err := jose.ParseSignedCompact(tk.Refresh, []jose.SignatureAlgorithm{jose.ES256, jose.RS256}); err == nil {
			t.Errorf("refresh token %d parses as a JWS", i)
		}
		if seen[tk.Refresh] {
			t.Fatalf("refresh token %d repeats an earlier one", i)
		}
		seen[tk.Refresh] = true
		tk = h.mustRefresh(mobileClient, tk.Refresh)
	}
}

// TestTokenResponsesNoStore checks Cache-Control on every grant's answer,
// success and failure.
func TestTokenResponsesNoStore(t *testing.T) {
	h := newHarness(t, config{})
	login := h.login(webClient, aliceEmail, alicePassword, "")
	for _, tc := range []struct {
		name   string
		client testClient
		form   url.Values
		status int
	}{
		{name: "password", client: postClient, status: http.StatusOK,
			form: url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}}},
		{name: "refresh_token", client: webClient, status: http.StatusOK,
			form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {login.Refresh}}},
		{name: "client_credentials", client: serviceClient, status: http.StatusOK,
			form: url.Values{"grant_type": {"client_credentials"}}},
		{name: "error", client: webClient, status: http.StatusBadRequest,
			form: url.Values{"grant_type": {"password"}, "username": {aliceEmail}, "password": {"wrong"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.form("/oauth2/token", tc.client, tc.form)
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d: %s", r.Status, tc.status, r.Raw)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			if p := r.Header.Get("Pragma"); p != "no-cache" {
				t.Errorf("Pragma = %q, want no-cache", p)
			}
		})
	}
}

// TestAccessTokenExpiryUsesServerClock moves server.Options.Now past the
// access token's exp: introspection must call it inactive, while the
// refresh token (checked by fosite against the real clock) still works.
func TestAccessTokenExpiryUsesServerClock(t *testing.T) {
	h := newHarness(t, config{accessTTL: time.Minute})
	tk := h.login(webClient, aliceEmail, alicePassword, "")
	if !h.active(tk.Access) {
		t.Fatal("fresh access token inactive")
	}
	h.srvClock.Advance(2 * time.Minute)
	if h.active(tk.Access) {
		t.Error("access token active after its exp on the server clock")
	}
	next := h.mustRefresh(webClient, tk.Refresh)
	if next.Access == "" {
		t.Error("refresh after access expiry gave no access token")
	}
}

// fetchJWKS gets the live key set over HTTP via discovery's jwks_uri.
func (h *harness) fetchJWKS(t *testing.T) jose.JSONWebKeySet {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.URL+"/.well-known/openid-configuration", nil)
	disc := h.do(req)
	if disc.Status != http.StatusOK {
		t.Fatalf("discovery: %d", disc.Status)
	}
	jwksURI := disc.str("jwks_uri")
	if jwksURI == "" {
		t.Fatal("discovery has no jwks_uri")
	}
	res, err := h.http.Get(jwksURI)
	if err != nil {
		t.Fatalf("GET jwks: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET jwks: status %d", res.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatalf("decode jwks: %v", err)
	}
	return set
}
