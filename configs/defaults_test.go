package configs

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// structKeys walks Config independently of the package's own walker, so a
// bug there cannot hide drift between the struct and rotor.yaml.
func structKeys(t reflect.Type, prefix string) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		key := prefix + f.Tag.Get("koanf")
		if f.Type.Kind() == reflect.Struct {
			keys = append(keys, structKeys(f.Type, key+".")...)
			continue
		}
		keys = append(keys, key)
	}
	return keys
}

// yamlNodes indexes the mapping keys of rotor.yaml by dotted path, keeping
// the key nodes so their comments can be checked.
func yamlNodes(t *testing.T) map[string]*yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(defaultsYAML, &doc); err != nil {
		t.Fatalf("parse rotor.yaml: %v", err)
	}
	out := map[string]*yaml.Node{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := prefix + k.Value
			if v.Kind == yaml.MappingNode {
				walk(v, path+".")
				continue
			}
			out[path] = k
		}
	}
	walk(doc.Content[0], "")
	return out
}

func TestRotorYAMLDocumentsEveryField(t *testing.T) {
	nodes := yamlNodes(t)
	keys := structKeys(reflect.TypeFor[Config](), "")
	if len(keys) != len(nodes) {
		t.Errorf("Config has %d keys, rotor.yaml has %d", len(keys), len(nodes))
	}
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			n, ok := nodes[key]
			if !ok {
				t.Fatalf("rotor.yaml lacks %q", key)
			}
			if strings.TrimSpace(n.HeadComment) == "" && strings.TrimSpace(n.LineComment) == "" {
				t.Errorf("rotor.yaml: %q has no comment explaining it", key)
			}
		})
	}
}

func TestDefault(t *testing.T) {
	want := Config{
		Issuer: "http://localhost:8080",
		HTTP: HTTP{
			Addr:              "127.0.0.1:8080",
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   20 * time.Second,
			TrustedProxies:    []string{},
		},
		Storage:  Storage{GCInterval: time.Hour},
		Database: Database{DSN: "data/rotor.db", BusyTimeout: 5 * time.Second, MaxOpenConns: 0, ConnMaxLifetime: 30 * time.Minute},
		Tokens: Tokens{
			AccessTokenTTL:    10 * time.Minute,
			RefreshIdleTTL:    168 * time.Hour,
			SessionMaxTTL:     720 * time.Hour,
			RefreshReuseGrace: 10 * time.Second,
		},
		Sessions: Sessions{BrowserTTL: 12 * time.Hour},
		Keys:     Keys{AccessTokenAlg: "ES256", RotationInterval: 720 * time.Hour, PublishAhead: 10 * time.Minute},
		Security: Security{HashWait: 2 * time.Second, AccountMaxDelay: time.Minute, IPMaxDelay: 15 * time.Minute},
		Audit:    Audit{Retention: 90 * 24 * time.Hour},
		BFF:      BFF{Enabled: true, ClientID: "rotor-bff"},
		Demo:     Demo{Enabled: true, Audience: "rotor-demo-api"},
		Secrets:  Secrets{System: "", Previous: []string{}},
		Log:      Log{Level: "info", Format: "json"},
	}
	tests := []struct {
		name  string
		check func(t *testing.T, got Config)
	}{
		{"matches the documented defaults", func(t *testing.T, got Config) {
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Default() = %+v, want %+v", got, want)
			}
		}},
		{"validates", func(t *testing.T, got Config) {
			if err := got.Validate(); err != nil {
				t.Errorf("Default().Validate() = %v", err)
			}
		}},
		{"equals Load without file or environment", func(t *testing.T, got Config) {
			loaded, err := Load("", nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if !reflect.DeepEqual(loaded, got) {
				t.Errorf("Load = %+v, Default = %+v", loaded, got)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, Default()) })
	}
}

func TestSecretsRedactedWhenPrinted(t *testing.T) {
	const secret = "0123456789abcdef0123456789abcdef-very-secret"
	cfg := Default()
	cfg.Secrets.System = secret
	tests := []struct {
		name   string
		format string
	}{
		{"v", "%v"},
		{"plus v", "%+v"},
		{"sharp v", "%#v"},
		{"s", "%s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := fmt.Sprintf(tt.format, cfg)
			if strings.Contains(out, secret) {
				t.Errorf("%s leaks the secret: %s", tt.format, out)
			}
			if !strings.Contains(out, "redacted") {
				t.Errorf("%s does not mark the secret as redacted: %s", tt.format, out)
			}
		})
	}
}
