package configs

import (
	"fmt"
	"strings"
)

const (
	envPrefix = "ROTOR_"
	// envConfigFile names the configuration file rather than overriding a
	// setting; the CLI reads it before calling Load.
	envConfigFile = "ROTOR_CONFIG"
)

// envVar is an override together with the variable it came from, kept so
// that errors can name the variable the user has to fix.
type envVar struct {
	name  string
	value string
}

// envKey maps ROTOR_TOKENS_ACCESS_TOKEN_TTL to tokens.access_token_ttl: only
// the first underscore separates section from key, because keys themselves
// contain underscores.
func envKey(name string) string {
	rest := strings.ToLower(strings.TrimPrefix(name, envPrefix))
	section, key, ok := strings.Cut(rest, "_")
	if !ok {
		return rest
	}
	return section + "." + key
}

// parseEnv picks the overrides out of environ, keyed by configuration key.
// Every unknown variable is reported at once so that a deployment with
// several typos is fixed in one round.
func parseEnv(environ []string) (map[string]envVar, error) {
	out := map[string]envVar{}
	var problems []string
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envPrefix) || name == envConfigFile {
			continue
		}
		key := envKey(name)
		switch {
		case leafKeys[key]:
			out[key] = envVar{name: name, value: value}
		case sectionKeys[key]:
			problems = append(problems, fmt.Sprintf("%q is a section, not a key (from %s)", key, name))
		default:
			problems = append(problems, fmt.Sprintf("unknown key %q (from %s)", key, name))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("config: %s", strings.Join(problems, "; "))
	}
	return out, nil
}
