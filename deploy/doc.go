// Package deploy holds no code: its tests check the container deployment
// files at the repository root (Dockerfile, docker-compose.yml) without a
// Docker engine, so that an edit breaking them fails `go test ./...`.
//
// The compose file is loaded with github.com/compose-spec/compose-go/v2, the
// loader docker compose itself uses, so interpolation (${VAR:?...}), YAML
// anchors and merge keys, and path resolution behave as they will under
// `docker compose up`. The environment each Rotor container gets is also fed
// to configs.Load, so a misspelt ROTOR_* variable or an invalid value fails
// here instead of at container start.
//
// The module test builds package resource's README examples in a throwaway
// module that requires Rotor by its module path, as an API that ran
// `go get github.com/rotorauth/rotor/resource` would.
package deploy
