package configs

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// minSystemSecretLen keeps the system secret long enough to be a key rather
// than a password.
const minSystemSecretLen = 32

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"json", "text"}
)

// validationError lists every problem found, so that fixing a configuration
// takes one round trip instead of one per mistake.
type validationError []string

func (e validationError) Error() string {
	return "config: " + strings.Join(e, "; ")
}

// Validate reports every problem with c at once, on one line, each naming
// its key. It returns nil when c is usable.
func (c Config) Validate() error {
	var p validationError
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	p = append(p, issuerProblems(c.Issuer)...)

	if c.HTTP.Addr == "" {
		add("http.addr: must be set")
	} else if _, _, err := net.SplitHostPort(c.HTTP.Addr); err != nil {
		add("http.addr: must be host:port, e.g. 127.0.0.1:8080 or :8080, got %q", c.HTTP.Addr)
	}
	for i, tp := range c.HTTP.TrustedProxies {
		if _, err := parseProxy(tp); err != nil {
			add("http.trusted_proxies[%d]: %s", i, err)
		}
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"http.read_header_timeout", c.HTTP.ReadHeaderTimeout},
		{"http.read_timeout", c.HTTP.ReadTimeout},
		{"http.write_timeout", c.HTTP.WriteTimeout},
		{"http.idle_timeout", c.HTTP.IdleTimeout},
		{"http.shutdown_timeout", c.HTTP.ShutdownTimeout},
		{"tokens.access_token_ttl", c.Tokens.AccessTokenTTL},
		{"tokens.refresh_idle_ttl", c.Tokens.RefreshIdleTTL},
		{"tokens.session_max_ttl", c.Tokens.SessionMaxTTL},
		{"sessions.browser_ttl", c.Sessions.BrowserTTL},
	} {
		if d.v <= 0 {
			add("%s: must be greater than 0, got %s", d.key, d.v)
		}
	}

	if c.Database.ConnMaxLifetime < 0 {
		add("database.conn_max_lifetime: must not be negative, got %s", c.Database.ConnMaxLifetime)
	}
	if c.Metrics.Addr != "" {
		if _, _, err := net.SplitHostPort(c.Metrics.Addr); err != nil {
			add("metrics.addr: must be host:port, got %q", c.Metrics.Addr)
		}
	} else if c.Metrics.Profile {
		add("metrics.profile: needs metrics.addr (profiles are never served on the main address)")
	}
	switch c.Keys.AccessTokenAlg {
	case "ES256", "EdDSA", "RS256":
	default:
		add("keys.access_token_alg: %q is not one of ES256|EdDSA|RS256", c.Keys.AccessTokenAlg)
	}
	if c.Keys.RotationInterval <= 0 {
		add("keys.rotation_interval: must be greater than 0, got %s", c.Keys.RotationInterval)
	}
	if c.Keys.PublishAhead < 6*time.Minute {
		add("keys.publish_ahead: must be at least 6m (the JWKS max-age is 5m less), got %s", c.Keys.PublishAhead)
	} else if c.Keys.RotationInterval > 0 && c.Keys.PublishAhead >= c.Keys.RotationInterval {
		add("keys.publish_ahead: must be shorter than keys.rotation_interval (%s), got %s", c.Keys.RotationInterval, c.Keys.PublishAhead)
	}
	if c.Security.HashConcurrency < 0 {
		add("security.hash_concurrency: must not be negative, got %d", c.Security.HashConcurrency)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"security.hash_wait", c.Security.HashWait},
		{"audit.retention", c.Audit.Retention},
		{"security.account_max_delay", c.Security.AccountMaxDelay},
		{"security.ip_max_delay", c.Security.IPMaxDelay},
	} {
		if d.v <= 0 {
			add("%s: must be greater than 0, got %s", d.key, d.v)
		}
	}
	if c.Storage.GCInterval < 0 {
		add("storage.gc_interval: must not be negative, got %s", c.Storage.GCInterval)
	}
	if c.BFF.Enabled {
		if c.BFF.ClientID == "" {
			add("bff.client_id: must be set when bff.enabled")
		}
		if c.BFF.ClientSecret == "" && c.exposureKnown() && !c.LoopbackOnly() {
			add("bff.client_secret: required when the server is not loopback-only (%s); set it, or turn the BFF off with bff.enabled: false", c.exposure())
		}
		if c.BFF.UpstreamURL != "" {
			if u, err := url.Parse(c.BFF.UpstreamURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				add("bff.upstream_url: must be an absolute http(s) URL, got %q", c.BFF.UpstreamURL)
			}
		}
		if c.BFF.EncryptionKey != "" {
			if k, err := base64.StdEncoding.DecodeString(c.BFF.EncryptionKey); err != nil || len(k) != 32 {
				add("bff.encryption_key: must be base64 of exactly 32 bytes")
			}
		}
	}
	if c.Demo.Enabled && c.Demo.Audience == "" {
		add("demo.audience: must be set when demo.enabled")
	}

	t := c.Tokens
	if t.RefreshIdleTTL > 0 && t.SessionMaxTTL > 0 && t.RefreshIdleTTL > t.SessionMaxTTL {
		add("tokens.refresh_idle_ttl: must not exceed tokens.session_max_ttl (%s), got %s", t.SessionMaxTTL, t.RefreshIdleTTL)
	}
	// A login's first access token is not capped at the session's end
	// (those a refresh issues are): it must not be able to outlive it.
	if t.AccessTokenTTL > 0 && t.SessionMaxTTL > 0 && t.AccessTokenTTL > t.SessionMaxTTL {
		add("tokens.access_token_ttl: must not exceed tokens.session_max_ttl (%s), got %s", t.SessionMaxTTL, t.AccessTokenTTL)
	}
	switch {
	case t.RefreshReuseGrace < 0:
		add("tokens.refresh_reuse_grace: must not be negative, got %s", t.RefreshReuseGrace)
	case t.RefreshIdleTTL > 0 && t.RefreshReuseGrace >= t.RefreshIdleTTL:
		add("tokens.refresh_reuse_grace: must be less than tokens.refresh_idle_ttl (%s), got %s", t.RefreshIdleTTL, t.RefreshReuseGrace)
	}

	if strings.TrimSpace(c.Database.DSN) == "" {
		add("database.dsn: must be set")
	}
	if c.Database.BusyTimeout < 0 {
		add("database.busy_timeout: must not be negative, got %s", c.Database.BusyTimeout)
	}
	if c.Database.MaxOpenConns < 0 {
		add("database.max_open_conns: must not be negative, got %d", c.Database.MaxOpenConns)
	}

	if !slices.Contains(logLevels, c.Log.Level) {
		add("log.level: %q is not one of %s", c.Log.Level, strings.Join(logLevels, "|"))
	}
	if !slices.Contains(logFormats, c.Log.Format) {
		add("log.format: %q is not one of %s", c.Log.Format, strings.Join(logFormats, "|"))
	}

	// The secret itself never appears in a message; its length is harmless.
	for i, old := range c.Secrets.Previous {
		if n := utf8.RuneCountInString(old); n < minSystemSecretLen {
			add("secrets.previous[%d]: must be at least %d characters, got %d", i, minSystemSecretLen, n)
		}
	}
	if n := utf8.RuneCountInString(c.Secrets.System); n > 0 && n < minSystemSecretLen {
		add("secrets.system: must be at least %d characters, got %d", minSystemSecretLen, n)
	}
	// A generated secret sits next to the data it protects, which is fine
	// for a developer machine and not for a server others can reach.
	if c.Secrets.System == "" && c.exposureKnown() && !c.LoopbackOnly() {
		add("secrets.system: required when the server is not loopback-only (%s); a generated secret is for local use only", c.exposure())
	}

	if len(p) == 0 {
		return nil
	}
	return p
}

