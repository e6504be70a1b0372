package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/rotorauth/rotor/storage"
)

// Clients of the authorization-code tests, registered by newOIDCHarness
// next to the harness's own fixtures.
const (
	acAppRedirect      = "https://app.example.com/callback"
	acAppLoopback      = "http://127.0.0.1:8765/callback"
	acAppLogout        = "https://app.example.com/signed-out"
	acAppName          = "Example Notes"
	acSPARedirect      = "https://spa.example.com/cb"
	acSPALogout        = "https://spa.example.com/bye"
	acLegacyRedirect   = "https://legacy.example.com/cb"
	acFirstRedirect    = "https://first.example.com/cb"
	acPublicOptRedirct = "https://public-optional.example.com/cb"
)

var (
	// acApp is a confidential third-party web app: consent required.
	acApp = testClient{ID: "notes", Secret: "notes-secret-0123456789abcdef0123456789", AuthMethod: "client_secret_basic",
		Grants: []string{"authorization_code", "refresh_token"}}
	// acSPA is a public client (no secret, PKCE mandatory).
	acSPA = testClient{ID: "spa", Public: true, AuthMethod: "none",
		Grants: []string{"authorization_code", "refresh_token"}}
	// acLegacy is confidential and registered with PKCEOptional.
	acLegacy = testClient{ID: "legacy", Secret: "legacy-secret-0123456789abcdef012345678", AuthMethod: "client_secret_post",
		Grants: []string{"authorization_code", "refresh_token"}}
	// acPublicOptional is public with PKCEOptional set: PKCE is still required.
	acPublicOptional = testClient{ID: "public-optional", Public: true, AuthMethod: "none",
		Grants: []string{"authorization_code"}}
	// acFirstParty is a first-party app: never asks for consent.
	acFirstParty = testClient{ID: "first", Secret: "first-secret-0123456789abcdef01234567890", AuthMethod: "client_secret_basic",
		Grants: []string{"authorization_code", "refresh_token"}}
	// acPassword may use the password grant with openid.
	acPassword = testClient{ID: "pwapp", Secret: "pwapp-secret-0123456789abcdef0123456789", AuthMethod: "client_secret_basic",
		Grants: []string{"password", "refresh_token", "client_credentials"}}
)

// newOIDCHarness is newHarness plus the clients above.
func newOIDCHarness(t *testing.T, cfg config) *harness {
	t.Helper()
	h := newHarness(t, cfg)
	hasher := testSecretHasher()
	scopes := []string{"openid", "email", "offline_access", "read"}
	for _, nc := range []storage.NewClient{
		{ID: acApp.ID, Name: acAppName, RedirectURIs: []string{acAppRedirect, acAppLoopback}, PostLogoutRedirectURIs: []string{acAppLogout}},
		{ID: acSPA.ID, Name: "Example SPA", Public: true, RedirectURIs: []string{acSPARedirect}, PostLogoutRedirectURIs: []string{acSPALogout}},
		{ID: acLegacy.ID, Name: "Legacy Portal", PKCEOptional: true, RedirectURIs: []string{acLegacyRedirect}},
		{ID: acPublicOptional.ID, Name: "Public Optional", Public: true, PKCEOptional: true, RedirectURIs: []string{acPublicOptRedirct}},
		{ID: acFirstParty.ID, Name: "Rotor Console", FirstParty: true, RedirectURIs: []string{acFirstRedirect}},
		{ID: acPassword.ID, Name: "Mobile", FirstParty: true},
	} {
		tc := acClientByID(nc.ID)
		nc.TokenEndpointAuthMethod = tc.AuthMethod
		nc.GrantTypes = tc.Grants
		nc.Scopes = scopes
		nc.Audience = []string{testAudience}
		if len(nc.RedirectURIs) > 0 {
			nc.ResponseTypes = []string{"code"}
		}
		if !tc.Public {
			nc.SecretHash, _ = hasher.Hash(context.Background(), []byte(tc.Secret))
		}
		if err := h.store.CreateClient(context.Background(), nc); err != nil {
			t.Fatalf("create client %s: %v", nc.ID, err)
		}
	}
	return h
}

