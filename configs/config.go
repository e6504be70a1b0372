package configs

import (
	_ "embed"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
)

// defaultsYAML is both the documented example configuration and the lowest
// configuration layer, so the documentation cannot disagree with the code.
//
//go:embed rotor.yaml
var defaultsYAML []byte

// Config is the complete Rotor configuration.
type Config struct {
	Issuer   string   `koanf:"issuer"`
	HTTP     HTTP     `koanf:"http"`
	Database Database `koanf:"database"`
	Storage  Storage  `koanf:"storage"`
	Tokens   Tokens   `koanf:"tokens"`
	Sessions Sessions `koanf:"sessions"`
	Keys     Keys     `koanf:"keys"`
	Metrics  Metrics  `koanf:"metrics"`
	Security Security `koanf:"security"`
	Audit    Audit    `koanf:"audit"`
	BFF      BFF      `koanf:"bff"`
	Demo     Demo     `koanf:"demo"`
	Secrets  Secrets  `koanf:"secrets"`
	Log      Log      `koanf:"log"`
}

// HTTP configures the HTTP listener and its timeouts.
type HTTP struct {
	Addr              string        `koanf:"addr"`
	ReadHeaderTimeout time.Duration `koanf:"read_header_timeout"`
	ReadTimeout       time.Duration `koanf:"read_timeout"`
	WriteTimeout      time.Duration `koanf:"write_timeout"`
	IdleTimeout       time.Duration `koanf:"idle_timeout"`
	ShutdownTimeout   time.Duration `koanf:"shutdown_timeout"`
	// TrustedProxies are CIDRs (or bare addresses) of the proxies whose
	// X-Forwarded-For or Forwarded header names the client.
	TrustedProxies []string `koanf:"trusted_proxies"`
}

