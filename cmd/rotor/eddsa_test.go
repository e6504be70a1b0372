package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestEdDSAAccessTokens: keys.access_token_alg switches access tokens to
// EdDSA; they carry a kid published in the JWKS and introspect active.
func TestEdDSAAccessTokens(t *testing.T) {
	const cs = "eddsa-client-secret-0123456789abcdefgh"
	in := newInstance(t, "ROTOR_KEYS_ACCESS_TOKEN_ALG=EdDSA", "ROTOR_BFF_ENABLED=false", "ROTOR_DEMO_ENABLED=false")
	in.cli(cs+"\n", "clients", "create", "--id", "svc", "--secret-stdin", "--grant-types", "client_credentials")
	in.start()
	tr := mustToken(t, in.baseURL(), url.Values{"grant_type": {"client_credentials"}}, "svc", cs)
	if tr.status != http.StatusOK {
		t.Fatalf("client_credentials: %d %s", tr.status, tr.Error)
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tr.AccessToken, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var hdr struct{ Alg, Kid, Typ string }
	if err := json.Unmarshal(raw, &hdr); err != nil {
		t.Fatal(err)
	}
	if hdr.Alg != "EdDSA" || hdr.Typ != "at+jwt" || hdr.Kid == "" {
		t.Fatalf("header %+v, want EdDSA at+jwt with a kid", hdr)
	}
	if jwks := get(t, in.baseURL()+"/.well-known/jwks.json"); !strings.Contains(jwks, hdr.Kid) || !strings.Contains(jwks, `"OKP"`) {
		t.Errorf("the EdDSA key %s is not in the JWKS", hdr.Kid)
	}
	req, _ := http.NewRequest(http.MethodPost, in.baseURL()+"/oauth2/introspect", strings.NewReader(url.Values{"token": {tr.AccessToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("svc", cs)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ir struct{ Active bool }
	if err := json.NewDecoder(resp.Body).Decode(&ir); err != nil || !ir.Active {
		t.Errorf("introspection: active=%v err=%v", ir.Active, err)
	}
}
