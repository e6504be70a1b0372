package storage

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/openid"
)

// BenchmarkRefreshRotation measures the storage half of one refresh: the
// write transaction fosite runs (rotate the parent, store the new access
// and refresh tokens), on a real SQLite file.
func BenchmarkRefreshRotation(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir()+"/bench.db", Options{RefreshReuseGrace: 10 * time.Second, Hasher: NewPasswordHasher(64, 1, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateClient(ctx, NewClient{ID: "mobile", Public: true, TokenEndpointAuthMethod: "none", GrantTypes: []string{"password", "refresh_token"}}); err != nil {
		b.Fatal(err)
	}
	client, err := s.GetClient(ctx, "mobile")
	if err != nil {
		b.Fatal(err)
	}
	sess := &openid.DefaultSession{Subject: "user-1"}
	sess.SetExpiresAt(fosite.AccessToken, time.Now().Add(10*time.Minute))
	sess.SetExpiresAt(fosite.RefreshToken, time.Now().Add(time.Hour))
	req := &fosite.Request{ID: "family-1", RequestedAt: time.Now(), Client: client, Session: sess, Form: map[string][]string{}}
	if err := s.CreateRefreshTokenSession(ctx, "rt-0", "at-0", req); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tctx, err := s.BeginTX(ctx)
		if err != nil {
			b.Fatal(err)
		}
		at, rt := fmt.Sprintf("at-%d", i+1), fmt.Sprintf("rt-%d", i+1)
		if err := s.RotateRefreshToken(tctx, "family-1", fmt.Sprintf("rt-%d", i)); err != nil {
			b.Fatal(err)
		}
		if err := s.CreateAccessTokenSession(tctx, at, req); err != nil {
			b.Fatal(err)
		}
		if err := s.CreateRefreshTokenSession(tctx, rt, at, req); err != nil {
			b.Fatal(err)
		}
		if err := s.Commit(tctx); err != nil {
			b.Fatal(err)
		}
	}
}
