package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/spf13/cobra"

	"github.com/rotorauth/rotor/keys"
)

// keyReload is how often a running server re-reads the key set, so a
// rotation by another replica or the CLI takes effect well within
// keys.publish_ahead.
const keyReload = 30 * time.Second

// rotatePolicy: a next key must have been published for publish_ahead; a
// retired key stays published for an access token's lifetime (ID tokens
// live as long) plus publish_ahead, so no token outlives its key.
func rotatePolicy(e *env, force bool) keys.RotatePolicy {
	return keys.RotatePolicy{
		PublishAhead: e.cfg.Keys.PublishAhead,
		RetireFor:    e.cfg.Tokens.AccessTokenTTL + e.cfg.Keys.PublishAhead,
		Force:        force,
	}
}

// maintainKeys reloads the key set, rotates it when due (one replica at a
// time, under a lock), and removes expired retired keys; serve runs it
// every keyReload.
func maintainKeys(ctx context.Context, e *env, m *keys.Manager) {
	if err := m.Reload(ctx); err != nil {
		e.log.Warn("signing keys reload failed", "cause", err.Error())
		return
	}
	if !m.Due(e.cfg.Keys.RotationInterval) {
		return
	}
	err := e.store.Locked(ctx, "signing-keys", func(ctx context.Context) error {
		if err := m.Reload(ctx); err != nil || !m.Due(e.cfg.Keys.RotationInterval) {
			return err // another replica rotated meanwhile
		}
		return m.Rotate(ctx, rotatePolicy(e, false))
	})
	switch {
	case errors.Is(err, keys.ErrTooEarly):
		e.log.Info("signing key rotation waits for the next key to be published long enough", "cause", err.Error())
	case err != nil:
		e.log.Warn("signing key rotation failed", "cause", err.Error())
	default:
		e.log.Info("signing keys rotated")
	}
}

func (a *app) keysCommand() *cobra.Command {
	cmd := groupCommand(&cobra.Command{Use: "keys", Short: "Manage signing keys"})
	var force bool
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Promote the next key to current, retire the current key, publish a new next key",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withKeys(c.Context(), func(e *env, m *keys.Manager) error {
				err := e.store.Locked(c.Context(), "signing-keys", func(ctx context.Context) error {
					return m.Rotate(ctx, rotatePolicy(e, force))
				})
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, "signing keys rotated; running servers pick them up within", keyReload)
				return a.printKeys(m)
			})
		},
	}
	rotate.Flags().BoolVar(&force, "force", false, "promote the next key even if it was published less than keys.publish_ahead ago (tokens it signs may fail at APIs with a cached JWKS)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List signing keys: kid, algorithm, state, created, removal",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return a.withKeys(c.Context(), func(_ *env, m *keys.Manager) error { return a.printKeys(m) })
		},
	}
	cmd.AddCommand(rotate, list)
	return cmd
}

func (a *app) withKeys(ctx context.Context, fn func(*env, *keys.Manager) error) error {
	return a.withEnv(ctx, func(e *env) error {
		m, err := loadKeys(ctx, e)
		if err != nil {
			return err
		}
		return fn(e, m)
	})
}

// loadKeys opens the signing keys, creating the missing ones. Replicas
// starting together on an empty database must not each create their own:
// under the lock the first creates them and the others load them.
func loadKeys(ctx context.Context, e *env) (*keys.Manager, error) {
	sealer, err := keys.NewSealer(e.secret, e.previous...)
	if err != nil {
		return nil, err
	}
	var m *keys.Manager
	err = e.store.Locked(ctx, "signing-keys", func(ctx context.Context) error {
		// Access tokens sign with keys.access_token_alg, ID tokens with RS256.
		m, err = keys.NewManager(ctx, e.store, sealer, nil, jose.SignatureAlgorithm(e.cfg.Keys.AccessTokenAlg), jose.RS256)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	return m, nil
}

func (a *app) printKeys(m *keys.Manager) error {
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tREMOVED AFTER")
	for _, k := range m.Keys() {
		removal := "-"
		if !k.RemoveAt.IsZero() {
			removal = stamp(k.RemoveAt)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.KID, k.Algorithm, k.State, stamp(k.CreatedAt), removal)
	}
	return tw.Flush()
}
