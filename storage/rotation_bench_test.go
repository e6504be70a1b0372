package storage

import (
	"context"
	"fmt"
	"sync"
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
	rotateCtx := grantCtx(ctx)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tctx, err := s.BeginTX(rotateCtx)
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
		rotateCtx := WithGroupCommit(grantCtx(ctx))
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
			tctx, err := s.BeginTX(rotateCtx)
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

// grantSession is a session that carries what the read of a presented
// refresh token found, as the server's does.
type grantSession struct {
	openid.DefaultSession
	presented PresentedToken
}

func (s *grantSession) SetPresentedToken(p PresentedToken) { s.presented = p }
func (s *grantSession) PresentedToken() PresentedToken     { return s.presented }

// grantCtx is the context fosite's refresh grant rotates in, in a chain's
// steady state: its request's session says the read of the presented token
// found no live access token with a row of its own in the family.
func grantCtx(ctx context.Context) context.Context {
	ar := fosite.NewAccessRequest(&grantSession{presented: PresentedToken{OwnRowAccessTokens: false}})
	ar.GrantTypes = fosite.Arguments{"refresh_token"}
	return context.WithValue(ctx, fosite.AccessRequestContextKey, ar)
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

// BenchmarkRefreshRotationManyFamilies is the group-committed rotation
// with many live logins, as in production rather than in the load tool's
// 16: 4,000 families rotated round robin among 200,000 stored ones, so
// that a write to a family row lands on a page of its own.
func BenchmarkRefreshRotationManyFamilies(b *testing.B) {
	const workers, perWorker = 8, 500
	ctx := context.Background()
	s, client := benchStore(b)
	err := s.write.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
		INSERT INTO token_families (id, client_id, subject, created_at, last_refreshed_at, expires_at, revoked_reason, session_id)
		SELECT 'filler-' || i, 'mobile', 'user-' || i, ?, ?, ?, '', '' FROM n`,
		time.Now().UTC(), time.Now().UTC(), time.Now().Add(time.Hour).UTC()).Error
	if err != nil {
		b.Fatal(err)
	}
	newRequest := func(id string) *fosite.Request {
		sess := &openid.DefaultSession{Subject: "user-1"}
		sess.SetExpiresAt(fosite.AccessToken, time.Now().Add(10*time.Minute))
		sess.SetExpiresAt(fosite.RefreshToken, time.Now().Add(time.Hour))
		return &fosite.Request{ID: id, RequestedAt: time.Now(), Client: client, Session: sess, Form: map[string][]string{}}
	}
	// The live families open before the clock starts, concurrently so
	// that their writes are group-committed too.
	owned := make([][]*fosite.Request, workers)
	var wg sync.WaitGroup
	for w := range owned {
		owned[w] = make([]*fosite.Request, perWorker)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range owned[w] {
				r := newRequest(fmt.Sprintf("live-%d-%d", w, j))
				if err := s.CreateRefreshTokenSession(ctx, r.ID+"-rt-0", r.ID+"-at-0", r); err != nil {
					b.Error(err)
					return
				}
				owned[w][j] = r
			}
		}()
	}
	wg.Wait()
	var worker atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(workers / 2) // GOMAXPROCS is 2 here
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rotateCtx := WithGroupCommit(grantCtx(ctx))
		reqs := owned[worker.Add(1)-1]
		gen := make([]int, perWorker)
		for j := 0; pb.Next(); j = (j + 1) % perWorker {
			fam, i := reqs[j].ID, gen[j]
			tctx, err := s.BeginTX(rotateCtx)
			if err == nil {
				err = s.RotateRefreshToken(tctx, fam, fmt.Sprintf("%s-rt-%d", fam, i))
			}
			if err == nil {
				err = s.CreateAccessTokenSession(tctx, fmt.Sprintf("%s-at-%d", fam, i+1), reqs[j])
			}
			if err == nil {
				err = s.CreateRefreshTokenSession(tctx, fmt.Sprintf("%s-rt-%d", fam, i+1), fmt.Sprintf("%s-at-%d", fam, i+1), reqs[j])
			}
			if err == nil {
				err = s.Commit(tctx)
			}
			if err != nil {
				b.Error(err)
				return
			}
			gen[j]++
		}
	})
}
