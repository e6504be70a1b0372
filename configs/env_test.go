package configs

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEnvKey(t *testing.T) {
	tests := []struct {
		name string
		env  string
		want string
	}{
		{"section and key", "ROTOR_HTTP_ADDR", "http.addr"},
		{"database dsn", "ROTOR_DATABASE_DSN", "database.dsn"},
		{"underscores after the first stay in the key", "ROTOR_TOKENS_ACCESS_TOKEN_TTL", "tokens.access_token_ttl"},
		{"no underscore is a top-level key", "ROTOR_ISSUER", "issuer"},
		{"secrets", "ROTOR_SECRETS_SYSTEM", "secrets.system"},
		{"unknown keys map the same way", "ROTOR_FOO_BAR", "foo.bar"},
		{"mixed case is lowered", "ROTOR_Log_Level", "log.level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := envKey(tt.env); got != tt.want {
				t.Errorf("envKey(%q) = %q, want %q", tt.env, got, tt.want)
			}
		})
	}
}

// TestEnvOverridesEveryKey sets each setting from the environment and
// checks it lands in the right field, so a key the environment cannot reach
// is caught.
func TestEnvOverridesEveryKey(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name  string
		env   string
		check func(c Config) bool
	}{
		{"issuer", "ROTOR_ISSUER=http://127.0.0.1:9000", func(c Config) bool { return c.Issuer == "http://127.0.0.1:9000" }},
		{"http.addr", "ROTOR_HTTP_ADDR=127.0.0.1:9000", func(c Config) bool { return c.HTTP.Addr == "127.0.0.1:9000" }},
		{"http.trusted_proxies", "ROTOR_HTTP_TRUSTED_PROXIES=10.0.0.0/8, 192.0.2.1", func(c Config) bool {
			return slices.Equal(c.HTTP.TrustedProxies, []string{"10.0.0.0/8", "192.0.2.1"})
		}},
		{"http.read_header_timeout", "ROTOR_HTTP_READ_HEADER_TIMEOUT=1s", func(c Config) bool { return c.HTTP.ReadHeaderTimeout == time.Second }},
		{"http.read_timeout", "ROTOR_HTTP_READ_TIMEOUT=2s", func(c Config) bool { return c.HTTP.ReadTimeout == 2*time.Second }},
		{"http.write_timeout", "ROTOR_HTTP_WRITE_TIMEOUT=3s", func(c Config) bool { return c.HTTP.WriteTimeout == 3*time.Second }},
		{"http.idle_timeout", "ROTOR_HTTP_IDLE_TIMEOUT=4s", func(c Config) bool { return c.HTTP.IdleTimeout == 4*time.Second }},
		{"http.shutdown_timeout", "ROTOR_HTTP_SHUTDOWN_TIMEOUT=5s", func(c Config) bool { return c.HTTP.ShutdownTimeout == 5*time.Second }},
		{"database.dsn", "ROTOR_DATABASE_DSN=sqlite:///var/lib/rotor/rotor.db", func(c Config) bool { return c.Database.DSN == "sqlite:///var/lib/rotor/rotor.db" }},
		{"database.busy_timeout", "ROTOR_DATABASE_BUSY_TIMEOUT=0", func(c Config) bool { return c.Database.BusyTimeout == 0 }},
		{"database.max_open_conns", "ROTOR_DATABASE_MAX_OPEN_CONNS=4", func(c Config) bool { return c.Database.MaxOpenConns == 4 }},
		{"tokens.access_token_ttl", "ROTOR_TOKENS_ACCESS_TOKEN_TTL=1m", func(c Config) bool { return c.Tokens.AccessTokenTTL == time.Minute }},
		{"tokens.refresh_idle_ttl", "ROTOR_TOKENS_REFRESH_IDLE_TTL=24h", func(c Config) bool { return c.Tokens.RefreshIdleTTL == 24*time.Hour }},
		{"tokens.session_max_ttl", "ROTOR_TOKENS_SESSION_MAX_TTL=200h", func(c Config) bool { return c.Tokens.SessionMaxTTL == 200*time.Hour }},
		{"tokens.refresh_reuse_grace", "ROTOR_TOKENS_REFRESH_REUSE_GRACE=0s", func(c Config) bool { return c.Tokens.RefreshReuseGrace == 0 }},
		{"database.conn_max_lifetime", "ROTOR_DATABASE_CONN_MAX_LIFETIME=5m", func(c Config) bool { return c.Database.ConnMaxLifetime == 5*time.Minute }},
		{"storage.gc_interval", "ROTOR_STORAGE_GC_INTERVAL=0", func(c Config) bool { return c.Storage.GCInterval == 0 }},
		{"metrics.addr", "ROTOR_METRICS_ADDR=127.0.0.1:9090", func(c Config) bool { return c.Metrics.Addr == "127.0.0.1:9090" }},
		{"metrics.profile", "ROTOR_METRICS_PROFILE=true", func(c Config) bool { return c.Metrics.Profile }},
		{"keys.access_token_alg", "ROTOR_KEYS_ACCESS_TOKEN_ALG=EdDSA", func(c Config) bool { return c.Keys.AccessTokenAlg == "EdDSA" }},
		{"keys.rotation_interval", "ROTOR_KEYS_ROTATION_INTERVAL=24h", func(c Config) bool { return c.Keys.RotationInterval == 24*time.Hour }},
		{"keys.publish_ahead", "ROTOR_KEYS_PUBLISH_AHEAD=1h", func(c Config) bool { return c.Keys.PublishAhead == time.Hour }},
		{"security.hash_concurrency", "ROTOR_SECURITY_HASH_CONCURRENCY=3", func(c Config) bool { return c.Security.HashConcurrency == 3 }},
		{"security.hash_wait", "ROTOR_SECURITY_HASH_WAIT=1s", func(c Config) bool { return c.Security.HashWait == time.Second }},
		{"security.account_max_delay", "ROTOR_SECURITY_ACCOUNT_MAX_DELAY=30s", func(c Config) bool { return c.Security.AccountMaxDelay == 30*time.Second }},
		{"security.ip_max_delay", "ROTOR_SECURITY_IP_MAX_DELAY=1h", func(c Config) bool { return c.Security.IPMaxDelay == time.Hour }},
		{"audit.retention", "ROTOR_AUDIT_RETENTION=720h", func(c Config) bool { return c.Audit.Retention == 720*time.Hour }},
		{"bff.enabled", "ROTOR_BFF_ENABLED=false", func(c Config) bool { return !c.BFF.Enabled }},
		{"bff.client_id", "ROTOR_BFF_CLIENT_ID=spa", func(c Config) bool { return c.BFF.ClientID == "spa" }},
		{"bff.client_secret", "ROTOR_BFF_CLIENT_SECRET=" + secret, func(c Config) bool { return c.BFF.ClientSecret == secret }},
		{"bff.upstream_url", "ROTOR_BFF_UPSTREAM_URL=http://127.0.0.1:9000/api", func(c Config) bool { return c.BFF.UpstreamURL == "http://127.0.0.1:9000/api" }},
		{"bff.encryption_key", "ROTOR_BFF_ENCRYPTION_KEY=" + strings.Repeat("A", 43) + "=", func(c Config) bool { return c.BFF.EncryptionKey != "" }},
		{"demo.enabled", "ROTOR_DEMO_ENABLED=false", func(c Config) bool { return !c.Demo.Enabled }},
		{"demo.audience", "ROTOR_DEMO_AUDIENCE=api", func(c Config) bool { return c.Demo.Audience == "api" }},
		{"sessions.browser_ttl", "ROTOR_SESSIONS_BROWSER_TTL=1h", func(c Config) bool { return c.Sessions.BrowserTTL == time.Hour }},
		{"secrets.previous", "ROTOR_SECRETS_PREVIOUS=" + secret + ", " + secret + "x", func(c Config) bool {
			return len(c.Secrets.Previous) == 2 && c.Secrets.Previous[0] == secret && c.Secrets.Previous[1] == secret+"x"
		}},
		{"secrets.system", "ROTOR_SECRETS_SYSTEM=" + secret, func(c Config) bool { return c.Secrets.System == secret }},
		{"log.level", "ROTOR_LOG_LEVEL=debug", func(c Config) bool { return c.Log.Level == "debug" }},
		{"log.format", "ROTOR_LOG_FORMAT=text", func(c Config) bool { return c.Log.Format == "text" }},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.name] = true
		t.Run(tt.name, func(t *testing.T) {
			env := []string{tt.env}
			if tt.name == "metrics.profile" {
				env = append(env, "ROTOR_METRICS_ADDR=127.0.0.1:9090") // profiles need their own address
			}
			c, err := Load("", env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("%s did not reach %s: %+v", tt.env, tt.name, c)
			}
		})
	}
	for key := range leafKeys {
		if !covered[key] {
			t.Errorf("no case sets %s from the environment", key)
		}
	}
}
