package main

import (
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestIssuerFollowsAddrPort: a local setup that changes only
// ROTOR_HTTP_ADDR serves discovery, and the BFF's sign-in, on the port it
// listens on.
func TestIssuerFollowsAddrPort(t *testing.T) {
	in := newInstance(t)
	in.environ = slices.DeleteFunc(in.environ, func(kv string) bool { return strings.HasPrefix(kv, "ROTOR_ISSUER=") })
	_, port, _ := net.SplitHostPort(in.addr)
	want := "http://localhost:" + port
	in.start()

	client := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(in.baseURL() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if doc["issuer"] != want || doc["token_endpoint"] != want+"/oauth2/token" {
		t.Errorf("discovery issuer %v, token_endpoint %v; want %s", doc["issuer"], doc["token_endpoint"], want)
	}
	// The BFF sends the browser to the issuer's authorization endpoint.
	resp, err = client.Get(in.baseURL() + "/bff/login?return_to=/app/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, want+"/") {
		t.Errorf("BFF login redirects to %q, want under %s", loc, want)
	}
}
