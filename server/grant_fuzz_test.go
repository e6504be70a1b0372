package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ory/fosite"

	"github.com/rotorauth/rotor/server"
)

// FuzzGrantType checks that Rotor's reading of grant_type and fosite's
// always agree: when Rotor accepts a value, fosite's own split
// (fosite.RemoveEmpty over single spaces) is that one grant and nothing
// else; when Rotor refuses it, the token endpoint answers with that
// refusal and does no work (no sign-in attempt, no audit row).
func FuzzGrantType(f *testing.F) {
	a := newAbuseHarness(f, abuseConfig{})
	for _, seed := range []string{
		"password", "password ", " password", "Password", "password\t", "\tpassword",
		"password password", "password\x00", "password,refresh_token", "", " ", "refresh_token",
		"authorization_code", "client_credentials", "password\u00a0", "password\u0085", "\u3000password",
		"password\r\n", "urn:ietf:params:oauth:grant-type:jwt-bearer", "implicit",
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, grant string) {
		form := url.Values{"grant_type": {grant}}
		got, err := server.ParseGrantType(form)
		reading := fosite.Arguments(fosite.RemoveEmpty(strings.Split(grant, " ")))
		if err == nil {
			if !reading.ExactOne(got) {
				t.Fatalf("Rotor reads %q as %q, fosite as %q", grant, got, reading)
			}
			return
		}
		before, aerr := a.store.AuditEvents(ctx, "", "", 100000)
		if aerr != nil {
			t.Fatal(aerr)
		}
		body := url.Values{"grant_type": {grant}, "username": {aliceEmail}, "password": {"wrong"}}
		req := httptest.NewRequest(http.MethodPost, "/oauth2/token", strings.NewReader(body.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(webClient.ID, webClient.Secret)
		rec := httptest.NewRecorder()
		a.handler.ServeHTTP(rec, req)
		var answer map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &answer)
		want := fosite.ErrorToRFC6749Error(err)
		if rec.Code != want.CodeField || answer["error"] != want.ErrorField {
			t.Fatalf("grant_type %q: Rotor refuses it (%s) but the endpoint answered %d %s", grant, want.ErrorField, rec.Code, rec.Body)
		}
		after, aerr := a.store.AuditEvents(ctx, "", "", 100000)
		if aerr != nil {
			t.Fatal(aerr)
		}
		if len(after) != len(before) {
			t.Fatalf("grant_type %q: refused, yet %d audit rows were written", grant, len(after)-len(before))
		}
	})
}
