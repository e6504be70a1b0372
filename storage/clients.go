package storage

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ory/fosite"
)

// Client is a registered OAuth client as fosite sees it, plus Rotor's own
// attributes.
type Client struct {
	*fosite.DefaultOpenIDConnectClient
	Name                   string
	FirstParty             bool
	PKCEOptional           bool
	PostLogoutRedirectURIs []string
	CreatedAt              time.Time
	// Resources are the APIs (audience values) the client serves: it may
	// introspect tokens granted for any of them (RFC 7662 §2.1, §4).
	Resources []string
	// Introspector marks a trusted introspector (an API gateway), which may
	// introspect every token.
	Introspector bool
}

// NewClient describes a client to register. SecretHash comes from
// SecretHasher.Hash; it is empty for public clients.
type NewClient struct {
	ID                      string
	Name                    string
	SecretHash              []byte
	Public                  bool
	FirstParty              bool
	PKCEOptional            bool
	TokenEndpointAuthMethod string
	GrantTypes              []string
	ResponseTypes           []string
	RedirectURIs            []string
	PostLogoutRedirectURIs  []string
	Scopes                  []string
	Audience                []string
	Resources               []string
	Introspector            bool
}

// clientCacheTTL bounds how stale a cached client may be; fosite looks the
// client up on every token request.
const clientCacheTTL = 5 * time.Second

type cachedClient struct {
	client  *Client
	expires time.Time
}

// CreateClient registers a client; an existing ID gives ErrConflict.
func (s *Store) CreateClient(ctx context.Context, c NewClient) error {
	for _, list := range [][]string{c.GrantTypes, c.ResponseTypes, c.RedirectURIs, c.PostLogoutRedirectURIs, c.Scopes, c.Audience, c.Resources} {
		for _, v := range list {
			if v == "" || strings.ContainsAny(v, " \t\n") {
				return fmt.Errorf("create client %s: invalid list value %q", c.ID, v)
			}
		}
	}
	row := clientRow{
		ID:                      c.ID,
		Name:                    c.Name,
		SecretHash:              c.SecretHash,
		Public:                  c.Public,
		FirstParty:              c.FirstParty,
		PKCEOptional:            c.PKCEOptional,
		TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		GrantTypes:              strings.Join(c.GrantTypes, " "),
		ResponseTypes:           strings.Join(c.ResponseTypes, " "),
		RedirectURIs:            strings.Join(c.RedirectURIs, " "),
		PostLogoutRedirectURIs:  strings.Join(c.PostLogoutRedirectURIs, " "),
		Scopes:                  strings.Join(c.Scopes, " "),
		Audience:                strings.Join(c.Audience, " "),
		CreatedAt:               s.now().UTC(),
		Resources:               strings.Join(c.Resources, " "),
		Introspector:            c.Introspector,
	}
	if err := s.writer(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("create client %s: %w", c.ID, mapErr(err))
	}
	return nil
}

// GetClient implements fosite.ClientManager. Clients are cached briefly.
func (s *Store) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.Client(ctx, id)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Client returns the registered client with id.
func (s *Store) Client(ctx context.Context, id string) (*Client, error) {
	now := s.now()
	s.clientMu.RLock()
	cc, ok := s.clientCache[id]
	s.clientMu.RUnlock()
	if ok && now.Before(cc.expires) {
		return cc.client, nil
	}
	var row clientRow
	if err := s.read.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return nil, fmt.Errorf("get client: %w", mapErr(err))
	}
	c := row.toClient()
	s.clientMu.Lock()
	if len(s.clientCache) > 10000 {
		clear(s.clientCache) // unbounded IDs come from requests; keep memory bounded
	}
	s.clientCache[id] = cachedClient{client: c, expires: now.Add(clientCacheTTL)}
	s.clientMu.Unlock()
	return c, nil
}

