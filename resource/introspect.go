package resource

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// introspector asks the issuer (RFC 7662) whether a token is still active.
type introspector struct {
	url          string
	clientID     string
	clientSecret string
	client       *http.Client
}

// check returns nil when the issuer says the token is active, an error
// wrapping ErrInvalidToken when it says it is not, and an error wrapping
// ErrIssuerUnavailable when it gives no usable answer.
func (in *introspector) check(ctx context.Context, token string) error {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.url, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("%w: introspection request: %w", ErrIssuerUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	// RFC 6749 §2.3.1: credentials are form-encoded before Basic encoding.
	req.SetBasicAuth(url.QueryEscape(in.clientID), url.QueryEscape(in.clientSecret))
	resp, err := in.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: introspection: %w", ErrIssuerUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: introspection: status %d", ErrIssuerUnavailable, resp.StatusCode)
	}
	var result struct {
		Active *bool `json:"active"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxResponseBytes)).Decode(&result); err != nil || result.Active == nil {
		return fmt.Errorf("%w: introspection: malformed response", ErrIssuerUnavailable)
	}
	if !*result.Active {
		return invalid("token is not active (revoked or expired at the issuer)")
	}
	return nil
}
