// Package resource lets an API that accepts Rotor access tokens (a resource
// server, in OAuth terms) verify those tokens offline.
//
// Rotor issues access tokens as RFC 9068 JWTs: the protected header carries
// "typ": "at+jwt" and a "kid", the signature uses ES256, RS256 or EdDSA, and
// the claims include iss, sub, aud, exp, iat, jti, client_id and a
// space-separated scope. A [Verifier] checks all of that against the public
// keys Rotor publishes at <issuer>/.well-known/jwks.json, so a request can be
// authorised without calling Rotor.
//
// This package owns:
//
//   - token verification ([NewVerifier], [Verifier.Verify]): size limit,
//     header checks (typ, kid, algorithm allowlist, and a refusal of the
//     jku, x5u, x5c, jwk and crit headers that would let a token choose its
//     own key), signature, and the iss, aud, exp, iat and sub claims;
//   - the JWKS cache: keys are fetched lazily, kept for the response's
//     Cache-Control max-age (5 minutes when absent, between 10 seconds and
//     24 hours), refetched once when a token names an unknown kid (at most
//     once every 10 seconds, shared by concurrent callers), and the previous
//     key set keeps being served when a fetch fails;
//   - optional revocation checks through Rotor's RFC 7662 introspection
//     endpoint ([Config.Introspection]);
//   - Echo middleware that answers RFC 6750 errors ([EchoMiddleware],
//     [ClaimsFrom]).
//
// Every rejection of a token wraps [ErrInvalidToken]. When the issuer cannot
// be reached (no keys could ever be fetched, or introspection failed), the
// error wraps [ErrIssuerUnavailable] instead, so that an outage is not
// reported to clients as a bad token.
//
// The package deliberately depends on no other Rotor package: third-party API
// authors can import it on its own.
package resource
