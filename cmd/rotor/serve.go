package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/spf13/cobra"

	"github.com/rotorauth/rotor/server"
	"github.com/rotorauth/rotor/storage"
)

var randReader = rand.Reader

func (a *app) serveCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the token server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			e, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer e.store.Close()
			keySet, err := loadKeys(ctx, e)
			if err != nil {
				return err
			}
			for _, kid := range keySet.Created() {
				e.log.Info("signing key created", "kid", kid)
			}
			dk := deriveKeys(e.secret)
			bffOpts, err := a.bffOptions(ctx, e, dk)
			if err != nil {
				return err
			}
			proxies, err := e.cfg.HTTP.Proxies()
			if err != nil {
				return err
			}
			var demo *server.DemoOptions
			if e.cfg.Demo.Enabled {
				demo = &server.DemoOptions{Audience: e.cfg.Demo.Audience}
			}
			srv, err := server.New(server.Options{
				Issuer:           e.cfg.Issuer,
				AccessTokenTTL:   e.cfg.Tokens.AccessTokenTTL,
				AccessTokenAlg:   jose.SignatureAlgorithm(e.cfg.Keys.AccessTokenAlg),
				RefreshIdleTTL:   e.cfg.Tokens.RefreshIdleTTL,
				HMACKey:          dk.hmac,
				SuccessorKey:     dk.successor,
				PreviousHMACKeys: e.previousKeys("token hmac"),
				SecretHasher:     storage.NewSecretHasher(dk.clientSecret, e.previousKeys("client secret hash")...),
				CSRFKey:          dk.csrf,
				BrowserTTL:       e.cfg.Sessions.BrowserTTL,
				BFF:              bffOpts,
				Demo:             demo,
				JWKSMaxAge:       e.cfg.Keys.JWKSMaxAge(),
				Throttle: server.ThrottleOptions{
					AccountMaxDelay: e.cfg.Security.AccountMaxDelay,
					IPMaxDelay:      e.cfg.Security.IPMaxDelay,
					TurnWait:        e.cfg.Security.HashWait,
				},
				// With metrics.addr, /metrics is served there only.
				SeparateMetrics: e.cfg.Metrics.Addr != "",
				TrustedProxies:  proxies,
				PublicListener:  !e.cfg.LoopbackOnly(),
				Logger:          e.log,
			}, e.store, keySet)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", e.cfg.HTTP.Addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", e.cfg.HTTP.Addr, err)
			}
			observe := srv.ObserveAudit
			e.auditObserver.Store(&observe)
			go every(ctx, keyReload, func() { maintainKeys(ctx, e, keySet) })
			if e.cfg.Metrics.Addr != "" {
				if err := serveMetrics(ctx, e, srv.MetricsHandler()); err != nil {
					return err
				}
			}
			if d := e.cfg.Storage.GCInterval; d > 0 {
				go every(ctx, d, func() { collectGarbage(ctx, e) })
			}
			// Aggregated audit events' counts, written once a minute.
			go every(ctx, time.Minute, func() { srv.FlushAudit(ctx) })
			e.log.Info("rotor listening", "addr", ln.Addr().String(), "issuer", e.cfg.Issuer, "database", e.store.Path())
			h := e.cfg.HTTP
			err = server.Serve(ctx, ln, srv.Handler(), server.Timeouts{
				ReadHeader: h.ReadHeaderTimeout, Read: h.ReadTimeout, Write: h.WriteTimeout,
				Idle: h.IdleTimeout, Shutdown: h.ShutdownTimeout,
			}, e.log)
			// The counts of the last minute's aggregated audit events.
			srv.FlushAudit(context.WithoutCancel(ctx))
			return err
		},
	}
}

func (a *app) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database schema",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withEnv(cmd.Context(), func(e *env) error {
				v, err := e.store.SchemaVersion(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "schema at version %d\n", v)
				return nil
			})
		},
	}
}

// gcKeep is how long spent tokens outlive their expiry: long enough for a
// replayed one to be recognised as reuse rather than as unknown.
const gcKeep = 24 * time.Hour

// every calls fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// collect deletes what GC deletes and the audit events past audit.retention.
func collect(ctx context.Context, e *env) (storage.GCStats, error) {
	stats, err := e.store.GC(ctx, gcKeep)
	if err != nil {
		return stats, err
	}
	n, err := e.store.GCAudit(ctx, e.cfg.Audit.Retention)
	stats["audit_events"] = n
	return stats, err
}

// collectGarbage runs GC once. Every replica runs it every
// storage.gc_interval; the batches are small and the deletes idempotent.
func collectGarbage(ctx context.Context, e *env) {
	stats, err := collect(ctx, e)
	if err != nil {
		e.log.Warn("garbage collection failed", "cause", err.Error())
		return
	}
	e.log.Info("garbage collected", "deleted", stats)
}

func (a *app) gcCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "gc",
		Short: "Delete expired and revoked tokens, codes and sessions, and audit events past audit.retention, once",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.withEnv(cmd.Context(), func(e *env) error {
				stats, err := collect(cmd.Context(), e)
				if err != nil {
					return err
				}
				var total int64
				for _, n := range stats {
					total += n
				}
				fmt.Fprintf(a.stdout, "deleted %d rows\n", total)
				return nil
			})
		},
	}
}

// serveMetrics serves /metrics (and, if enabled, pprof) on metrics.addr,
// apart from the public address.
func serveMetrics(ctx context.Context, e *env, metrics http.Handler) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	if e.cfg.Metrics.Profile {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	}
	ln, err := net.Listen("tcp", e.cfg.Metrics.Addr)
	if err != nil {
		return fmt.Errorf("listen on metrics.addr %s: %w", e.cfg.Metrics.Addr, err)
	}
	e.log.Info("metrics listening", "addr", ln.Addr().String(), "profile", e.cfg.Metrics.Profile)
	go func() {
		// Profiles take up to 30 s: the write timeout must allow them.
		err := server.Serve(ctx, ln, mux, server.Timeouts{ReadHeader: 5 * time.Second, Read: 10 * time.Second,
			Write: 2 * time.Minute, Idle: time.Minute, Shutdown: 5 * time.Second}, e.log)
		if err != nil {
			e.log.Warn("metrics server stopped", "cause", err.Error())
		}
	}()
	return nil
}
