package storage

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"
)

// Stored requests are written and read with goccy/go-json (a third of the
// encoding and a quarter of the decoding cost of encoding/json on the
// refresh path). These tests hold it to encoding/json: it writes the same
// bytes, and reads back exactly what encoding/json would rebuild.

func sampleRequest(sub string, ext map[string]any) *fosite.Request {
	t0 := time.Date(2026, 11, 28, 18, 27, 15, 649915051, time.UTC)
	return &fosite.Request{
		ID:                "63e9d01a-34dc-4e8a-aad8-161ae01075ef",
		RequestedAt:       t0,
		Client:            &fosite.DefaultClient{ID: "mobile"},
		RequestedScope:    fosite.Arguments{"openid", "offline_access"},
		GrantedScope:      fosite.Arguments{"openid", "offline_access"},
		RequestedAudience: fosite.Arguments{"api"},
		GrantedAudience:   fosite.Arguments{"api"},
		Form:              url.Values{"client_id": {"mobile"}, "grant_type": {"password"}},
		Session: &openid.DefaultSession{
			Claims: &jwt.IDTokenClaims{Subject: sub, AuthTime: t0.Truncate(time.Second), RequestedAt: t0,
				Audience: []string{"mobile"}, Nonce: "n-0S6_WzA2Mj", Extra: ext,
				AuthenticationMethodsReferences: []string{"pwd"}},
			Headers:   &jwt.Headers{Extra: map[string]any{"kid": "k1"}},
			ExpiresAt: map[fosite.TokenType]time.Time{fosite.AccessToken: t0.Add(10 * time.Minute), fosite.RefreshToken: t0.Add(7 * 24 * time.Hour)},
			Subject:   sub,
			Username:  "alice@example.com",
		},
	}
}

// decodeBoth decodes data with both libraries into fresh values.
func decodeBoth(t *testing.T, data []byte) (std, fast storedRequest, stdSess, fastSess openid.DefaultSession) {
	t.Helper()
	if err := json.Unmarshal(data, &std); err != nil {
		t.Fatalf("encoding/json: %v", err)
	}
	if err := json.Unmarshal(std.Session, &stdSess); err != nil {
		t.Fatalf("encoding/json session: %v", err)
	}
	if err := gojson.Unmarshal(data, &fast); err != nil {
		t.Fatalf("go-json: %v", err)
	}
	if err := gojson.Unmarshal(fast.Session, &fastSess); err != nil {
		t.Fatalf("go-json session: %v", err)
	}
	return std, fast, stdSess, fastSess
}

func TestStoredRequestDecodesLikeEncodingJSON(t *testing.T) {
	tests := []struct {
		name string
		req  *fosite.Request
	}{
		{name: "typical password grant", req: sampleRequest("07568ec9-2b86-4684-a055-8d1a26919ee1", nil)},
		{name: "extra claims of every JSON type", req: sampleRequest("u1", map[string]any{
			"s": "x", "n": 1.5, "big": 12345678901234.0, "b": true, "null": nil,
			"arr": []any{"a", 2.0, false, nil}, "obj": map[string]any{"k": []any{map[string]any{"deep": "v"}}},
		})},
		{name: "escapes and non-ASCII", req: sampleRequest("ü\"\\\n\u2028<script>&", map[string]any{"é": "日本語 \u0000 \t"})},
		{name: "empty session parts", req: &fosite.Request{ID: "r", Client: &fosite.DefaultClient{ID: "c"}, Session: &openid.DefaultSession{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := encodeRequest(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if want, err := encodeRequestWith(json.Marshal, tt.req); err != nil || !bytes.Equal(data, want) {
				t.Errorf("go-json wrote\n%s\nencoding/json writes\n%s (%v)", data, want, err)
			}
			std, fast, stdSess, fastSess := decodeBoth(t, data)
			std.Session, fast.Session = nil, nil
			if !reflect.DeepEqual(std, fast) {
				t.Errorf("request: go-json %+v, encoding/json %+v", fast, std)
			}
			if !reflect.DeepEqual(stdSess, fastSess) {
				t.Errorf("session: go-json %+v, encoding/json %+v", fastSess, stdSess)
			}
		})
	}
}

// FuzzStoredRequestDecode: for any subject, nonce or claim value, go-json
// stores what encoding/json would and reads back the same.
func FuzzStoredRequestDecode(f *testing.F) {
	f.Add("alice", "nonce", "value", 1.0)
	f.Add("\u2028\"\\", "", "\x00\xff", 1e300)
	f.Fuzz(func(t *testing.T, sub, nonce, claim string, num float64) {
		req := sampleRequest(sub, map[string]any{"c": claim, "n": num, "l": []any{claim}})
		req.Session.(*openid.DefaultSession).Claims.Nonce = nonce
		req.Form.Set("scope", claim)
		data, err := encodeRequest(req)
		want, stdErr := encodeRequestWith(json.Marshal, req)
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("go-json: %v, encoding/json: %v", err, stdErr)
		}
		if err != nil {
			t.Skip("not encodable (e.g. NaN): never stored")
		}
		if !bytes.Equal(data, want) {
			t.Fatalf("go-json wrote\n%s\nencoding/json writes\n%s", data, want)
		}
		std, fast, stdSess, fastSess := decodeBoth(t, data)
		std.Session, fast.Session = nil, nil
		if !reflect.DeepEqual(std, fast) || !reflect.DeepEqual(stdSess, fastSess) {
			t.Errorf("decoders disagree on %s", data)
		}
	})
}
