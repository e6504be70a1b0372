package storage

import (
	"context"
	"fmt"
	"sync/atomic"
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
	s, client := benchStore(b)
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

// BenchmarkRefreshRotationGroupCommit is the same write from 16 concurrent
// refreshes (each its own family), committed the way the server does it:
// group commit, several rotations per transaction.
func BenchmarkRefreshRotationGroupCommit(b *testing.B) {
	ctx := context.Background()
	s, client := benchStore(b)
	var families atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		fam := fmt.Sprintf("family-%d", families.Add(1))
		sess := &openid.DefaultSession{Subject: "user-1"}
		sess.SetExpiresAt(fosite.AccessToken, time.Now().Add(10*time.Minute))
		sess.SetExpiresAt(fosite.RefreshToken, time.Now().Add(time.Hour))
		req := &fosite.Request{ID: fam, RequestedAt: time.Now(), Client: client, Session: sess, Form: map[string][]string{}}
		if err := s.CreateRefreshTokenSession(ctx, fam+"-rt-0", fam+"-at-0", req); err != nil {
			b.Error(err)
			return
		}
		for i := 0; pb.Next(); i++ {
			tctx, err := s.BeginTX(WithGroupCommit(ctx))
			if err == nil {
				err = s.RotateRefreshToken(tctx, fam, fmt.Sprintf("%s-rt-%d", fam, i))
			}
			if err == nil {
				err = s.CreateAccessTokenSession(tctx, fmt.Sprintf("%s-at-%d", fam, i+1), req)
			}
			if err == nil {
				err = s.CreateRefreshTokenSession(tctx, fmt.Sprintf("%s-rt-%d", fam, i+1), fmt.Sprintf("%s-at-%d", fam, i+1), req)
			}
			if err == nil {
				err = s.Commit(tctx)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	batches, units := s.GroupCommitStats()
	if batches > 0 {
		b.ReportMetric(float64(units)/float64(batches), "units/commit")
	}
}

// benchStore opens a migrated SQLite store with one public client.
func benchStore(b *testing.B) (*Store, fosite.Client) {
	ctx := context.Background()
	s, err := Open(ctx, b.TempDir()+"/bench.db", Options{RefreshReuseGrace: 10 * time.Second, Hasher: NewPasswordHasher(64, 1, 1)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
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
	return s, client
}
