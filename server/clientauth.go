package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/ory/fosite"
)

// Client authentication methods (RFC 6749 §2.3.1, OIDC Core §9).
const (
	authSecretBasic = "client_secret_basic"
	authSecretPost  = "client_secret_post"
)

// clientAuthenticator authenticates the client of every token,
// revocation and introspection request by Rotor's rules, read top to
// bottom in authenticate:
//
//   - one method per request (RFC 6749 §2.3): HTTP Basic credentials and a
//     client_secret in the body together are invalid_request, as is a body
//     client_id naming another client than Basic does;
//   - a confidential client registered without a method (the default)
//     accepts both client_secret_basic and client_secret_post, since
//     golang.org/x/oauth2 and oauth2-proxy retry a failed request with the
//     other method: a wrong user password must reach them as
//     invalid_grant, not as the second attempt's invalid_client;
//   - a client registered for one method accepts only that one;
//   - a client that can't be read (a storage failure, not "no such
//     client") is temporarily_unavailable: fosite would call it
//     invalid_client, and a fault must never look like bad credentials.
//
// fosite's default strategy does the rest (the secret comparison, public
// clients), over a store that presents an either-method client with the
// method the request uses.
type clientAuthenticator struct {
	plain, basic, post *fosite.Fosite
}

// clientSource is what the authenticator needs from storage.
type clientSource interface {
	fosite.ClientManager
	clientLookup
}

func newClientAuthenticator(store clientSource, cfg fosite.Configurator) *clientAuthenticator {
	return &clientAuthenticator{
		plain: &fosite.Fosite{Store: authMethodStore{store, ""}, Config: cfg},
		basic: &fosite.Fosite{Store: authMethodStore{store, authSecretBasic}, Config: cfg},
		post:  &fosite.Fosite{Store: authMethodStore{store, authSecretPost}, Config: cfg},
	}
}

func (a *clientAuthenticator) authenticate(ctx context.Context, r *http.Request, form url.Values) (fosite.Client, error) {
	if err := checkOneAuthMethod(r, form); err != nil {
		return nil, err
	}
	f := a.plain
	_, secret, basic := r.BasicAuth()
	switch {
	case basic && secret != "":
		f = a.basic
	case !basic && form.Get("client_id") != "" && form.Get("client_secret") != "":
		f = a.post
	}
	c, err := f.DefaultClientAuthenticationStrategy(ctx, r, form)
	if errors.Is(err, errClientUnreadable) {
		return nil, fosite.ErrTemporarilyUnavailable.WithWrap(err)
	}
	return c, err
}

// errClientUnreadable marks a client lookup that failed for another reason
// than "no such client"; fosite wraps any lookup error in invalid_client.
var errClientUnreadable = errors.New("client lookup failed")

// checkOneAuthMethod is RFC 6749 §2.3's "MUST NOT use more than one
// authentication method in each request": HTTP Basic credentials with a
// client_secret in the body, or with a body client_id naming another
// client, are invalid_request; so is a client assertion (RFC 7521 §4.2,
// which Rotor does not serve) next to either secret method.
func checkOneAuthMethod(r *http.Request, form url.Values) error {
	id, _, basic := r.BasicAuth()
	assertion := form.Get("client_assertion_type") != "" || form.Get("client_assertion") != ""
	switch {
	case assertion && (basic || form.Get("client_secret") != ""):
		return fosite.ErrInvalidRequest.WithHint("The client authenticated both with a client assertion and with a secret; use one method.")
	case basic && form.Get("client_secret") != "":
		return fosite.ErrInvalidRequest.WithHint("The client authenticated both with HTTP Basic and with client_secret in the body; use one method.")
	case basic && form.Get("client_id") != "" && !sameClientID(id, form.Get("client_id")):
		return fosite.ErrInvalidRequest.WithHint("The client_id in the body differs from the HTTP Basic client.")
	}
	return nil
}

// sameClientID compares the Basic user name, form-encoded (RFC 6749
// §2.3.1), with a body client_id.
func sameClientID(basicID, bodyID string) bool {
	id, err := url.QueryUnescape(basicID)
	return err == nil && id == bodyID
}

// authMethodStore presents a confidential client registered without a
// method as registered for method, the one the request uses (none: as
// stored), and marks a lookup failure that is not "not found".
type authMethodStore struct {
	clientSource
	method string
}

func (s authMethodStore) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.Client(ctx, id)
	if errors.Is(err, fosite.ErrNotFound) {
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("%w: %w", errClientUnreadable, err)
	}
	if s.method == "" || c.IsPublic() || c.TokenEndpointAuthMethod != "" {
		return c, nil
	}
	// A copy: the stored client is shared through the client cache.
	oidc := *c.DefaultOpenIDConnectClient
	oidc.TokenEndpointAuthMethod = s.method
	cp := *c
	cp.DefaultOpenIDConnectClient = &oidc
	return &cp, nil
}
