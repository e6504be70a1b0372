package resource

import (
	"context"
	"errors"
	"net/http"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

func TestIntrospection(t *testing.T) {
	key := newTestKey(t, "ec-1", jose.ES256)
	tests := []struct {
		name          string
		status        int
		body          string
		expired       bool // fail the offline checks first
		down          bool // point at a closed server
		wantErr       error
		wantIntroHits int64
	}{
		{name: "active token passes", status: http.StatusOK, body: `{"active":true,"sub":"user-1"}`, wantIntroHits: 1},
		{name: "inactive token is rejected", status: http.StatusOK, body: `{"active":false}`, wantErr: ErrInvalidToken, wantIntroHits: 1},
		{name: "server error is not an invalid token", status: http.StatusInternalServerError, body: `oops`, wantErr: ErrIssuerUnavailable, wantIntroHits: 1},
		{name: "bad client credentials are not an invalid token", status: http.StatusUnauthorized, body: `{"error":"invalid_client"}`, wantErr: ErrIssuerUnavailable, wantIntroHits: 1},
		{name: "malformed response is not an invalid token", status: http.StatusOK, body: `{"ok":1}`, wantErr: ErrIssuerUnavailable, wantIntroHits: 1},
		{name: "unreachable endpoint is not an invalid token", down: true, wantErr: ErrIssuerUnavailable},
		{name: "offline rejection skips introspection", status: http.StatusOK, body: `{"active":true}`, expired: true, wantErr: ErrInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeIssuer(t, key)
			f.set(func(f *fakeIssuer) { f.introStatus, f.introBody = tc.status, tc.body })
			intro := &Introspection{ClientID: "my api", ClientSecret: "s3cr:t"}
			if tc.down {
				closed := newFakeIssuer(t)
				closed.srv.Close()
				intro.URL = closed.srv.URL + "/oauth2/introspect"
			}
			v := f.verifier(t, func(c *Config) { c.Introspection = intro })
			claims := f.claims()
			if tc.expired {
				claims["exp"] = f.clock.Now().Add(-1).Unix()
			}
			token := sign(t, key, claims, signOpts{})
			_, err := v.Verify(context.Background(), token)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("Verify: %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			case tc.wantErr == ErrIssuerUnavailable && errors.Is(err, ErrInvalidToken):
				t.Fatalf("outage reported as an invalid token: %v", err)
			}
			if got := f.introHits.Load(); got != tc.wantIntroHits {
				t.Fatalf("introspection called %d times, want %d", got, tc.wantIntroHits)
			}
			if tc.wantIntroHits == 0 {
				return
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			// Credentials are form-encoded before Basic encoding (RFC 6749
			// §2.3.1); the fake server sees the encoded form.
			if f.introUser != "my+api" || f.introPass != "s3cr%3At" {
				t.Errorf("basic auth = %q:%q", f.introUser, f.introPass)
			}
			if f.introForm["token"] != token || f.introForm["token_type_hint"] != "access_token" {
				t.Errorf("form = %v", f.introForm)
			}
		})
	}
}