func issuerProblems(issuer string) []string {
	if issuer == "" {
		return []string{"issuer: must be set"}
	}
	u, err := url.Parse(issuer)
	if err != nil {
		return []string{"issuer: not a valid URL: " + oneLine(err.Error())}
	}
	var p []string
	switch u.Scheme {
	case "https", "http":
	case "":
		p = append(p, "issuer: must be an absolute URL such as https://id.example.com")
	default:
		p = append(p, fmt.Sprintf("issuer: scheme must be https or http, got %q", u.Scheme))
	}
	if u.Host == "" {
		p = append(p, "issuer: must include a host")
	}
	if u.User != nil {
		p = append(p, "issuer: must not contain user info")
	}
	// OpenID Connect forbids both: clients build discovery URLs by appending
	// to the issuer and compare it verbatim with the "iss" claim.
	if u.RawQuery != "" || u.ForceQuery {
		p = append(p, "issuer: must not have a query")
	}
	if strings.Contains(issuer, "#") {
		p = append(p, "issuer: must not have a fragment")
	}
	if strings.HasSuffix(u.Path, "/") {
		p = append(p, `issuer: must not end with "/" (clients compare it byte for byte with the "iss" claim)`)
	}
	if u.Scheme == "http" && u.Host != "" && !isLoopbackHost(u.Hostname()) {
		p = append(p, "issuer: must use https unless the host is loopback (localhost, 127.0.0.1, [::1])")
	}
	return p
}

// LoopbackIssuer reports whether the issuer's host is localhost, 127.0.0.1
// or [::1].
func (c Config) LoopbackIssuer() bool {
	host, ok := issuerHost(c.Issuer)
	return ok && isLoopbackHost(host)
}

func issuerHost(issuer string) (string, bool) {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return "", false
	}
	return u.Hostname(), true
}

// LoopbackOnly reports whether this is a local setup: the issuer is
// loopback and http.addr listens on a loopback address only (127.0.0.0/8,
// ::1 or localhost; an empty host, 0.0.0.0 or :: listen everywhere). Only
// such a setup may fall back on generated secrets, a self-registered BFF
// client and cookies without Secure.
func (c Config) LoopbackOnly() bool {
	return c.LoopbackIssuer() && loopbackListen(c.HTTP.Addr)
}

// exposure names the two settings LoopbackOnly reads, for messages.
func (c Config) exposure() string {
	return fmt.Sprintf("issuer %s, http.addr %s", c.Issuer, c.HTTP.Addr)
}

// exposureKnown: issuer and http.addr parse, so LoopbackOnly means what it
// says (a broken one is reported on its own).
func (c Config) exposureKnown() bool {
	_, ok := issuerHost(c.Issuer)
	_, _, err := net.SplitHostPort(c.HTTP.Addr)
	return ok && err == nil
}

func loopbackListen(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.Unmap().IsLoopback()
}

func isLoopbackHost(host string) bool {
	return strings.EqualFold(host, "localhost") || host == "127.0.0.1" || host == "::1"
}
