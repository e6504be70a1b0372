package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestOIDCDiscovery: the discovery document advertises what a relying
// party needs, and go-oidc accepts it.
func TestOIDCDiscovery(t *testing.T) {
	h := newOIDCHarness(t, config{})
	req, _ := http.NewRequest(http.MethodGet, h.URL+"/.well-known/openid-configuration", nil)
	r := h.do(req)
	if r.Status != http.StatusOK {
		t.Fatalf("discovery: %d", r.Status)
	}
	list := func(key string) []string {
		var out []string
		raw, _ := r.JSON[key].([]any)
		for _, v := range raw {
			s, _ := v.(string)
			out = append(out, s)
		}
		return out
	}
	for _, tc := range []struct {
		name, key string
		want      string
	}{
		{name: "authorization endpoint", key: "authorization_endpoint", want: h.URL + "/oauth2/authorize"},
		{name: "userinfo endpoint", key: "userinfo_endpoint", want: h.URL + "/userinfo"},
		{name: "end session endpoint", key: "end_session_endpoint", want: h.URL + "/oauth2/logout"},
		{name: "token endpoint", key: "token_endpoint", want: h.URL + "/oauth2/token"},
		{name: "jwks uri", key: "jwks_uri", want: h.URL + "/.well-known/jwks.json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.str(tc.key); got != tc.want {
				t.Errorf("%s = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, key string
		want      []string // must contain
		exact     bool
	}{
		{name: "response types", key: "response_types_supported", want: []string{"code"}, exact: true},
		{name: "subject types", key: "subject_types_supported", want: []string{"public"}},
		{name: "ID token algs", key: "id_token_signing_alg_values_supported", want: []string{"RS256"}},
		{name: "PKCE methods", key: "code_challenge_methods_supported", want: []string{"S256"}, exact: true},
		{name: "scopes", key: "scopes_supported", want: []string{"openid", "email", "offline_access"}},
		{name: "claims", key: "claims_supported", want: []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "email", "email_verified"}},
		{name: "grant types", key: "grant_types_supported", want: []string{"authorization_code", "refresh_token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := list(tc.key)
			if tc.exact && !slices.Equal(got, tc.want) {
				t.Errorf("%s = %v, want exactly %v", tc.key, got, tc.want)
			}
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("%s = %v, lacks %q", tc.key, got, w)
				}
			}
		})
	}
	t.Run("authorization_response_iss_parameter_supported", func(t *testing.T) {
		if r.JSON["authorization_response_iss_parameter_supported"] != true {
			t.Errorf("= %v, want true", r.JSON["authorization_response_iss_parameter_supported"])
		}
	})
	t.Run("go-oidc provider", func(t *testing.T) {
		p, err := oidc.NewProvider(h.acCtx(), h.URL)
		if err != nil {
			t.Fatal(err)
		}
		if p.Endpoint().AuthURL != h.URL+"/oauth2/authorize" || p.UserInfoEndpoint() != h.URL+"/userinfo" {
			t.Errorf("provider endpoints %+v %s", p.Endpoint(), p.UserInfoEndpoint())
		}
	})
}

