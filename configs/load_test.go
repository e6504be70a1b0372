package configs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// writeFile writes content to a fresh rotor.yaml and returns its path, or
// "" when content is "" so a case can mean "no file".
func writeFile(t *testing.T, content string) string {
	t.Helper()
	if content == "" {
		return ""
	}
	path := filepath.Join(t.TempDir(), "rotor.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadLayers(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		env   []string
		check func(t *testing.T, c Config)
	}{
		{
			name: "defaults only",
			check: func(t *testing.T, c Config) {
				if !reflect.DeepEqual(c, Default()) {
					t.Errorf("got %+v, want defaults", c)
				}
			},
		},
		{
			name: "file overrides defaults and keeps the rest",
			file: "tokens:\n  access_token_ttl: 5m\nlog:\n  format: text\n",
			check: func(t *testing.T, c Config) {
				want := Default()
				want.Tokens.AccessTokenTTL = 5 * time.Minute
				want.Log.Format = "text"
				if !reflect.DeepEqual(c, want) {
					t.Errorf("got %+v, want %+v", c, want)
				}
			},
		},
		{
			name: "environment overrides file",
			file: "http:\n  addr: 127.0.0.1:9000\n",
			env:  []string{"ROTOR_HTTP_ADDR=127.0.0.1:9001"},
			check: func(t *testing.T, c Config) {
				if c.HTTP.Addr != "127.0.0.1:9001" {
					t.Errorf("http.addr = %q, want the environment's", c.HTTP.Addr)
				}
			},
		},
		{
			name: "empty file changes nothing",
			file: "# nothing set\n",
			check: func(t *testing.T, c Config) {
				if !reflect.DeepEqual(c, Default()) {
					t.Errorf("got %+v, want defaults", c)
				}
			},
		},
		{
			name: "section with every key commented out keeps its defaults",
			file: "tokens:\n  # access_token_ttl: 1m\nlog:\n  level: debug\n",
			check: func(t *testing.T, c Config) {
				if c.Tokens != Default().Tokens || c.Log.Level != "debug" {
					t.Errorf("got %+v", c)
				}
			},
		},
		{
			name: "bare zero is a zero duration",
			file: "tokens:\n  refresh_reuse_grace: 0\ndatabase:\n  busy_timeout: 0\n",
			check: func(t *testing.T, c Config) {
				if c.Tokens.RefreshReuseGrace != 0 || c.Database.BusyTimeout != 0 {
					t.Errorf("got grace %s, busy %s", c.Tokens.RefreshReuseGrace, c.Database.BusyTimeout)
				}
			},
		},
		{
			name: "integer from an environment string",
			env:  []string{"ROTOR_DATABASE_MAX_OPEN_CONNS=8"},
			check: func(t *testing.T, c Config) {
				if c.Database.MaxOpenConns != 8 {
					t.Errorf("max_open_conns = %d, want 8", c.Database.MaxOpenConns)
				}
			},
		},
		{
			name: "ROTOR_CONFIG and unrelated variables are ignored",
			env:  []string{"ROTOR_CONFIG=/etc/rotor.yaml", "HOME=/root", "rotor_http_addr=x", "NOEQUALS"},
			check: func(t *testing.T, c Config) {
				if !reflect.DeepEqual(c, Default()) {
					t.Errorf("got %+v, want defaults", c)
				}
			},
		},
		{
			name: "https issuer with a secret",
			file: "issuer: https://id.example.com/tenant\nsecrets:\n  system: \"0123456789abcdef0123456789abcdef\"\nbff:\n  enabled: false\n",
			check: func(t *testing.T, c Config) {
				if c.Issuer != "https://id.example.com/tenant" || c.LoopbackIssuer() {
					t.Errorf("issuer = %q, loopback = %v", c.Issuer, c.LoopbackIssuer())
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(writeFile(t, tt.file), tt.env)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			tt.check(t, c)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	tests := []struct {
		name string
		path string
	}{
		{"missing file", filepath.Join(t.TempDir(), "absent.yaml")},
		{"missing directory", filepath.Join(t.TempDir(), "no", "rotor.yaml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path, nil)
			if !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("err = %v, want fs.ErrNotExist", err)
			}
			assertOneLine(t, err.Error())
			if !strings.HasPrefix(err.Error(), "config: read file: ") || !strings.Contains(err.Error(), tt.path) {
				t.Errorf("err = %q, want it to name the file", err)
			}
		})
	}
}