// Proxies parses TrustedProxies; a bare address is a /32 or /128. Validate
// has reported any entry that does not parse.
func (h HTTP) Proxies() ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(h.TrustedProxies))
	for i, s := range h.TrustedProxies {
		p, err := parseProxy(s)
		if err != nil {
			return nil, fmt.Errorf("http.trusted_proxies[%d]: %w", i, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parseProxy(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or fd00::/8", s)
		}
		if p.Addr().Is4In6() {
			return netip.Prefix{}, fmt.Errorf("%q: write IPv4 ranges as IPv4", s)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR", s)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Database configures the storage backend.
type Database struct {
	DSN             string        `koanf:"dsn"`
	BusyTimeout     time.Duration `koanf:"busy_timeout"`
	MaxOpenConns    int           `koanf:"max_open_conns"`
	ConnMaxLifetime time.Duration `koanf:"conn_max_lifetime"`
}

// Storage configures storage maintenance.
type Storage struct {
	GCInterval time.Duration `koanf:"gc_interval"`
}

// Tokens configures token and session lifetimes.
type Tokens struct {
	AccessTokenTTL    time.Duration `koanf:"access_token_ttl"`
	RefreshIdleTTL    time.Duration `koanf:"refresh_idle_ttl"`
	SessionMaxTTL     time.Duration `koanf:"session_max_ttl"`
	RefreshReuseGrace time.Duration `koanf:"refresh_reuse_grace"`
}

// Sessions configures browser sign-in sessions (single sign-on).
type Sessions struct {
	BrowserTTL time.Duration `koanf:"browser_ttl"`
}

// Metrics configures where Prometheus metrics are served.
type Metrics struct {
	Addr    string `koanf:"addr"`
	Profile bool   `koanf:"profile"`
}

// Keys configures the signing-key lifecycle.
type Keys struct {
	AccessTokenAlg   string        `koanf:"access_token_alg"`
	RotationInterval time.Duration `koanf:"rotation_interval"`
	PublishAhead     time.Duration `koanf:"publish_ahead"`
}

// JWKSMaxAge is how long verifiers may cache the JWKS: five minutes less
// than a key is published before it signs, so every cache has refreshed by
// the time the key is used.
func (k Keys) JWKSMaxAge() time.Duration {
	return max(k.PublishAhead-5*time.Minute, time.Minute)
}

// Security configures abuse resistance.
type Security struct {
	HashConcurrency int           `koanf:"hash_concurrency"`
	HashWait        time.Duration `koanf:"hash_wait"`
	AccountMaxDelay time.Duration `koanf:"account_max_delay"`
	IPMaxDelay      time.Duration `koanf:"ip_max_delay"`
}

// Audit configures the audit trail.
type Audit struct {
	Retention time.Duration `koanf:"retention"`
}

// BFF configures the backend-for-frontend that keeps single-page apps'
// tokens on the server.
type BFF struct {
	Enabled       bool   `koanf:"enabled"`
	ClientID      string `koanf:"client_id"`
	ClientSecret  string `koanf:"client_secret"`
	UpstreamURL   string `koanf:"upstream_url"`
	EncryptionKey string `koanf:"encryption_key"`
}

// String redacts the secrets so that printing a Config can't leak them.
func (b BFF) String() string {
	return fmt.Sprintf("{Enabled:%t ClientID:%s ClientSecret:<redacted> UpstreamURL:%s EncryptionKey:<redacted>}", b.Enabled, b.ClientID, b.UpstreamURL)
}

// Demo configures the demo API served next to the demo single-page app.
type Demo struct {
	Enabled  bool   `koanf:"enabled"`
	Audience string `koanf:"audience"`
}

// Secrets holds key material. Its String method redacts the values so that
// printing or logging a Config cannot leak them.
type Secrets struct {
	System   string   `koanf:"system"`
	Previous []string `koanf:"previous"`
}

// String returns a redacted form of s that only tells whether each secret
// is set.
func (s Secrets) String() string {
	if s.System == "" {
		return fmt.Sprintf("{System:<empty> Previous:<%d redacted>}", len(s.Previous))
	}
	return fmt.Sprintf("{System:<redacted> Previous:<%d redacted>}", len(s.Previous))
}

// GoString redacts s for the %#v verb as String does for %v.
func (s Secrets) GoString() string {
	return "configs.Secrets" + s.String()
}

// Log configures the process logger.
type Log struct {
	Level  string `koanf:"level"`
	Format string `koanf:"format"`
}

// Default returns the embedded defaults (for tests and the CLI). It panics
// if the embedded rotor.yaml does not decode, which the tests rule out.
func Default() Config {
	k := koanf.New(".")
	if err := loadDefaults(k); err != nil {
		panic(err)
	}
	cfg, err := decode(k, sources{})
	if err != nil {
		// The embedded file is fixed at build time and covered by tests,
		// so failing here is a programming error, not a user error.
		panic(err)
	}
	return cfg
}

// Load builds the configuration: defaults (embedded rotor.yaml) → the YAML
// file at path (skipped when path == "") → environment overrides from
// environ (os.Environ() format "K=V"). The result is validated; any error is
// a single line starting with "config: ".
func Load(path string, environ []string) (Config, error) {
	k := koanf.New(".")
	if err := loadDefaults(k); err != nil {
		return Config{}, err
	}

	src := sources{path: path}
	if path != "" {
		fk := koanf.New(".")
		b, err := file.Provider(path).ReadBytes()
		if err != nil {
			return Config{}, fmt.Errorf("config: read file: %w", err)
		}
		if err := fk.Load(rawbytes.Provider(b), strictYAML{}); err != nil {
			return Config{}, &lineError{msg: fmt.Sprintf("config: %s: %s", path, oneLine(err.Error())), err: err}
		}
		if err := k.Merge(fk); err != nil {
			return Config{}, fmt.Errorf("config: merge %s: %w", path, err)
		}
		src.fileKeys = fk.Keys()
	}

	env, err := parseEnv(environ)
	if err != nil {
		return Config{}, err
	}
	for key, e := range env {
		if err := k.Set(key, e.value); err != nil {
			return Config{}, fmt.Errorf("config: set %s from %s: %w", key, e.name, err)
		}
	}
	src.env = env

	cfg, err := decode(k, src)
	if err != nil {
		return Config{}, err
	}
	if !src.has("issuer") {
		cfg.Issuer = followPort(cfg.Issuer, cfg.HTTP.Addr)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// followPort gives the default issuer http.addr's port, so that changing
// only the address of a local setup leaves discovery, tokens and the BFF
// pointing at the port the server listens on. An issuer set by the file or
// the environment is never changed.
func followPort(issuer, addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" || !loopbackListen(net.JoinHostPort(host, port)) {
		return issuer
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" {
		return issuer
	}
	u.Host = net.JoinHostPort(u.Hostname(), port)
	return u.String()
}

func loadDefaults(k *koanf.Koanf) error {
	if err := k.Load(rawbytes.Provider(defaultsYAML), strictYAML{}); err != nil {
		return &lineError{msg: "config: embedded rotor.yaml: " + oneLine(err.Error()), err: err}
	}
	return nil
}
