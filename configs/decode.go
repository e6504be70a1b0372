package configs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/v2"
	"go.yaml.in/yaml/v3"
)

// leafKeys and sectionKeys are the dotted koanf keys of Config, derived from
// its tags so that the environment check can never disagree with the struct.
var leafKeys, sectionKeys = configKeys(reflect.TypeFor[Config](), "")

func configKeys(t reflect.Type, prefix string) (leaves, sections map[string]bool) {
	leaves, sections = map[string]bool{}, map[string]bool{}
	for f := range t.Fields() {
		key := prefix + f.Tag.Get("koanf")
		if f.Type.Kind() != reflect.Struct {
			leaves[key] = true
			continue
		}
		sections[key] = true
		l, s := configKeys(f.Type, key+".")
		for k := range l {
			leaves[k] = true
		}
		for k := range s {
			sections[k] = true
		}
	}
	return leaves, sections
}

// lineError carries a message already rewritten to one line while keeping
// the original error reachable for errors.Is and errors.As.
type lineError struct {
	msg string
	err error
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }

// oneLine folds a multi-line message (yaml and mapstructure both produce
// them) into one line, because configuration errors end up in log lines.
func oneLine(s string) string {
	var parts []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			parts = append(parts, line)
		}
	}
	return strings.Join(parts, "; ")
}

// strictYAML is a koanf parser that, unlike the stock one, rejects trailing
// documents and keeps an empty section from wiping out its defaults.
type strictYAML struct{}

func (strictYAML) Unmarshal(b []byte) (map[string]any, error) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]any{}, nil
		}
		return nil, yamlError(err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(err)
		}
		return nil, errors.New("invalid YAML: more than one document; keep the whole configuration in one")
	}
	// A section whose keys are all commented out parses as null; merged as
	// is it would replace the whole default section instead of keeping it.
	for key, v := range out {
		if v == nil && sectionKeys[key] {
			out[key] = map[string]any{}
		}
	}
	if out == nil {
		out = map[string]any{}
	}
	return out, nil
}

func (strictYAML) Marshal(m map[string]any) ([]byte, error) {
	return yaml.Marshal(m)
}

func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		return &lineError{msg: "invalid YAML: " + oneLine(strings.Join(te.Errors, "\n")), err: err}
	}
	return &lineError{msg: "invalid YAML: " + oneLine(strings.TrimPrefix(err.Error(), "yaml: ")), err: err}
}

// sources remembers where keys came from so an error can point the user at
// the variable or file to fix.
type sources struct {
	path     string
	fileKeys []string
	env      map[string]envVar
}

func (s sources) origin(key string) string {
	if e, ok := s.env[key]; ok {
		return " (from " + e.name + ")"
	}
	for _, fk := range s.fileKeys {
		if fk == key || strings.HasPrefix(fk, key+".") {
			return " (in " + s.path + ")"
		}
	}
	return ""
}

// has reports whether key was set by the file or the environment rather
// than left at its default.
func (s sources) has(key string) bool {
	return s.origin(key) != ""
}

func decode(k *koanf.Koanf, src sources) (Config, error) {
	var cfg Config
	err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{
		Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook:  strictHook,
			ErrorUnused: true,
			// Environment values are always strings; strictHook converts
			// the ones it knows, weak typing covers the rest.
			WeaklyTypedInput: true,
			// Case-insensitive matching would accept "Issuer" and "ISSUER"
			// as the same key, which is not what the file documents.
			MatchName: func(mapKey, fieldName string) bool { return mapKey == fieldName },
		},
	})
	if err != nil {
		return Config{}, &lineError{msg: "config: " + strings.Join(decodeProblems(err, k, src), "; "), err: err}
	}
	return cfg, nil
}

