package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rotorauth/rotor/storage"
)

const (
	testPassword = "correct horse battery staple"
	// testSecret is a client secret long enough to be accepted.
	testSecret = "s3cr3t-0123456789-abcdefghijklmnopqrstuv"
)

func TestMigrate(t *testing.T) {
	environ, _ := testEnv(t)
	tests := []struct {
		name     string
		wantLogs bool // the database was migrated by this run
	}{
		{name: "fresh database", wantLogs: true},
		{name: "second run is a no-op", wantLogs: false},
		{name: "third run is a no-op", wantLogs: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCLI(t, environ, "", "migrate")
			if want := fmt.Sprintf("schema at version %d\n", storage.LatestSchemaVersion()); r.stdout != want {
				t.Errorf("stdout = %q, want %q", r.stdout, want)
			}
			if got := strings.Contains(r.stderr, `"msg":"database migrated"`); got != tt.wantLogs {
				t.Errorf("logged a migration: %v, want %v\nstderr: %s", got, tt.wantLogs, r.stderr)
			}
		})
	}
}

func TestUsersCreate(t *testing.T) {
	environ, _ := testEnv(t)
	tests := []struct {
		name    string
		args    []string
		stdin   string
		wantOut string // for success
		wantErr string // substring of the one-line error
	}{
		{name: "ok", args: []string{"--email", "alice@example.com", "--password-stdin"}, stdin: testPassword + "\n", wantOut: "created user alice@example.com ("},
		{name: "ok without trailing newline", args: []string{"--email", "bob@example.com", "--password-stdin"}, stdin: testPassword, wantOut: "created user bob@example.com ("},
		{name: "ok email is normalized", args: []string{"--email", "Carol@Example.COM", "--password-stdin"}, stdin: testPassword, wantOut: "created user carol@example.com ("},
		{name: "duplicate", args: []string{"--email", "alice@example.com", "--password-stdin"}, stdin: testPassword, wantErr: "a user with email alice@example.com already exists"},
		{name: "duplicate differing in case", args: []string{"--email", "ALICE@example.com", "--password-stdin"}, stdin: testPassword, wantErr: "already exists"},
		{name: "missing --password-stdin", args: []string{"--email", "dave@example.com"}, stdin: testPassword, wantErr: "--password-stdin is required"},
		{name: "missing --email", args: []string{"--password-stdin"}, stdin: testPassword, wantErr: `required flag(s) "email" not set`},
		{name: "empty email", args: []string{"--email", "", "--password-stdin"}, stdin: testPassword, wantErr: "is not an email address"},
		{name: "bad email", args: []string{"--email", "not-an-email", "--password-stdin"}, stdin: testPassword, wantErr: `--email "not-an-email" is not an email address`},
		{name: "email with display name", args: []string{"--email", "Eve <eve@example.com>", "--password-stdin"}, stdin: testPassword, wantErr: "is not an email address"},
		{name: "short password", args: []string{"--email", "frank@example.com", "--password-stdin"}, stdin: "short12\n", wantErr: "password must be at least 8 characters"},
		{name: "empty password", args: []string{"--email", "frank@example.com", "--password-stdin"}, stdin: "", wantErr: "password must be at least 8 characters"},
		{name: "password of two lines", args: []string{"--email", "frank@example.com", "--password-stdin"}, stdin: testPassword + "\n" + testPassword + "\n", wantErr: "stdin must hold exactly one line"},
		{name: "password too long is not truncated", args: []string{"--email", "frank@example.com", "--password-stdin"}, stdin: strings.Repeat("p", 5000), wantErr: "stdin must hold at most 4096 bytes"},
		{name: "unexpected argument", args: []string{"extra", "--email", "frank@example.com", "--password-stdin"}, stdin: testPassword, wantErr: `unknown command "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, environ, tt.stdin, append([]string{"users", "create"}, tt.args...)...)
			if tt.wantErr != "" {
				assertOneLineError(t, r.err, tt.wantErr)
				if r.stdout != "" {
					t.Errorf("stdout = %q, want nothing on failure", r.stdout)
				}
			} else {
				if r.err != nil {
					t.Fatalf("unexpected error: %v", r.err)
				}
				if !strings.HasPrefix(r.stdout, tt.wantOut) {
					t.Errorf("stdout = %q, want prefix %q", r.stdout, tt.wantOut)
				}
			}
			if p := strings.TrimSpace(tt.stdin); len(p) >= 8 && strings.Contains(r.all(), p) {
				t.Errorf("the password appears in the output: %q", r.all())
			}
		})
	}
}

func TestClientsCreate(t *testing.T) {
	environ, _ := testEnv(t)
	tests := []struct {
		name           string
		args           []string
		stdin          string
		wantErr        string
		wantGenerated  bool // a generated secret is printed
		secretInOutput string
	}{
		{name: "public password and refresh", args: []string{"--id", "mobile", "--public", "--first-party", "--grant-types", "password,refresh_token"}},
		{name: "public with spaces in list", args: []string{"--id", "spa", "--public", "--first-party", "--grant-types", " password , refresh_token ", "--redirect-uris", "https://app.example.com/cb, http://127.0.0.1:9000/cb"}},
		{name: "confidential generates a secret", args: []string{"--id", "backend", "--grant-types", "client_credentials"}, wantGenerated: true},
		{name: "confidential client_secret_post generates a secret", args: []string{"--id", "backend-post", "--grant-types", "client_credentials", "--token-endpoint-auth-method", "client_secret_post"}, wantGenerated: true},
		{name: "secret from stdin", args: []string{"--id", "worker", "--secret-stdin", "--grant-types", "client_credentials"}, stdin: testSecret + "\n"},
		{name: "secret from stdin too short", args: []string{"--id", "worker2", "--secret-stdin", "--grant-types", "client_credentials"}, stdin: "0123456789abcdefghijklmnopqrstu\n", wantErr: "client secret must be at least 32 characters"},
		{name: "secret from stdin empty", args: []string{"--id", "worker3", "--secret-stdin", "--grant-types", "client_credentials"}, stdin: "", wantErr: "client secret must be at least 32 characters"},
		{name: "secret from stdin of two lines", args: []string{"--id", "worker4", "--secret-stdin", "--grant-types", "client_credentials"}, stdin: testSecret + "\n" + testSecret + "\n", wantErr: "stdin must hold exactly one line"},
		{name: "unknown grant type", args: []string{"--id", "c1", "--public", "--first-party", "--grant-types", "password,implicit"}, wantErr: `--grant-types: unknown grant type "implicit"`},
		{name: "empty grant types", args: []string{"--id", "c1", "--public", "--grant-types", ","}, wantErr: "--grant-types must name at least one grant type"},
		{name: "missing grant types", args: []string{"--id", "c1", "--public"}, wantErr: `required flag(s) "grant-types" not set`},
		{name: "missing id", args: []string{"--public", "--first-party", "--grant-types", "password"}, wantErr: `required flag(s) "id" not set`},
		{name: "empty id", args: []string{"--id", "", "--public", "--first-party", "--grant-types", "password"}, wantErr: "--id must not be empty"},
		{name: "public with secret-stdin", args: []string{"--id", "c1", "--public", "--secret-stdin", "--first-party", "--grant-types", "password"}, stdin: testSecret, wantErr: "[public secret-stdin]"},
		{name: "public with client_credentials", args: []string{"--id", "c1", "--public", "--grant-types", "client_credentials"}, wantErr: "a public client can't use client_credentials"},
		{name: "public with secret auth method", args: []string{"--id", "c1", "--public", "--first-party", "--grant-types", "password", "--token-endpoint-auth-method", "client_secret_basic"}, wantErr: "needs a confidential client"},
		{name: "confidential with auth method none", args: []string{"--id", "c1", "--first-party", "--grant-types", "password", "--token-endpoint-auth-method", "none"}, wantErr: "needs --public"},
		{name: "unknown auth method", args: []string{"--id", "c1", "--first-party", "--grant-types", "password", "--token-endpoint-auth-method", "private_key_jwt"}, wantErr: `unknown method "private_key_jwt"`},
		{name: "public password without first-party", args: []string{"--id", "c2", "--public", "--grant-types", "password,refresh_token"}, wantErr: "the password grant is for first-party clients only"},
		{name: "confidential password without first-party", args: []string{"--id", "c3", "--grant-types", "refresh_token,password"}, wantErr: "the password grant is for first-party clients only"},
		{name: "duplicate id public", args: []string{"--id", "mobile", "--public", "--first-party", "--grant-types", "password"}, wantErr: "a client with id mobile already exists"},
		{name: "duplicate id confidential", args: []string{"--id", "worker", "--secret-stdin", "--grant-types", "client_credentials"}, stdin: testSecret, wantErr: "a client with id worker already exists"},
		{name: "relative redirect URI", args: []string{"--id", "c1", "--public", "--grant-types", "authorization_code", "--redirect-uris", "/callback"}, wantErr: `redirect URI "/callback" must be an absolute URL`},
		{name: "redirect URI with fragment", args: []string{"--id", "c1", "--public", "--grant-types", "authorization_code", "--redirect-uris", "https://app.example.com/cb#x"}, wantErr: "must be an absolute URL without a fragment"},
		{name: "unparsable redirect URI", args: []string{"--id", "c1", "--public", "--grant-types", "authorization_code", "--redirect-uris", "https://bad host/cb"}, wantErr: "must be an absolute URL without a fragment"},
		{name: "bad post-logout redirect URI", args: []string{"--id", "c1", "--public", "--grant-types", "authorization_code", "--post-logout-redirect-uris", "not a uri"}, wantErr: `redirect URI "not a uri"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, environ, tt.stdin, append([]string{"clients", "create"}, tt.args...)...)
			if s := strings.TrimSpace(tt.stdin); s != "" && strings.Contains(r.all(), s) {
				t.Errorf("the client secret from stdin appears in the output: %q", r.all())
			}
			if tt.wantErr != "" {
				assertOneLineError(t, r.err, tt.wantErr)
				if r.stdout != "" {
					t.Errorf("stdout = %q, want nothing on failure", r.stdout)
				}
				return
			}
			if r.err != nil {
				t.Fatalf("unexpected error: %v", r.err)
			}
			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			if !strings.HasPrefix(lines[0], "created client ") {
				t.Errorf("first line = %q, want \"created client ...\"", lines[0])
			}
			var secrets []string
			for _, l := range lines {
				if s, ok := strings.CutPrefix(l, "client_secret: "); ok {
					secrets = append(secrets, s)
				}
			}
			if !tt.wantGenerated {
				if len(secrets) != 0 || strings.Contains(r.stdout, "secret") {
					t.Errorf("stdout shows a secret: %q", r.stdout)
				}
				return
			}
			if len(secrets) != 1 {
				t.Fatalf("stdout shows %d secrets, want exactly 1: %q", len(secrets), r.stdout)
			}
			raw, err := base64.RawURLEncoding.DecodeString(secrets[0])
			if err != nil {
				t.Fatalf("secret %q is not unpadded base64url: %v", secrets[0], err)
			}
			if len(raw) < 32 {
				t.Errorf("secret has %d bytes of entropy, want at least 32", len(raw))
			}
			if n := strings.Count(r.stdout+r.stderr, secrets[0]); n != 1 {
				t.Errorf("secret appears %d times in the output, want once", n)
			}
		})
	}

	t.Run("generated secrets differ", func(t *testing.T) {
		secretOf := func(id string) string {
			r := mustCLI(t, environ, "", "clients", "create", "--id", id, "--grant-types", "client_credentials")
			m := regexp.MustCompile(`client_secret: (\S+)`).FindStringSubmatch(r.stdout)
			if m == nil {
				t.Fatalf("no secret in %q", r.stdout)
			}
			return m[1]
		}
		if a, b := secretOf("twin-a"), secretOf("twin-b"); a == b {
			t.Errorf("two clients got the same generated secret %q", a)
		}
	})
}

