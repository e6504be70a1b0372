package resource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

const (
	// defaultJWKSMaxAge applies when the JWKS response has no max-age.
	defaultJWKSMaxAge = 5 * time.Minute
	// maxJWKSMaxAge caps max-age so that rotated-out keys do not linger.
	maxJWKSMaxAge = 24 * time.Hour
	// minRefetchInterval is both the floor for max-age and the minimum time
	// between two fetches caused by unknown kids (or between retries after
	// a failed fetch), so that forged tokens cannot make us hammer the
	// issuer.
	minRefetchInterval = 10 * time.Second
	// maxResponseBytes bounds how much of an issuer response is read.
	maxResponseBytes = 1 << 20
)

// keySet is a lazily fetched, cached copy of the issuer's JWKS.
type keySet struct {
	url    string
	client *http.Client
	now    func() time.Time
	group  singleflight.Group

	mu          sync.Mutex
	keys        map[string]jose.JSONWebKey // nil until the first successful fetch
	expires     time.Time                  // when keys become stale
	lastForced  time.Time                  // last fetch caused by an unknown kid
	lastAttempt time.Time                  // last fetch of any kind
	lastErr     error                      // error of the last fetch, nil on success
}

// lookup returns the public key with the given kid, fetching the JWKS when
// the cache is empty or stale, or (rate-limited) when the kid is unknown.
func (s *keySet) lookup(ctx context.Context, kid string) (jose.JSONWebKey, error) {
	s.mu.Lock()
	key, found := s.keys[kid]
	fresh := s.keys != nil && s.now().Before(s.expires)
	s.mu.Unlock()
	if found && fresh {
		return key, nil
	}

	// The fetch is shared by every concurrent caller, so it must not be
	// cancelled when the caller that happened to start it goes away; the
	// HTTP client's timeout bounds it instead.
	shared := context.WithoutCancel(ctx)
	_, err, _ := s.group.Do("jwks", func() (any, error) {
		return nil, s.refresh(shared, kid)
	})

	s.mu.Lock()
	key, found = s.keys[kid]
	haveKeys := s.keys != nil
	s.mu.Unlock()
	switch {
	case found:
		return key, nil
	case !haveKeys:
		if err == nil {
			err = fmt.Errorf("%w: no signing keys available", ErrIssuerUnavailable)
		}
		return jose.JSONWebKey{}, err
	default:
		return jose.JSONWebKey{}, invalid("unknown kid")
	}
}

// refresh decides, under the lock, whether a fetch is due and performs it.
// It runs inside the singleflight group, so decisions are serialised.
func (s *keySet) refresh(ctx context.Context, kid string) error {
	now := s.now()
	s.mu.Lock()
	_, known := s.keys[kid]
	stale := s.keys == nil || !now.Before(s.expires)
	switch {
	case !stale && known:
		// Another caller refreshed while we waited.
		s.mu.Unlock()
		return nil
	case stale:
		if s.lastErr != nil && now.Sub(s.lastAttempt) < minRefetchInterval {
			err := s.lastErr
			s.mu.Unlock()
			return err
		}
	default:
		// A fresh set without this kid: maybe the issuer rotated keys.
		if !s.lastForced.IsZero() && now.Sub(s.lastForced) < minRefetchInterval {
			s.mu.Unlock()
			return nil
		}
		s.lastForced = now
	}
	s.lastAttempt = now
	s.mu.Unlock()

	keys, maxAge, err := s.fetch(ctx)

	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.lastErr = err
		return err
	}
	s.keys, s.expires, s.lastErr = keys, now.Add(maxAge), nil
	return nil
}

// fetch downloads and parses the JWKS and returns how long to cache it.
func (s *keySet) fetch(ctx context.Context) (map[string]jose.JSONWebKey, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: JWKS request: %w", ErrIssuerUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: fetch JWKS: %w", ErrIssuerUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("%w: fetch JWKS: status %d", ErrIssuerUnavailable, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: read JWKS: %w", ErrIssuerUnavailable, err)
	}
	if len(body) > maxResponseBytes {
		return nil, 0, fmt.Errorf("%w: JWKS larger than %d bytes", ErrIssuerUnavailable, maxResponseBytes)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrIssuerUnavailable, err)
	}
	return keys, cacheMaxAge(resp.Header.Get("Cache-Control")), nil
}

// parseJWKS keeps the usable signature keys of a JWKS document, indexed by
// kid. Keys go-jose cannot parse, keys without a kid, keys whose "use" is not
// "sig" and symmetric keys are skipped rather than failing the whole set;
// for a repeated kid the first key wins. Private keys are reduced to their
// public half.
func parseJWKS(body []byte) (map[string]jose.JSONWebKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, errors.New("JWKS is not valid JSON")
	}
	if doc.Keys == nil {
		return nil, errors.New(`JWKS has no "keys" array`)
	}
	keys := make(map[string]jose.JSONWebKey, len(doc.Keys))
	for _, raw := range doc.Keys {
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if k.KeyID == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		if _, dup := keys[k.KeyID]; dup {
			continue
		}
		pub := k.Public()
		if pub.Key == nil || !pub.IsPublic() || !pub.Valid() {
			continue
		}
		keys[k.KeyID] = pub
	}
	return keys, nil
}

// cacheMaxAge reads max-age from a Cache-Control header value, defaulting to
// five minutes and clamping the result to [10s, 24h].
func cacheMaxAge(header string) time.Duration {
	for directive := range strings.SplitSeq(header, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
		if !strings.EqualFold(strings.TrimSpace(name), "max-age") {
			continue
		}
		n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64)
		if err != nil || n < 0 {
			return defaultJWKSMaxAge
		}
		if n > int64(maxJWKSMaxAge/time.Second) {
			return maxJWKSMaxAge
		}
		return max(time.Duration(n)*time.Second, minRefetchInterval)
	}
	return defaultJWKSMaxAge
}