// decodeProblems rewrites mapstructure's tree of joined errors into one
// message per key, naming each key in full.
func decodeProblems(err error, k *koanf.Koanf, src sources) []string {
	de, ok := err.(*mapstructure.DecodeError)
	if !ok || de.Unwrap() == nil {
		// Decode wraps several errors in a multi-line preamble that says
		// nothing the individual errors don't.
		var j interface{ Unwrap() []error }
		if !errors.As(err, &j) {
			return []string{oneLine(err.Error())}
		}
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, decodeProblems(e, k, src)...)
		}
		return out
	}
	name := de.Name()
	if name == reflect.TypeFor[Config]().String() {
		// mapstructure names the root struct by its type.
		name = ""
	}
	msg := de.Unwrap().Error()
	unknown, ok := strings.CutPrefix(msg, "has invalid keys: ")
	if !ok {
		return []string{name + ": " + oneLine(msg) + src.origin(name)}
	}
	var out []string
	for u := range strings.SplitSeq(unknown, ", ") {
		if name != "" {
			u = name + "." + u
		}
		for _, leaf := range leavesUnder(k, u) {
			out = append(out, fmt.Sprintf("unknown key %q%s", leaf, src.origin(leaf)))
		}
	}
	return out
}

// leavesUnder expands an unknown section to the keys set inside it, since
// "foo.bar" tells the user more than "foo".
func leavesUnder(k *koanf.Koanf, key string) []string {
	var out []string
	for _, kk := range k.Keys() {
		if strings.HasPrefix(kk, key+".") {
			out = append(out, kk)
		}
	}
	if len(out) == 0 {
		return []string{key}
	}
	return out
}

var durationType = reflect.TypeFor[time.Duration]()

// strictHook converts scalars into the field types of Config, refusing the
// conversions weak typing would do silently: a bare 600 becoming 600ns, 1.9
// becoming 1, or true becoming "1".
func strictHook(from, to reflect.Type, data any) (any, error) {
	switch {
	case to == durationType:
		return toDuration(data)
	case to.Kind() == reflect.Int:
		return toInt(data)
	case to.Kind() == reflect.Slice && to.Elem().Kind() == reflect.String && from.Kind() == reflect.String:
		// From the environment: a comma-separated list.
		var out []string
		for _, v := range strings.Split(data.(string), ",") {
			if v = strings.TrimSpace(v); v != "" {
				out = append(out, v)
			}
		}
		return out, nil
	case to.Kind() == reflect.String && from.Kind() != reflect.String:
		// The value is not echoed: this may be a secret.
		return nil, fmt.Errorf("expected a string, got %s; quote the value", describe(data))
	case to.Kind() == reflect.Struct && from.Kind() != reflect.Map:
		return nil, fmt.Errorf("expected a section of keys, got %s", describe(data))
	}
	return data, nil
}

func toDuration(data any) (any, error) {
	v := reflect.ValueOf(data)
	switch {
	case v.Kind() == reflect.String:
		d, err := time.ParseDuration(v.String())
		if err != nil {
			return nil, fmt.Errorf("invalid duration %q", v.String())
		}
		return d, nil
	case v.Type() == durationType:
		return data, nil
	case v.CanInt() || v.CanUint() || v.CanFloat():
		if v.IsZero() {
			return time.Duration(0), nil
		}
		return nil, fmt.Errorf("invalid duration %v: missing unit, e.g. \"%vs\"", data, data)
	}
	return nil, fmt.Errorf("invalid duration: expected a string like \"10s\", got %s", describe(data))
}

func toInt(data any) (any, error) {
	v := reflect.ValueOf(data)
	switch {
	case v.Kind() == reflect.String:
		n, err := strconv.Atoi(v.String())
		if err != nil {
			return nil, fmt.Errorf("invalid integer %q", v.String())
		}
		return n, nil
	case v.CanInt() || v.CanUint():
		return data, nil
	case v.CanFloat():
		f := v.Float()
		if f != math.Trunc(f) || f < math.MinInt32 || f > math.MaxInt32 {
			return nil, fmt.Errorf("invalid integer %v", data)
		}
		return int(f), nil
	}
	return nil, fmt.Errorf("expected an integer, got %s", describe(data))
}

func describe(data any) string {
	v := reflect.ValueOf(data)
	switch {
	case v.Kind() == reflect.Bool:
		return "a boolean"
	case v.CanInt() || v.CanUint() || v.CanFloat():
		return "a number"
	case v.Kind() == reflect.String:
		return "a string"
	case v.Kind() == reflect.Map:
		return "a section"
	case v.Kind() == reflect.Slice || v.Kind() == reflect.Array:
		return "a list"
	}
	return fmt.Sprintf("%T", data)
}