func TestCLIErrors(t *testing.T) {
	environ, _ := testEnv(t)
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantIs  error
	}{
		{name: "unknown command with suggestion", args: []string{"user"}, wantErr: `unknown command "user" for "rotor"`},
		{name: "unknown clients subcommand", args: []string{"clients", "remove"}, wantErr: `unknown command "remove" for "rotor clients"`},
		{name: "unknown users subcommand", args: []string{"users", "delete", "--email", "a@example.com"}, wantErr: "unknown flag: --email"},
		{name: "unknown users subcommand without flags", args: []string{"users", "delete"}, wantErr: `unknown command "delete" for "rotor users"`},
		{name: "unknown flag", args: []string{"migrate", "--force"}, wantErr: "unknown flag: --force"},
		{name: "argument to migrate", args: []string{"migrate", "now"}, wantErr: `unknown command "now" for "rotor migrate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, environ, "", tt.args...)
			assertOneLineError(t, r.err, tt.wantErr)
		})
	}

	for _, group := range []string{"users", "clients", "sessions"} {
		t.Run("bare "+group+" prints help", func(t *testing.T) {
			r := runCLI(t, environ, "", group)
			if r.err != nil {
				t.Fatalf("unexpected error: %v", r.err)
			}
			if !strings.Contains(r.stdout, "Available Commands:") {
				t.Errorf("stdout is not the help: %q", r.stdout)
			}
		})
	}

	t.Run("folded error unwraps", func(t *testing.T) {
		sentinel := errors.New("a\nb")
		err := error(foldedError{sentinel})
		if !errors.Is(err, sentinel) {
			t.Error("errors.Is does not see through foldedError")
		}
		if err.Error() != "a b" {
			t.Errorf("Error() = %q, want %q", err.Error(), "a b")
		}
	})
}

func TestBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string   // written to a file passed with --config ("" = no file)
		env     []string // added to the environment
		wantErr []string // substrings of the one-line error
	}{
		{name: "unknown top-level key", yaml: "isuer: http://localhost:8080\n", wantErr: []string{`unknown key "isuer"`, "config.yaml"}},
		{name: "unknown nested key", yaml: "tokens:\n  access_ttl: 5m\n", wantErr: []string{`unknown key "tokens.access_ttl"`}},
		{name: "bad duration", yaml: "tokens:\n  refresh_idle_ttl: 7d\n", wantErr: []string{"tokens.refresh_idle_ttl", `invalid duration "7d"`}},
		{name: "duration without unit", yaml: "http:\n  shutdown_timeout: 20\n", wantErr: []string{"http.shutdown_timeout", "missing unit"}},
		{name: "non-https issuer", yaml: "issuer: http://example.com\n", wantErr: []string{"issuer: must use https"}},
		{name: "invalid YAML", yaml: "tokens: [\n", wantErr: []string{"config.yaml", "invalid YAML"}},
		{name: "missing file", yaml: "", env: []string{"ROTOR_CONFIG=/nonexistent/rotor.yaml"}, wantErr: []string{"config: read file", "/nonexistent/rotor.yaml"}},
		{name: "env bad duration", env: []string{"ROTOR_TOKENS_ACCESS_TOKEN_TTL=abc"}, wantErr: []string{"tokens.access_token_ttl", "ROTOR_TOKENS_ACCESS_TOKEN_TTL"}},
		{name: "env unknown key", env: []string{"ROTOR_TOKENS_ACCESS_TTL=5m"}, wantErr: []string{`unknown key "tokens.access_ttl"`, "ROTOR_TOKENS_ACCESS_TTL"}},
		{name: "env overrides a good file with a bad value", yaml: "tokens:\n  access_token_ttl: 5m\n", env: []string{"ROTOR_TOKENS_ACCESS_TOKEN_TTL=-1m"}, wantErr: []string{"tokens.access_token_ttl: must be greater than 0"}},
		{name: "env short system secret", env: []string{"ROTOR_SECRETS_SYSTEM=too-short"}, wantErr: []string{"secrets.system: must be at least 32 characters"}},
		{name: "several problems on one line", yaml: "issuer: http://example.com/\nlog:\n  level: loud\n", wantErr: []string{"issuer:", "log.level"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			environ, dataDir := testEnv(t, tt.env...)
			args := []string{"migrate"}
			if tt.yaml != "" {
				path := filepath.Join(t.TempDir(), "config.yaml")
				if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append([]string{"--config", path}, args...)
			}
			r := runCLI(t, environ, "", args...)
			for _, w := range tt.wantErr {
				assertOneLineError(t, r.err, w)
			}
			if strings.Contains(r.all(), "too-short") {
				t.Errorf("the system secret appears in the output: %q", r.all())
			}
			if _, err := os.Stat(filepath.Join(dataDir, "rotor.db")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a bad configuration still created the database (stat: %v)", err)
			}
		})
	}
}

func TestSystemSecret(t *testing.T) {
	t.Run("generated once for a loopback issuer and reused", func(t *testing.T) {
		environ, dataDir := testEnv(t)
		path := filepath.Join(dataDir, secretFileName)
		var first []byte
		steps := []struct {
			name     string
			args     []string
			stdin    string
			wantWarn bool
		}{
			{name: "migrate generates", args: []string{"migrate"}, wantWarn: true},
			{name: "users create reuses", args: []string{"users", "create", "--email", "a@example.com", "--password-stdin"}, stdin: testPassword},
			{name: "clients create reuses", args: []string{"clients", "create", "--id", "c", "--grant-types", "client_credentials"}},
			{name: "migrate reuses", args: []string{"migrate"}},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				r := mustCLI(t, environ, st.stdin, st.args...)
				if got := strings.Contains(r.stderr, "secrets.system is not set"); got != st.wantWarn {
					t.Errorf("warned about a generated secret: %v, want %v\nstderr: %s", got, st.wantWarn, r.stderr)
				}
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if mode := fi.Mode().Perm(); mode != 0o600 {
					t.Errorf("%s has mode %o, want 600", path, mode)
				}
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if first == nil {
					first = b
					raw, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(string(b)))
					if err != nil || len(raw) < 32 {
						t.Errorf("generated secret is not 32 bytes of base64url (%d bytes, %v)", len(raw), err)
					}
				} else if string(b) != string(first) {
					t.Error("the system secret file changed between commands")
				}
				if strings.Contains(r.all(), strings.TrimSpace(string(b))) {
					t.Error("the system secret appears in the output")
				}
			})
		}
	})

	tests := []struct {
		name    string
		env     []string
		prepare func(t *testing.T, dataDir string)
		wantErr string
	}{
		{name: "public issuer without secret", env: []string{"ROTOR_ISSUER=https://auth.example.com"}, wantErr: "secrets.system: required when the server is not loopback-only"},
		{name: "truncated secret file", prepare: func(t *testing.T, dataDir string) {
			if err := os.WriteFile(filepath.Join(dataDir, secretFileName), []byte("short\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "is shorter than 32 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			environ, dataDir := testEnv(t, tt.env...)
			if tt.prepare != nil {
				tt.prepare(t, dataDir)
			}
			for _, args := range [][]string{{"migrate"}, {"clients", "create", "--id", "c", "--grant-types", "client_credentials"}} {
				r := runCLI(t, environ, "", args...)
				assertOneLineError(t, r.err, tt.wantErr)
				if r.stdout != "" {
					t.Errorf("rotor %s: stdout = %q, want nothing", strings.Join(args, " "), r.stdout)
				}
			}
			if tt.prepare == nil {
				if _, err := os.Stat(filepath.Join(dataDir, secretFileName)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a secret file was generated for a public issuer (stat: %v)", err)
				}
			}
		})
	}

	t.Run("public issuer with a configured secret", func(t *testing.T) {
		environ, dataDir := testEnv(t, "ROTOR_ISSUER=https://auth.example.com", "ROTOR_SECRETS_SYSTEM="+testSecret, "ROTOR_BFF_ENABLED=false")
		r := mustCLI(t, environ, "", "migrate")
		if r.stdout != fmt.Sprintf("schema at version %d\n", storage.LatestSchemaVersion()) {
			t.Errorf("stdout = %q", r.stdout)
		}
		if _, err := os.Stat(filepath.Join(dataDir, secretFileName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a secret file was generated although secrets.system is set (stat: %v)", err)
		}
	})
}