func acClientByID(id string) testClient {
	for _, c := range []testClient{acApp, acSPA, acLegacy, acPublicOptional, acFirstParty, acPassword} {
		if c.ID == id {
			return c
		}
	}
	panic("unknown client " + id)
}

// acRedirectOf is the first registered redirect URI of an authorization-code client.
func acRedirectOf(c testClient) string {
	switch c.ID {
	case acApp.ID:
		return acAppRedirect
	case acSPA.ID:
		return acSPARedirect
	case acLegacy.ID:
		return acLegacyRedirect
	case acPublicOptional.ID:
		return acPublicOptRedirct
	case acFirstParty.ID:
		return acFirstRedirect
	}
	panic("no redirect URI for " + c.ID)
}

// acCtx makes x/oauth2 and go-oidc use the harness's HTTP client.
func (h *harness) acCtx() context.Context {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, h.http)
	return oidc.ClientContext(ctx, h.http)
}

// acOAuth2Config is an x/oauth2 client for the authorization code flow.
func (h *harness) acOAuth2Config(c testClient, scopes ...string) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	if c.AuthMethod != "client_secret_basic" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID:     c.ID,
		ClientSecret: c.Secret,
		RedirectURL:  acRedirectOf(c),
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   h.URL + "/oauth2/authorize",
			TokenURL:  h.URL + "/oauth2/token",
			AuthStyle: style,
		},
	}
}

// acVerifier verifies ID tokens for clientID the way a relying party
// would: go-oidc with discovery and the live JWKS, nothing configured.
func (h *harness) acVerifier(t *testing.T, clientID string) *oidc.IDTokenVerifier {
	t.Helper()
	p, err := oidc.NewProvider(h.acCtx(), h.URL)
	if err != nil {
		t.Fatalf("oidc.NewProvider: %v", err)
	}
	return p.Verifier(&oidc.Config{ClientID: clientID})
}

// acParams is an authorization request for c with a fresh S256 PKCE
// challenge; it returns the parameters and the verifier.
func acParams(c testClient, scope string) (url.Values, string) {
	verifier := oauth2.GenerateVerifier()
	v := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.ID},
		"redirect_uri":          {acRedirectOf(c)},
		"scope":                 {scope},
		"state":                 {"state-" + oauth2.GenerateVerifier()[:16]},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	return v, verifier
}

func (h *harness) acAuthorizeURL(v url.Values) string {
	return h.URL + "/oauth2/authorize?" + v.Encode()
}

// exchange redeems a code at the token endpoint as c.
func (h *harness) exchange(c testClient, code, verifier, redirectURI string) response {
	h.t.Helper()
	v := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}
	if verifier != "" {
		v.Set("code_verifier", verifier)
	}
	return h.form("/oauth2/token", c, v)
}

// codeTokens is a successful code exchange with its ID token.
type codeTokens struct {
	tokens
	IDToken string
}

func (h *harness) mustExchange(c testClient, code, verifier string) codeTokens {
	h.t.Helper()
	r := h.exchange(c, code, verifier, acRedirectOf(c))
	tk := h.mustTokens(r)
	return codeTokens{tokens: tk, IDToken: r.str("id_token")}
}

// userinfo calls /userinfo with a Bearer header (none when token is "").
func (h *harness) userinfo(token string) response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.URL+"/userinfo", nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return h.do(req)
}

// browserSessions counts stored browser sessions (ended ones included).
func (h *harness) browserSessions() int {
	h.t.Helper()
	return h.queryInt(h.openDB(), "SELECT COUNT(*) FROM browser_sessions")
}

// jwtHeader decodes a JWT's protected header without verifying it.
func jwtHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatalf("decode header: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("unmarshal header: %v", err)
	}
	return m
}

// acJWKS fetches the published key set.
func (h *harness) acJWKS(t *testing.T) jose.JSONWebKeySet {
	t.Helper()
	res, err := h.http.Get(h.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		t.Fatalf("decode JWKS: %v", err)
	}
	return set
}

// atHash is OIDC Core §3.1.3.6's at_hash for an RS256 ID token.
func atHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}
