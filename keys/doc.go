// Package keys owns rotor's signing-key material: generating keys,
// sealing their private halves at rest, holding the decrypted key set in
// memory, publishing it as a JWKS, and signing and verifying compact JWS
// tokens with it.
//
// It speaks go-jose v4 only. It does not know how keys are stored (the
// storage package implements [Store]), does not rotate keys on a schedule
// (it only fills in a missing current ES256 or RS256 key at start-up), and
// does not interpret claims: [Manager.Verify] checks the signature and the
// JOSE header, and leaves iss, aud, exp and friends to the caller, who knows
// what to expect of them.
//
// The package deliberately imports no other rotor package, no ORM, HTTP
// framework or OAuth2 library, so that anything holding a key can depend
// on it without pulling those in.
package keys