// TestUserinfo: /userinfo answers for a live user access token of any
// grant and 401 with WWW-Authenticate for anything else.
func TestUserinfo(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	code, verifier := b.acCode(acApp, "openid email")
	withEmail := h.mustExchange(acApp, code, verifier)
	code, verifier = b.acCode(acApp, "openid")
	noEmail := h.mustExchange(acApp, code, verifier)
	code, verifier = b.acCode(acApp, "openid email offline_access")
	revoked := h.mustExchange(acApp, code, verifier)
	if r := h.revoke(acApp, revoked.Refresh, "refresh_token"); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	password := h.login(acPassword, aliceEmail, alicePassword, "openid email")
	cc := h.mustTokens(h.form("/oauth2/token", acPassword, url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}))
	alice := h.users[aliceEmail].ID

	for _, tc := range []struct {
		name      string
		token     string
		status    int
		wantEmail bool
	}{
		{name: "code flow, scope email", token: withEmail.Access, status: 200, wantEmail: true},
		{name: "code flow, scope openid only", token: noEmail.Access, status: 200},
		{name: "password grant", token: password.Access, status: 200, wantEmail: true},
		{name: "no token", token: "", status: 401},
		{name: "garbage", token: "not-a-token", status: 401},
		{name: "tampered", token: withEmail.Access[:len(withEmail.Access)-4] + "AAAA", status: 401},
		{name: "revoked family", token: revoked.Access, status: 401},
		{name: "client credentials (no user)", token: cc.Access, status: 401},
		{name: "ID token instead of access token", token: withEmail.IDToken, status: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.userinfo(tc.token)
			if r.Status != tc.status {
				t.Fatalf("status = %d, want %d (%s)", r.Status, tc.status, r.Raw)
			}
			if tc.status == http.StatusUnauthorized {
				if wa := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(wa, "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", wa)
				}
				if r.JSON["sub"] != nil {
					t.Errorf("401 with claims: %s", r.Raw)
				}
				return
			}
			if r.str("sub") != alice {
				t.Errorf("sub = %q, want %q", r.str("sub"), alice)
			}
			if tc.wantEmail {
				if r.str("email") != aliceEmail || r.JSON["email_verified"] != false {
					t.Errorf("email claims: %s", r.Raw)
				}
			} else if r.JSON["email"] != nil {
				t.Errorf("email without the email scope: %s", r.Raw)
			}
		})
	}
	t.Run("go-oidc UserInfo", func(t *testing.T) {
		p, err := oidc.NewProvider(h.acCtx(), h.URL)
		if err != nil {
			t.Fatal(err)
		}
		ui, err := p.UserInfo(h.acCtx(), oauth2.StaticTokenSource(&oauth2.Token{AccessToken: withEmail.Access, TokenType: "Bearer"}))
		if err != nil {
			t.Fatal(err)
		}
		if ui.Subject != alice || ui.Email != aliceEmail {
			t.Errorf("UserInfo = %+v", ui)
		}
	})
}

// TestPasswordGrantIDToken: the password grant with openid returns an ID
// token go-oidc accepts; without openid it returns none.
func TestPasswordGrantIDToken(t *testing.T) {
	h := newOIDCHarness(t, config{})
	alice := h.users[aliceEmail].ID
	verify := h.acVerifier(t, acPassword.ID)
	for _, tc := range []struct {
		name   string
		scope  string
		wantID bool
	}{
		{name: "openid", scope: "openid", wantID: true},
		{name: "openid email offline_access", scope: "openid email offline_access", wantID: true},
		{name: "no openid", scope: "read"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.form("/oauth2/token", acPassword, url.Values{
				"grant_type": {"password"}, "username": {aliceEmail}, "password": {alicePassword}, "scope": {tc.scope},
			})
			tk := h.mustTokens(r)
			raw := r.str("id_token")
			if !tc.wantID {
				if raw != "" {
					t.Errorf("id_token without openid")
				}
				return
			}
			idt, err := verify.Verify(h.acCtx(), raw)
			if err != nil {
				t.Fatalf("go-oidc Verify: %v", err)
			}
			if idt.Subject != alice {
				t.Errorf("sub = %q, want %q", idt.Subject, alice)
			}
			if err := idt.VerifyAccessToken(tk.Access); err != nil {
				t.Errorf("at_hash: %v", err)
			}
			c := jwtClaims(t, raw)
			if c["auth_time"] == nil {
				t.Error("no auth_time")
			}
			// A refresh keeps the subject and the login time.
			rr := h.refresh(acPassword, tk.Refresh)
			h.mustTokens(rr)
			idt2, err := verify.Verify(h.acCtx(), rr.str("id_token"))
			if err != nil {
				t.Fatalf("refreshed ID token: %v", err)
			}
			if idt2.Subject != alice || jwtClaims(t, rr.str("id_token"))["auth_time"] != c["auth_time"] {
				t.Errorf("refreshed ID token changed sub or auth_time")
			}
		})
	}
}

// TestIDTokenAudience: an ID token is for its client only.
func TestIDTokenAudience(t *testing.T) {
	h := newOIDCHarness(t, config{})
	b := h.newBrowser(t)
	code, verifier := b.acCode(acApp, "openid")
	tk := h.mustExchange(acApp, code, verifier)
	for _, tc := range []struct {
		name     string
		clientID string
		ok       bool
	}{
		{name: "own client", clientID: acApp.ID, ok: true},
		{name: "another client", clientID: acSPA.ID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := h.acVerifier(t, tc.clientID).Verify(h.acCtx(), tk.IDToken)
			if (err == nil) != tc.ok {
				t.Errorf("Verify for %s: err = %v, want ok=%v", tc.clientID, err, tc.ok)
			}
		})
	}
}
