package configs

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef"
	tests := []struct {
		name   string
		mutate func(c *Config)
		// want is the exact message after "config: ", or "" for valid.
		want string
	}{
		{"defaults", func(c *Config) {}, ""},
		{"https issuer with path and secret", func(c *Config) {
			c.Issuer, c.Secrets.System = "https://id.example.com/realms/main", secret
		}, ""},
		{"loopback issuers may use http", func(c *Config) { c.Issuer = "http://[::1]:8080" }, ""},
		{"zero grace, busy timeout and pool", func(c *Config) {
			c.Tokens.RefreshReuseGrace, c.Database.BusyTimeout, c.Database.MaxOpenConns = 0, 0, 0
		}, ""},
		{"idle ttl equal to session ttl", func(c *Config) { c.Tokens.RefreshIdleTTL = c.Tokens.SessionMaxTTL }, ""},
		{"multibyte secret counts characters", func(c *Config) { c.Secrets.System = strings.Repeat("é", 32) }, ""},

		{"empty issuer", func(c *Config) { c.Issuer = "" }, "issuer: must be set"},
		{"relative issuer", func(c *Config) { c.Issuer = "id.example.com" }, "issuer: must be an absolute URL such as https://id.example.com; issuer: must include a host"},
		{"unparsable issuer", func(c *Config) { c.Issuer = "http://[::1" }, `issuer: not a valid URL: parse "http://[::1": missing ']' in host`},
		{"issuer with other scheme", func(c *Config) { c.Issuer = "ftp://localhost" }, `issuer: scheme must be https or http, got "ftp"`},
		{"issuer without host", func(c *Config) { c.Issuer = "https:///path" }, "issuer: must include a host"},
		{"issuer with query", func(c *Config) { c.Issuer = "http://localhost:8080?tenant=a" }, "issuer: must not have a query"},
		{"issuer with empty query", func(c *Config) { c.Issuer = "http://localhost:8080?" }, "issuer: must not have a query"},
		{"issuer with fragment", func(c *Config) { c.Issuer = "http://localhost:8080#x" }, "issuer: must not have a fragment"},
		{"issuer with trailing slash", func(c *Config) { c.Issuer = "http://localhost:8080/" }, `issuer: must not end with "/" (clients compare it byte for byte with the "iss" claim)`},
		{"issuer with user info", func(c *Config) { c.Issuer = "http://admin@localhost:8080" }, "issuer: must not contain user info"},
		{"http issuer on a public host", func(c *Config) { c.Issuer, c.Secrets.System = "http://id.example.com", secret }, "issuer: must use https unless the host is loopback (localhost, 127.0.0.1, [::1])"},
		{"http issuer on another loopback address", func(c *Config) { c.Issuer, c.Secrets.System = "http://127.0.0.2", secret }, "issuer: must use https unless the host is loopback (localhost, 127.0.0.1, [::1])"},

		{"empty http.addr", func(c *Config) { c.HTTP.Addr = "" }, "http.addr: must be set"},
		{"http.addr without port", func(c *Config) { c.HTTP.Addr = "8080" }, `http.addr: must be host:port, e.g. 127.0.0.1:8080 or :8080, got "8080"`},
		{"zero read header timeout", func(c *Config) { c.HTTP.ReadHeaderTimeout = 0 }, "http.read_header_timeout: must be greater than 0, got 0s"},
		{"zero read timeout", func(c *Config) { c.HTTP.ReadTimeout = 0 }, "http.read_timeout: must be greater than 0, got 0s"},
		{"zero write timeout", func(c *Config) { c.HTTP.WriteTimeout = 0 }, "http.write_timeout: must be greater than 0, got 0s"},
		{"zero idle timeout", func(c *Config) { c.HTTP.IdleTimeout = 0 }, "http.idle_timeout: must be greater than 0, got 0s"},
		{"negative shutdown timeout", func(c *Config) { c.HTTP.ShutdownTimeout = -time.Second }, "http.shutdown_timeout: must be greater than 0, got -1s"},
		{"zero access token ttl", func(c *Config) { c.Tokens.AccessTokenTTL = 0 }, "tokens.access_token_ttl: must be greater than 0, got 0s"},
		{"zero refresh idle ttl", func(c *Config) { c.Tokens.RefreshIdleTTL = 0 }, "tokens.refresh_idle_ttl: must be greater than 0, got 0s"},
		{"zero session max ttl", func(c *Config) { c.Tokens.SessionMaxTTL = 0 }, "tokens.session_max_ttl: must be greater than 0, got 0s"},
		{"idle ttl beyond session ttl", func(c *Config) { c.Tokens.RefreshIdleTTL = 721 * time.Hour }, "tokens.refresh_idle_ttl: must not exceed tokens.session_max_ttl (720h0m0s), got 721h0m0s"},
		{"access token ttl beyond session ttl", func(c *Config) { c.Tokens.AccessTokenTTL = 721 * time.Hour }, "tokens.access_token_ttl: must not exceed tokens.session_max_ttl (720h0m0s), got 721h0m0s"},
		{"negative grace", func(c *Config) { c.Tokens.RefreshReuseGrace = -time.Second }, "tokens.refresh_reuse_grace: must not be negative, got -1s"},
		{"grace equal to idle ttl", func(c *Config) { c.Tokens.RefreshReuseGrace = c.Tokens.RefreshIdleTTL }, "tokens.refresh_reuse_grace: must be less than tokens.refresh_idle_ttl (168h0m0s), got 168h0m0s"},
		{"empty dsn", func(c *Config) { c.Database.DSN = " " }, "database.dsn: must be set"},
		{"negative busy timeout", func(c *Config) { c.Database.BusyTimeout = -time.Second }, "database.busy_timeout: must not be negative, got -1s"},
		{"negative pool", func(c *Config) { c.Database.MaxOpenConns = -1 }, "database.max_open_conns: must not be negative, got -1"},
		{"unknown log level", func(c *Config) { c.Log.Level = "INFO" }, `log.level: "INFO" is not one of debug|info|warn|error`},
		{"unknown log format", func(c *Config) { c.Log.Format = "logfmt" }, `log.format: "logfmt" is not one of json|text`},
		{"short secret", func(c *Config) { c.Secrets.System = "hunter2" }, "secrets.system: must be at least 32 characters, got 7"},
		{"bff on a public issuer needs its client secret", func(c *Config) {
			c.BFF.Enabled = true
			c.Issuer = "https://id.example.com"
			c.Secrets.System = strings.Repeat("s", 32)
		}, "bff.client_secret: required when the server is not loopback-only (issuer https://id.example.com, http.addr 127.0.0.1:8080); set it, or turn the BFF off with bff.enabled: false"},
		{"bad bff settings", func(c *Config) {
			c.BFF.Enabled = true
			c.BFF.UpstreamURL = "ftp://x"
			c.BFF.EncryptionKey = "c2hvcnQ="
			c.Demo.Audience = ""
		}, `bff.upstream_url: must be an absolute http(s) URL, got "ftp://x"; bff.encryption_key: must be base64 of exactly 32 bytes; demo.audience: must be set when demo.enabled`},
		{"missing secret on a public issuer", func(c *Config) { c.Issuer = "https://id.example.com" }, "secrets.system: required when the server is not loopback-only (issuer https://id.example.com, http.addr 127.0.0.1:8080); a generated secret is for local use only"},

		{"every problem at once", func(c *Config) {
			c.Issuer = "http://id.example.com/"
			c.HTTP.Addr = ""
			c.Tokens.AccessTokenTTL = 0
			c.Tokens.RefreshReuseGrace = 200 * time.Hour
			c.Database.DSN = ""
			c.Log.Level = "trace"
			c.Log.Format = "xml"
			c.Secrets.System = "short"
		}, `issuer: must not end with "/" (clients compare it byte for byte with the "iss" claim); ` +
			"issuer: must use https unless the host is loopback (localhost, 127.0.0.1, [::1]); " +
			"http.addr: must be set; " +
			"tokens.access_token_ttl: must be greater than 0, got 0s; " +
			"tokens.refresh_reuse_grace: must be less than tokens.refresh_idle_ttl (168h0m0s), got 200h0m0s; " +
			"database.dsn: must be set; " +
			`log.level: "trace" is not one of debug|info|warn|error; ` +
			`log.format: "xml" is not one of json|text; ` +
			"secrets.system: must be at least 32 characters, got 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			// The BFF has rules of its own, tested in its own cases; most
			// cases here use public issuers, where it would add a problem.
			c.BFF.Enabled = false
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			if got := err.Error(); got != "config: "+tt.want {
				t.Errorf("Validate() =\n%q\nwant\n%q", got, "config: "+tt.want)
			}
			assertOneLine(t, err.Error())
		})
	}
}

func TestLoopbackIssuer(t *testing.T) {
	tests := []struct {
		name   string
		issuer string
		want   bool
	}{
		{"localhost", "http://localhost:8080", true},
		{"localhost in capitals", "http://LOCALHOST", true},
		{"ipv4 loopback", "http://127.0.0.1:8080/rotor", true},
		{"ipv6 loopback", "http://[::1]:8080", true},
		{"https loopback", "https://localhost", true},
		{"public host", "https://id.example.com", false},
		{"other 127/8 address", "http://127.0.0.2", false},
		{"localhost as a subdomain", "http://localhost.example.com", false},
		{"empty", "", false},
		{"not a URL", "localhost", false},
		{"unparsable", "http://[::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := (Config{Issuer: tt.issuer}).LoopbackIssuer(); got != tt.want {
				t.Errorf("LoopbackIssuer(%q) = %v, want %v", tt.issuer, got, tt.want)
			}
		})
	}
}
