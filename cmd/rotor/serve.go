package main

import (
	"crypto/rand"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"rotor/keys"
	"rotor/server"
	"rotor/storage"
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
			sealer, err := keys.NewSealer(e.secret)
			if err != nil {
				return err
			}
			keySet, err := keys.NewManager(ctx, e.store, sealer, nil)
			if err != nil {
				return fmt.Errorf("load signing keys: %w", err)
			}
			for _, kid := range keySet.Created() {
				e.log.Info("signing key created", "kid", kid)
			}
			dk := deriveKeys(e.secret)
			bffOpts, err := a.bffOptions(ctx, e, dk)
			if err != nil {
				return err
			}
			var demo *server.DemoOptions
			if e.cfg.Demo.Enabled {
				demo = &server.DemoOptions{Audience: e.cfg.Demo.Audience}
			}
			srv, err := server.New(server.Options{
				Issuer:         e.cfg.Issuer,
				AccessTokenTTL: e.cfg.Tokens.AccessTokenTTL,
				RefreshIdleTTL: e.cfg.Tokens.RefreshIdleTTL,
				HMACKey:        dk.hmac,
				SuccessorKey:   dk.successor,
				SecretHasher:   storage.NewSecretHasher(dk.clientSecret),
				CSRFKey:        dk.csrf,
				BrowserTTL:     e.cfg.Sessions.BrowserTTL,
				BFF:            bffOpts,
				Demo:           demo,
				Logger:         e.log,
			}, e.store, keySet)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", e.cfg.HTTP.Addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", e.cfg.HTTP.Addr, err)
			}
			e.log.Info("rotor listening", "addr", ln.Addr().String(), "issuer", e.cfg.Issuer, "database", e.store.Path())
			h := e.cfg.HTTP
			return server.Serve(ctx, ln, srv.Handler(), server.Timeouts{
				ReadHeader: h.ReadHeaderTimeout, Read: h.ReadTimeout, Write: h.WriteTimeout,
				Idle: h.IdleTimeout, Shutdown: h.ShutdownTimeout,
			}, e.log)
		},
	}
}

func (a *app) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database schema",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer e.store.Close()
			v, err := e.store.SchemaVersion(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "schema at version %d\n", v)
			return nil
		},
	}
}
