package configs

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
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
// several typos is fixed in one round. Kubernetes service links (see
// serviceLink) are skipped: they are not settings, and a pod cannot opt
// out of them without changing its spec.
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
		case serviceLink(name, value):
			// Injected by Kubernetes, not a setting: skip it.
		default:
			problems = append(problems, fmt.Sprintf("unknown key %q (from %s)", key, name))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("config: %s", strings.Join(problems, "; "))
	}
	return out, nil
}

// ServiceLinks returns, sorted, the names of the variables in environ that
// Load ignores as Kubernetes service links, so that the caller can log them.
func ServiceLinks(environ []string) []string {
	var names []string
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if ok && !leafKeys[envKey(name)] && serviceLink(name, value) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// serviceLink reports whether name=value is one of the variables the
// kubelet injects into every pod of a namespace for each Service whose name
// starts with "rotor" (enableServiceLinks, on by default; Kubernetes docs,
// Service, "Environment variables"): the Service's name upper-cased, with
// dashes turned into underscores, then the link. For a Service named rotor
// with cluster IP 10.0.0.11 and TCP port 8080 named "http" they are:
//
//	ROTOR_SERVICE_HOST=10.0.0.11
//	ROTOR_SERVICE_PORT=8080
//	ROTOR_SERVICE_PORT_HTTP=8080
//	ROTOR_PORT=tcp://10.0.0.11:8080
//	ROTOR_PORT_8080_TCP=tcp://10.0.0.11:8080
//	ROTOR_PORT_8080_TCP_PROTO=tcp
//	ROTOR_PORT_8080_TCP_PORT=8080
//	ROTOR_PORT_8080_TCP_ADDR=10.0.0.11
//
// and a Service named rotor-postgresql (a chart's database next to a
// release named rotor) gets the same under ROTOR_POSTGRESQL_.
//
// Both the name and the value must have the kubelet's exact shape
// (upper case, an IP address, a port number, the protocol repeated), so a
// typo in a real key, or ROTOR_PORT=8080 meant as a setting, is still
// refused. Real keys are matched before service links, and no key has a
// link's shape (TestServiceLinksCannotShadowKeys).
func serviceLink(name, value string) bool {
	rest, ok := strings.CutPrefix(name, envPrefix)
	if !ok {
		return false
	}
	if link(rest, value) {
		return true
	}
	// ROTOR_<NAME>_<link> for a Service named rotor-<name>.
	for i := 1; i < len(rest); i++ {
		if rest[i] == '_' && isServiceNameTail(rest[:i]) && link(rest[i+1:], value) {
			return true
		}
	}
	return false
}

// link checks the part of a service link after the Service's name.
func link(rest, value string) bool {
	switch {
	case rest == "SERVICE_HOST":
		return isIP(value)
	case rest == "SERVICE_PORT":
		return isPort(value)
	case strings.HasPrefix(rest, "SERVICE_PORT_"):
		return isPortName(strings.TrimPrefix(rest, "SERVICE_PORT_")) && isPort(value)
	case rest == "PORT":
		proto, hostPort, ok := strings.Cut(value, "://")
		return ok && isProto(proto) && isHostPort(hostPort, "")
	case strings.HasPrefix(rest, "PORT_"):
		return portLink(strings.TrimPrefix(rest, "PORT_"), value)
	}
	return false
}

// isServiceNameTail accepts what follows "rotor-" in a Service name (an
// RFC 1035 label: a-z, 0-9 and '-', ending in a letter or digit) as the
// kubelet spells it: upper-cased, dashes turned into underscores.
func isServiceNameTail(s string) bool {
	if s == "" || len(s) > 57 || s[len(s)-1] == '_' {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' {
			return false
		}
	}
	return true
}

// portLink checks the Docker-link style variables after ROTOR_PORT_:
// <port>_<PROTO> and its _PROTO, _PORT and _ADDR parts.
func portLink(rest, value string) bool {
	port, rest, ok := strings.Cut(rest, "_")
	if !ok || !isPort(port) {
		return false
	}
	upper, field, _ := strings.Cut(rest, "_")
	proto := strings.ToLower(upper)
	if upper != strings.ToUpper(proto) || !isProto(proto) {
		return false
	}
	switch field {
	case "":
		hostPort, ok := strings.CutPrefix(value, proto+"://")
		return ok && isHostPort(hostPort, port)
	case "PROTO":
		return value == proto
	case "PORT":
		return value == port
	case "ADDR":
		return isIP(value)
	}
	return false
}

func isProto(s string) bool { return s == "tcp" || s == "udp" || s == "sctp" }

func isIP(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}

// isPort accepts a port number in the kubelet's spelling: decimal, no sign
// or leading zero, 1 to 65535.
func isPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == s
}

// isHostPort accepts ip:port as net.JoinHostPort writes it ([ip]:port for
// IPv6); port must equal want unless want is "".
func isHostPort(s, want string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || !isIP(host) || !isPort(port) || (want != "" && port != want) {
		return false
	}
	return net.JoinHostPort(host, port) == s
}

// isPortName accepts a Service port name as the kubelet spells it: an
// IANA service name (at most 15 characters of a-z, 0-9 and '-', with a
// letter) upper-cased, dashes turned into underscores.
func isPortName(s string) bool {
	if s == "" || len(s) > 15 {
		return false
	}
	letter := false
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			letter = true
		case r >= '0' && r <= '9', r == '_':
		default:
			return false
		}
	}
	return letter
}
