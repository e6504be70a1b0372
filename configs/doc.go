// Package configs owns Rotor's configuration: the settings and their
// defaults, loading them from layered sources, and validating the result.
//
// The defaults are the embedded rotor.yaml, which doubles as the reference
// documentation of every setting; a test keeps it in step with [Config].
// [Load] layers, from lowest to highest precedence:
//
//  1. the embedded rotor.yaml,
//  2. an optional YAML file,
//  3. ROTOR_<SECTION>_<KEY> environment variables.
//
// Loading is strict: unknown keys, malformed YAML, values of the wrong type
// and invalid durations are errors rather than silently ignored, because a
// misspelt token lifetime that falls back to a default is a security bug
// nobody notices. Every error is a single line starting with "config: " and
// names the offending key, so it reads well in a log line or a terminal.
//
// The package does not act on the values: listening, opening the database,
// issuing tokens and setting up logging belong to their own packages, which
// receive a validated [Config].
package configs
