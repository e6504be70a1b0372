package server

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/mohae/deepcopy"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

func fullSession() *session {
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	return &session{DefaultSession: openid.DefaultSession{
		Claims: &jwt.IDTokenClaims{
			JTI: "jti", Issuer: "https://issuer", Subject: "user-1", Audience: []string{"a", "b"},
			Nonce: "n", ExpiresAt: t0, IssuedAt: t0, RequestedAt: t0, AuthTime: t0,
			AccessTokenHash: "ath", AuthenticationContextClassReference: "acr",
			AuthenticationMethodsReferences: []string{"pwd"}, CodeHash: "ch",
			Extra: map[string]any{
				"sid": "s-1", "n": 1.5, "ok": true, "null": nil,
				"nested":  map[string]any{"list": []any{"x", map[string]any{"y": 2.0}}},
				"strings": []string{"p", "q"},
			},
		},
		Headers:   &jwt.Headers{Extra: map[string]any{"kid": "k1", "crit": []any{"b64"}}},
		ExpiresAt: map[fosite.TokenType]time.Time{fosite.AccessToken: t0, fosite.RefreshToken: t0.Add(time.Hour)},
		Username:  "alice", Subject: "user-1",
	}}
}

func TestSessionCloneMatchesFosite(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    *session
	}{
		{"full", fullSession()},
		{"empty", newSession()},
		{"empty but non-nil parts", &session{DefaultSession: openid.DefaultSession{
			Claims:    &jwt.IDTokenClaims{Audience: []string{}, Extra: map[string]any{}},
			Headers:   &jwt.Headers{Extra: map[string]any{}},
			ExpiresAt: map[fosite.TokenType]time.Time{},
		}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.s.Clone().(*session)
			want := deepcopy.Copy(&tc.s.DefaultSession).(*openid.DefaultSession)
			if !reflect.DeepEqual(&got.DefaultSession, want) {
				t.Fatalf("clone differs from fosite's:\n got %#v\nwant %#v", got.DefaultSession, *want)
			}
		})
	}
}

func TestSessionCloneSharesNothing(t *testing.T) {
	orig := fullSession()
	before := deepcopy.Copy(&orig.DefaultSession).(*openid.DefaultSession)
	c := orig.Clone().(*session)
	c.Claims.Audience[0] = "changed"
	c.Claims.AuthenticationMethodsReferences[0] = "changed"
	c.Claims.Extra["sid"] = "changed"
	c.Claims.Extra["nested"].(map[string]any)["list"].([]any)[1].(map[string]any)["y"] = 3.0
	c.Claims.Extra["strings"].([]string)[0] = "changed"
	c.Claims.Subject = "changed"
	c.Headers.Extra["crit"].([]any)[0] = "changed"
	c.ExpiresAt[fosite.AccessToken] = time.Time{}
	c.Subject = "changed"
	if !reflect.DeepEqual(&orig.DefaultSession, before) {
		t.Fatal("changing the clone changed the original")
	}
}

// A field fosite adds to the session types that holds a reference would
// be shared by the field-by-field copy: this lists what Clone copies
// deeply, and fails on anything new.
func TestSessionCloneKnowsEveryReferenceField(t *testing.T) {
	copied := map[string]bool{
		"DefaultSession.Claims": true, "DefaultSession.Headers": true, "DefaultSession.ExpiresAt": true,
		"IDTokenClaims.Audience": true, "IDTokenClaims.AuthenticationMethodsReferences": true, "IDTokenClaims.Extra": true,
		"Headers.Extra": true,
	}
	for _, typ := range []reflect.Type{
		reflect.TypeFor[openid.DefaultSession](), reflect.TypeFor[jwt.IDTokenClaims](), reflect.TypeFor[jwt.Headers](),
	} {
		for f := range typ.Fields() {
			switch f.Type.Kind() {
			case reflect.Map, reflect.Slice, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func:
				if name := typ.Name() + "." + f.Name; !copied[name] {
					t.Errorf("%s (%s) is new: teach session.Clone to copy it", name, f.Type)
				}
			}
		}
	}
}

// Stored requests written with either type read back with either.
func TestSessionStoresAsFositeSession(t *testing.T) {
	s := fullSession()
	for name, marshal := range map[string]func(any) ([]byte, error){"encoding/json": json.Marshal, "go-json": gojson.Marshal} {
		got, err := marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		want, err := marshal(&s.DefaultSession)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s: session encodes as\n%s\nfosite's as\n%s", name, got, want)
		}
	}
}

// fosite clones the session once per refresh.
func BenchmarkSessionClone(b *testing.B) {
	s := fullSession()
	b.Run("fosite deepcopy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = s.DefaultSession.Clone()
		}
	})
	b.Run("field by field", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = s.Clone()
		}
	})
}
