package server

import (
	"fmt"
	"testing"
	"time"
)

func TestVerifiedTokens(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	claims := func(exp time.Time) verifiedToken {
		return verifiedToken{kid: "k1", claims: &accessTokenClaims{ExpiresAt: exp.Unix()}}
	}
	tests := []struct {
		name    string
		put     map[string]verifiedToken
		get     string
		at      time.Time
		wantHit bool
	}{
		{name: "live token", put: map[string]verifiedToken{"a": claims(now.Add(time.Minute))}, get: "a", at: now, wantHit: true},
		{name: "unknown token", put: map[string]verifiedToken{"a": claims(now.Add(time.Minute))}, get: "b", at: now},
		{name: "expired token is dropped", put: map[string]verifiedToken{"a": claims(now.Add(time.Minute))}, get: "a", at: now.Add(time.Minute)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifiedTokens(16)
			for k, e := range tt.put {
				v.put(k, e)
			}
			if _, hit := v.get(tt.get, tt.at); hit != tt.wantHit {
				t.Errorf("hit = %v, want %v", hit, tt.wantHit)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		v := newVerifiedTokens(64)
		for i := range 1000 {
			v.put(fmt.Sprint(i), claims(now.Add(time.Hour)))
			if n := len(v.entries); n > 64 {
				t.Fatalf("%d entries after %d puts, want ≤ 64", n, i+1)
			}
		}
		if _, hit := v.get("999", now); !hit {
			t.Error("the newest entry was evicted")
		}
	})
}
