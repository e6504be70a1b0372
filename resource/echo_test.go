package resource

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/labstack/echo/v4"
)

func TestEchoMiddleware(t *testing.T) {
	key := newTestKey(t, "ec-1", jose.ES256)
	stranger := newTestKey(t, "ec-stranger", jose.ES256)
	f := newFakeIssuer(t, key)
	good := sign(t, key, f.claims(), signOpts{})
	forged := sign(t, stranger, f.claims(), signOpts{kid: "ec-1"})

	tests := []struct {
		name          string
		auth          []string // Authorization header values
		scopes        []string
		introStatus   int // when set, introspection is enabled and answers this
		wantStatus    int
		wantChallenge string
		wantBody      string
	}{
		{name: "no token", wantStatus: http.StatusUnauthorized,
			wantChallenge: `Bearer realm="api"`, wantBody: `{"error":"invalid_token"}`},
		{name: "basic auth instead of bearer", auth: []string{"Basic dXNlcjpwYXNz"}, wantStatus: http.StatusUnauthorized,
			wantChallenge: `Bearer realm="api"`, wantBody: `{"error":"invalid_token"}`},
		{name: "empty bearer", auth: []string{"Bearer "}, wantStatus: http.StatusUnauthorized,
			wantChallenge: `Bearer realm="api"`, wantBody: `{"error":"invalid_token"}`},
		{name: "two authorization headers", auth: []string{"Bearer " + good, "Bearer " + good}, wantStatus: http.StatusUnauthorized,
			wantChallenge: `Bearer realm="api"`, wantBody: `{"error":"invalid_token"}`},
		{name: "bad token", auth: []string{"Bearer " + forged}, wantStatus: http.StatusUnauthorized,
			wantChallenge: `Bearer realm="api", error="invalid_token"`, wantBody: `{"error":"invalid_token"}`},
		{name: "garbage token", auth: []string{"Bearer not.a.token"}, wantStatus: http.StatusUnauthorized,
			wantChallenge: `Bearer realm="api", error="invalid_token"`, wantBody: `{"error":"invalid_token"}`},
		{name: "good token", auth: []string{"Bearer " + good}, wantStatus: http.StatusOK, wantBody: `{"sub":"user-1"}`},
		{name: "lower-case scheme", auth: []string{"bearer " + good}, wantStatus: http.StatusOK, wantBody: `{"sub":"user-1"}`},
		{name: "granted scopes", auth: []string{"Bearer " + good}, scopes: []string{"read", "write"},
			wantStatus: http.StatusOK, wantBody: `{"sub":"user-1"}`},
		{name: "missing scope", auth: []string{"Bearer " + good}, scopes: []string{"read", "admin"}, wantStatus: http.StatusForbidden,
			wantChallenge: `Bearer realm="api", error="insufficient_scope", scope="read admin"`, wantBody: `{"error":"insufficient_scope"}`},
		{name: "issuer outage", auth: []string{"Bearer " + good}, introStatus: http.StatusBadGateway,
			wantStatus: http.StatusServiceUnavailable, wantBody: `{"error":"temporarily_unavailable"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := f.verifier(t)
			if tc.introStatus != 0 {
				f.set(func(f *fakeIssuer) { f.introStatus = tc.introStatus })
				t.Cleanup(func() { f.set(func(f *fakeIssuer) { f.introStatus = http.StatusOK }) })
				v = f.verifier(t, func(c *Config) { c.Introspection = &Introspection{ClientID: "api"} })
			}
			e := echo.New()
			e.GET("/me", func(c echo.Context) error {
				claims, ok := ClaimsFrom(c)
				if !ok {
					t.Error("ClaimsFrom found no claims")
					return c.NoContent(http.StatusInternalServerError)
				}
				return c.JSON(http.StatusOK, map[string]string{"sub": claims.Subject})
			}, EchoMiddleware(v, tc.scopes...))

			req := httptest.NewRequest(http.MethodGet, "/me", nil)
			for _, a := range tc.auth {
				req.Header.Add("Authorization", a)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)

			if rec.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", rec.Code, tc.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.wantChallenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tc.wantChallenge)
			}
			if got := strings.TrimSpace(rec.Body.String()); got != tc.wantBody {
				t.Errorf("body = %s, want %s", got, tc.wantBody)
			}
			for _, secret := range []string{good, forged, "Bearer"} {
				if strings.Contains(rec.Body.String(), secret) {
					t.Fatalf("response body leaks %q", secret)
				}
			}
		})
	}
}

func TestClaimsFromWithoutMiddleware(t *testing.T) {
	tests := []struct {
		name  string
		value any
	}{
		{name: "nothing stored", value: nil},
		{name: "wrong type stored", value: "claims"},
		{name: "typed nil stored", value: (*Claims)(nil)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/", nil), httptest.NewRecorder())
			if tc.value != nil {
				c.Set(claimsKey, tc.value)
			}
			if claims, ok := ClaimsFrom(c); ok || claims != nil {
				t.Fatalf("ClaimsFrom = %v, %v; want nil, false", claims, ok)
			}
		})
	}
}
