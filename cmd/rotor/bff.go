package main

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/rotorauth/rotor/keys"
	"github.com/rotorauth/rotor/server"
	"github.com/rotorauth/rotor/storage"
)

// bffOptions turns the bff section into server options. For a loopback-only
// setup without bff.client_secret it derives the secret and registers the BFF's
// client itself, so the demo app works right after `rotor users create`.
func (a *app) bffOptions(ctx context.Context, e *env, dk derivedKeys) (*server.BFFOptions, error) {
	c := e.cfg.BFF
	if !c.Enabled {
		return nil, nil
	}
	o := &server.BFFOptions{
		ClientID:               c.ClientID,
		ClientSecret:           c.ClientSecret,
		UpstreamURL:            c.UpstreamURL,
		EncryptionKey:          dk.bffSessions,
		PreviousEncryptionKeys: e.previousKeys("bff session encryption"),
		SessionTTL:             e.cfg.Tokens.SessionMaxTTL,
	}
	if o.UpstreamURL == "" {
		o.UpstreamURL = e.cfg.Issuer + "/demo-api"
	}
	if c.EncryptionKey != "" {
		k, err := base64.StdEncoding.DecodeString(c.EncryptionKey)
		if err != nil {
			return nil, fmt.Errorf("bff.encryption_key: %w", err)
		}
		o.EncryptionKey = k
		o.PreviousEncryptionKeys = nil // a configured key is rotated by hand
	}
	if o.ClientSecret != "" {
		return o, nil
	}
	// configs.Validate allows an empty secret only for a loopback-only setup.
	o.ClientSecret = base64.RawURLEncoding.EncodeToString(keys.DeriveKey(e.secret, "bff client secret"))
	hash, err := storage.NewSecretHasher(dk.clientSecret).Hash(ctx, []byte(o.ClientSecret))
	if err != nil {
		return nil, err
	}
	var audience []string
	if e.cfg.Demo.Enabled {
		audience = []string{e.cfg.Demo.Audience}
	}
	err = e.store.EnsureClient(ctx, storage.NewClient{
		ID:                      o.ClientID,
		Name:                    "Rotor demo app",
		SecretHash:              hash,
		FirstParty:              true,
		TokenEndpointAuthMethod: "client_secret_basic",
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		RedirectURIs:            []string{e.cfg.Issuer + "/bff/callback"},
		PostLogoutRedirectURIs:  []string{e.cfg.Issuer + "/bff/logged-out"},
		Scopes:                  []string{"openid", "email", "offline_access"},
		Audience:                audience,
	})
	if err != nil {
		return nil, fmt.Errorf("register the bff client: %w", err)
	}
	e.log.Info("bff client registered for local use", "client_id", o.ClientID)
	return o, nil
}
