package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rotorauth/rotor/storage"
)

// minClientSecretLen is the shortest secret accepted on stdin.
const minClientSecretLen = 32

var knownGrantTypes = []string{"password", "refresh_token", "client_credentials", "authorization_code"}

type clientFlags struct {
	id, name, grantTypes, redirectURIs, postLogoutURIs, scopes, audience, authMethod string
	public, secretStdin, firstParty, pkceOptional                                    bool
	resources                                                                        []string
	introspector                                                                     bool
}

func (a *app) clientsCommand() *cobra.Command {
	clients := groupCommand(&cobra.Command{Use: "clients", Short: "Manage OAuth clients"})
	var f clientFlags
	create := &cobra.Command{
		Use:   "create",
		Short: "Register a client; a confidential client's secret is generated (or read from stdin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.createClient(cmd.Context(), f)
		},
	}
	fl := create.Flags()
	fl.StringVar(&f.id, "id", "", "client ID (required)")
	fl.StringVar(&f.name, "name", "", "display name shown to users")
	fl.BoolVar(&f.public, "public", false, "a public client (mobile or browser app) without a secret")
	fl.BoolVar(&f.secretStdin, "secret-stdin", false, "read the client secret from stdin instead of generating one")
	fl.BoolVar(&f.firstParty, "first-party", false, "a client of the same operator: skips consent")
	fl.BoolVar(&f.pkceOptional, "pkce-optional", false, "a legacy confidential client that can't send PKCE (public clients always must)")
	fl.StringVar(&f.grantTypes, "grant-types", "", "comma-separated grant types (required): "+fmt.Sprint(knownGrantTypes))
	fl.StringVar(&f.redirectURIs, "redirect-uris", "", "comma-separated redirect URIs")
	fl.StringVar(&f.postLogoutURIs, "post-logout-redirect-uris", "", "comma-separated post-logout redirect URIs")
	fl.StringVar(&f.scopes, "scopes", "", "comma-separated scopes the client may request")
	fl.StringVar(&f.audience, "audience", "", "comma-separated audiences (API identifiers) the client may request")
	fl.StringArrayVar(&f.resources, "resource", nil, "an API (audience value) this confidential client serves: it may introspect tokens granted for it; repeatable")
	fl.BoolVar(&f.introspector, "introspector", false, "a trusted introspector (an API gateway): this confidential client may introspect every token")
	fl.StringVar(&f.authMethod, "token-endpoint-auth-method", "", "client_secret_basic or client_secret_post (a confidential client accepts either by default), or none (public)")
	_ = create.MarkFlagRequired("id")
	_ = create.MarkFlagRequired("grant-types")
	create.MarkFlagsMutuallyExclusive("public", "secret-stdin")
	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a client, revoking every token it holds and its users' consents",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withEnv(cmd.Context(), func(e *env) error {
				found, err := e.store.DeleteClient(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if !found {
					return fmt.Errorf("no client with id %s", args[0])
				}
				fmt.Fprintf(a.stdout, "deleted client %s\n", args[0])
				return nil
			})
		},
	}
	clients.AddCommand(create, del)
	return clients
}

func (a *app) createClient(ctx context.Context, f clientFlags) error {
	nc := storage.NewClient{
		ID:                     f.id,
		Name:                   f.name,
		Public:                 f.public,
		FirstParty:             f.firstParty,
		PKCEOptional:           f.pkceOptional,
		GrantTypes:             splitList(f.grantTypes),
		RedirectURIs:           splitList(f.redirectURIs),
		PostLogoutRedirectURIs: splitList(f.postLogoutURIs),
		Scopes:                 splitList(f.scopes),
		Audience:               splitList(f.audience),
		Resources:              f.resources,
		Introspector:           f.introspector,
	}
	if nc.ID == "" {
		return errors.New("--id must not be empty")
	}
	for _, g := range nc.GrantTypes {
		if !slices.Contains(knownGrantTypes, g) {
			return fmt.Errorf("--grant-types: unknown grant type %q", g)
		}
	}
	if len(nc.GrantTypes) == 0 {
		return errors.New("--grant-types must name at least one grant type")
	}
	for _, u := range append(slices.Clone(nc.RedirectURIs), nc.PostLogoutRedirectURIs...) {
		if p, err := url.Parse(u); err != nil || !p.IsAbs() || p.Fragment != "" {
			return fmt.Errorf("redirect URI %q must be an absolute URL without a fragment", u)
		}
	}
	if slices.Contains(nc.GrantTypes, "authorization_code") {
		nc.ResponseTypes = []string{"code"}
	}
	switch {
	case f.public && f.authMethod != "" && f.authMethod != "none":
		return fmt.Errorf("--token-endpoint-auth-method %s needs a confidential client", f.authMethod)
	case f.public:
		nc.TokenEndpointAuthMethod = "none"
	case f.authMethod == "" || f.authMethod == "client_secret_basic" || f.authMethod == "client_secret_post":
		// Empty: either secret method (client libraries retry with the other).
		nc.TokenEndpointAuthMethod = f.authMethod
	case f.authMethod == "none":
		return errors.New("--token-endpoint-auth-method none needs --public")
	default:
		return fmt.Errorf("--token-endpoint-auth-method: unknown method %q", f.authMethod)
	}
	if slices.Contains(nc.GrantTypes, "password") && !f.firstParty {
		return errors.New("the password grant is for first-party clients only: add --first-party")
	}
	if f.public && f.pkceOptional {
		return errors.New("--pkce-optional is only for confidential clients: a public client must use PKCE")
	}
	if f.public && (len(f.resources) > 0 || f.introspector) {
		return errors.New("--resource and --introspector are for confidential clients: introspection needs client authentication")
	}
	for _, r := range f.resources {
		if r == "" || strings.ContainsAny(r, " \t\n") {
			return fmt.Errorf("--resource %q must be one audience value without spaces", r)
		}
	}
	if f.public && slices.Contains(nc.GrantTypes, "client_credentials") {
		return errors.New("a public client can't use client_credentials")
	}

	var secret string
	generated := false
	if !f.public {
		if f.secretStdin {
			s, err := readSecretLine(a.stdin)
			if err != nil {
				return err
			}
			if len(s) < minClientSecretLen {
				return fmt.Errorf("client secret must be at least %d characters", minClientSecretLen)
			}
			secret = s
		} else {
			raw := make([]byte, 32) // 256 bits
			if _, err := rand.Read(raw); err != nil {
				return fmt.Errorf("generate client secret: %w", err)
			}
			secret = base64.RawURLEncoding.EncodeToString(raw)
			generated = true
		}
	}

	return a.withEnv(ctx, func(e *env) error {
		if !f.public {
			var err error
			nc.SecretHash, err = storage.NewSecretHasher(deriveKeys(e.secret).clientSecret).Hash(ctx, []byte(secret))
			if err != nil {
				return fmt.Errorf("hash client secret: %w", err)
			}
		}
		if err := e.store.CreateClient(ctx, nc); errors.Is(err, storage.ErrConflict) {
			return fmt.Errorf("a client with id %s already exists", nc.ID)
		} else if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "created client %s\n", nc.ID)
		if generated {
			fmt.Fprintf(a.stdout, "client_secret: %s\n(shown once: store it now)\n", secret)
		}
		return nil
	})
}