func (r clientRow) toClient() *Client {
	return &Client{
		DefaultOpenIDConnectClient: &fosite.DefaultOpenIDConnectClient{
			DefaultClient: &fosite.DefaultClient{
				ID:            r.ID,
				Secret:        r.SecretHash,
				RedirectURIs:  strings.Fields(r.RedirectURIs),
				GrantTypes:    strings.Fields(r.GrantTypes),
				ResponseTypes: strings.Fields(r.ResponseTypes),
				Scopes:        strings.Fields(r.Scopes),
				Audience:      strings.Fields(r.Audience),
				Public:        r.Public,
			},
			TokenEndpointAuthMethod: r.TokenEndpointAuthMethod,
		},
		Name:                   r.Name,
		FirstParty:             r.FirstParty,
		PKCEOptional:           r.PKCEOptional,
		PostLogoutRedirectURIs: strings.Fields(r.PostLogoutRedirectURIs),
		CreatedAt:              r.CreatedAt,
		Resources:              strings.Fields(r.Resources),
		Introspector:           r.Introspector,
	}
}

// ClientAssertionJWTValid implements fosite.ClientManager. Rotor accepts no
// client assertions (private_key_jwt), so no JTI is ever known.
func (s *Store) ClientAssertionJWTValid(context.Context, string) error { return nil }

// SetClientAssertionJWT implements fosite.ClientManager; see ClientAssertionJWTValid.
func (s *Store) SetClientAssertionJWT(context.Context, string, time.Time) error {
	return errors.New("client assertions are not supported")
}

// SecretHasher hashes client secrets with keyed SHA-256 (HMAC). Client
// secrets are generated with 256 bits of entropy, so a slow password hash
// buys nothing and would cap the token endpoint's throughput.
type SecretHasher struct {
	key      []byte
	previous [][]byte
}

// NewSecretHasher returns a hasher keyed with key (derived from the system
// secret); hashes made under previous keys (retired system secrets) still
// compare equal, so rotating the system secret keeps clients working.
func NewSecretHasher(key []byte, previous ...[]byte) *SecretHasher {
	return &SecretHasher{key: key, previous: previous}
}

// Hash implements fosite.Hasher.
func (h *SecretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	m := hmac.New(sha256.New, h.key)
	m.Write(data)
	return m.Sum(nil), nil
}

// Compare implements fosite.Hasher in constant time. An empty hash (a
// public client) never matches.
func (h *SecretHasher) Compare(_ context.Context, hash, data []byte) error {
	if len(hash) > 0 {
		for _, key := range append([][]byte{h.key}, h.previous...) {
			m := hmac.New(sha256.New, key)
			m.Write(data)
			if hmac.Equal(hash, m.Sum(nil)) {
				return nil
			}
		}
	}
	return errors.New("client secret mismatch")
}

// EnsureClient registers c, or brings an existing client with its ID up to
// date (secret, redirect URIs, grants...). Rotor uses it for clients it
// owns itself, such as the BFF's.
func (s *Store) EnsureClient(ctx context.Context, c NewClient) error {
	err := s.CreateClient(ctx, c)
	if !errors.Is(err, ErrConflict) {
		return err
	}
	row := clientRow{
		ID: c.ID, Name: c.Name, SecretHash: c.SecretHash, Public: c.Public, FirstParty: c.FirstParty,
		PKCEOptional: c.PKCEOptional, TokenEndpointAuthMethod: c.TokenEndpointAuthMethod,
		GrantTypes: strings.Join(c.GrantTypes, " "), ResponseTypes: strings.Join(c.ResponseTypes, " "),
		RedirectURIs: strings.Join(c.RedirectURIs, " "), PostLogoutRedirectURIs: strings.Join(c.PostLogoutRedirectURIs, " "),
		Scopes: strings.Join(c.Scopes, " "), Audience: strings.Join(c.Audience, " "),
		Resources: strings.Join(c.Resources, " "), Introspector: c.Introspector,
	}
	err = s.writer(ctx).Model(&clientRow{}).Where("id = ?", c.ID).Select("*").Omit("created_at").Updates(&row).Error
	if err != nil {
		return fmt.Errorf("update client %s: %w", c.ID, mapErr(err))
	}
	s.clientMu.Lock()
	delete(s.clientCache, c.ID)
	s.clientMu.Unlock()
	return nil
}
