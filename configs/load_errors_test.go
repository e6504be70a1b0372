package configs

import (
	"strings"
	"testing"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		env  []string
		// want are substrings of the error in order; "{file}" stands for
		// the file's path.
		want []string
		// absent must not appear, for values that may be secret.
		absent string
	}{
		{
			name: "unknown key in file",
			file: "tokens:\n  acess_token_ttl: 5m\n",
			want: []string{`config: unknown key "tokens.acess_token_ttl" (in {file})`},
		},
		{
			name: "unknown top-level key in file",
			file: "issuerr: https://x\n",
			want: []string{`config: unknown key "issuerr"`},
		},
		{
			name: "unknown section in file names its keys",
			file: "cache:\n  size: 10\n",
			want: []string{`config: unknown key "cache.size"`},
		},
		{
			name: "keys are case-sensitive",
			file: "Issuer: http://localhost:8080\n",
			want: []string{`unknown key "Issuer"`},
		},
		{
			name: "every unknown key is reported",
			file: "http:\n  adr: x\n  port: 1\nlog:\n  colour: true\n",
			want: []string{`unknown key "http.adr"`, `unknown key "http.port"`, `unknown key "log.colour"`},
		},
		{
			name: "bad duration in file",
			file: "tokens:\n  access_token_ttl: abc\n",
			want: []string{`config: tokens.access_token_ttl: invalid duration "abc" (in {file})`},
		},
		{
			name: "bad duration in environment names the variable",
			env:  []string{"ROTOR_TOKENS_ACCESS_TOKEN_TTL=10 minutes"},
			want: []string{`config: tokens.access_token_ttl: invalid duration "10 minutes" (from ROTOR_TOKENS_ACCESS_TOKEN_TTL)`},
		},
		{
			name: "duration without unit",
			file: "http:\n  idle_timeout: 600\n",
			want: []string{`config: http.idle_timeout: invalid duration 600: missing unit, e.g. "600s"`},
		},
		{
			name: "bad integer in environment",
			env:  []string{"ROTOR_DATABASE_MAX_OPEN_CONNS=many"},
			want: []string{`config: database.max_open_conns: invalid integer "many" (from ROTOR_DATABASE_MAX_OPEN_CONNS)`},
		},
		{
			name: "fractional integer",
			file: "database:\n  max_open_conns: 1.5\n",
			want: []string{`config: database.max_open_conns: invalid integer 1.5`},
		},
		{
			name: "number where a string belongs",
			file: "log:\n  level: 5\n",
			want: []string{`config: log.level: expected a string, got a number; quote the value`},
		},
		{
			name:   "unquoted numeric secret is not echoed",
			file:   "secrets:\n  system: 12345678901234567890123456789012345\n",
			want:   []string{`config: secrets.system: expected a string, got a number`},
			absent: "12345678901234567890",
		},
		{
			name: "scalar where a section belongs",
			file: "tokens: 5\n",
			want: []string{`config: tokens: expected a section of keys, got a number`},
		},
		{
			name: "unknown environment variable",
			env:  []string{"ROTOR_FOO_BAR=1"},
			want: []string{`config: unknown key "foo.bar" (from ROTOR_FOO_BAR)`},
		},
		{
			name: "environment variable naming a section",
			env:  []string{"ROTOR_HTTP=127.0.0.1:80"},
			want: []string{`config: "http" is a section, not a key (from ROTOR_HTTP)`},
		},
		{
			name: "every unknown environment variable is reported",
			env:  []string{"ROTOR_TOKENS_ACESS_TOKEN_TTL=1m", "ROTOR_LOGLEVEL=debug"},
			want: []string{`unknown key "tokens.acess_token_ttl" (from ROTOR_TOKENS_ACESS_TOKEN_TTL)`, `; `, `unknown key "loglevel" (from ROTOR_LOGLEVEL)`},
		},
		{
			name: "YAML syntax error names the file",
			file: "http:\n  addr: [unclosed\n",
			want: []string{"config: {file}: invalid YAML: line "},
		},
		{
			name: "duplicate key",
			file: "log:\n  level: info\n  level: debug\n",
			want: []string{"config: {file}: invalid YAML: line 3: mapping key \"level\" already defined at line 2"},
		},
		{
			name: "top level is not a mapping",
			file: "- issuer\n",
			want: []string{"config: {file}: invalid YAML: line 1: cannot unmarshal"},
		},
		{
			name: "several documents",
			file: "log:\n  level: info\n---\nlog:\n  level: debug\n",
			want: []string{"config: {file}: invalid YAML: more than one document"},
		},
		{
			name: "validation runs after loading",
			env:  []string{"ROTOR_ISSUER=http://id.example.com", "ROTOR_LOG_LEVEL=verbose"},
			want: []string{"config: issuer: must use https", `; log.level: "verbose" is not one of debug|info|warn|error`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file)
			_, err := Load(path, tt.env)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			msg := err.Error()
			assertOneLine(t, msg)
			rest := msg
			for _, w := range tt.want {
				w = strings.ReplaceAll(w, "{file}", path)
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("error %q\nlacks (in order) %q", msg, w)
				}
				rest = rest[i+len(w):]
			}
			if tt.absent != "" && strings.Contains(msg, tt.absent) {
				t.Errorf("error %q contains %q", msg, tt.absent)
			}
		})
	}
}

func assertOneLine(t *testing.T, msg string) {
	t.Helper()
	if !strings.HasPrefix(msg, "config: ") {
		t.Errorf("error %q does not start with \"config: \"", msg)
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error spans several lines: %q", msg)
	}
}
